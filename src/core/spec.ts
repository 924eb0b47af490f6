/**
 * The one description of ticklake's AWS resources (DESIGN §4). The local provisioner and the
 * CDK stack both read it, so the local pipeline and the deployed one cannot drift apart.
 */
import { ConfigError } from "./errors.ts";

export interface ResourceSpec {
  /** Prefix of every resource name, e.g. `ticklake-dev`. */
  readonly prefix: string;
  readonly stream: {
    readonly name: string;
    /** Shards of a provisioned stream; on AWS the default is on-demand. */
    readonly shardCount: number;
    readonly retentionHours: number;
  };
  readonly bridge: {
    readonly timeoutSeconds: number;
    /** Kinesis event source: records per invocation (Lambda allows 1-10,000). */
    readonly batchSize: number;
    /** Kinesis event source: how long to gather records before invoking, 0-300 s. */
    readonly maxBatchingWindowSeconds: number;
    /** Largest SQS message body the bridge produces; SQS allows 1 MiB. */
    readonly maxMessageBytes: number;
  };
  readonly queue: {
    readonly name: string;
    /** At least 6× the processor's timeout, as AWS recommends for SQS event sources. */
    readonly visibilityTimeoutSeconds: number;
    readonly retentionSeconds: number;
    readonly maxReceiveCount: number;
    readonly dlqName: string;
  };
  readonly processor: {
    readonly timeoutSeconds: number;
    /** SQS event source: messages per invocation (1-10,000; above 10 needs a window). */
    readonly batchSize: number;
    readonly maxBatchingWindowSeconds: number;
    /** SQS event source maximum concurrency (2-1,000). */
    readonly maxConcurrency: number;
  };
  readonly bucket: { readonly name: string };
  readonly topic: { readonly name: string };
  /** A queue subscribed to the topic with raw delivery, for people and tools (the AWS CLI, `sync`). */
  readonly notificationQueue: { readonly name: string };
  /** A second subscribed queue that only the local pipeline's own counters read. */
  readonly monitorQueue: { readonly name: string };
}

/**
 * Where the functions' event sources run: `local` = ticklake's own runners (`npm start`,
 * LocalStack), `aws` = Lambda's event source mappings (the CDK stack).
 */
export type SpecTarget = "local" | "aws";

/**
 * How long the bridge gathers stream records before it packs them, per target. Each bridge
 * invocation writes about one object per shard and dataset, and AWS bills every object (S3 PUT,
 * SNS publish, SQS requests), so on AWS the bridge waits a minute: at a demo's 40 events/s
 * that is ~58 times fewer objects than a 1 s window. Locally freshness matters more than
 * requests (bench/README.md, cost model; docs/decisions.md).
 */
export const BRIDGE_WINDOW_SECONDS: Readonly<Record<SpecTarget, number>> = { local: 1, aws: 60 };

export interface SpecOptions {
  /** Deployment stage, part of every name. @default "local" */
  stage?: string;
  /** Where the event sources run; it picks the batching defaults. @default "local" */
  target?: SpecTarget;
  /** The bridge's batching window, 0-300 s. @default BRIDGE_WINDOW_SECONDS[target] */
  bridgeWindowSeconds?: number;
  shardCount?: number;
  /** The processor's timeout; the queue's visibility timeout is six times it. @default 60 */
  processorTimeoutSeconds?: number;
  /** Largest packed SQS message, attributes included. @default 1,048,576 */
  maxMessageBytes?: number;
}

function requireRange(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max} (got ${value})`);
  }
}

/** Builds the spec for a stage and checks the rules that AWS would otherwise reject at deploy. */
export function resourceSpec(options: SpecOptions = {}): ResourceSpec {
  const stage = options.stage ?? "local";
  if (!/^[a-z][a-z0-9-]{0,19}$/.test(stage)) {
    throw new ConfigError(
      `stage must be 1-20 lowercase letters, digits or hyphens, starting with a letter (got "${stage}")`,
    );
  }
  const prefix = `ticklake-${stage}`;
  const spec: ResourceSpec = {
    prefix,
    stream: { name: `${prefix}-logs`, shardCount: options.shardCount ?? 2, retentionHours: 24 },
    bridge: {
      timeoutSeconds: 60,
      batchSize: 2_000,
      maxBatchingWindowSeconds:
        options.bridgeWindowSeconds ?? BRIDGE_WINDOW_SECONDS[options.target ?? "local"],
      maxMessageBytes: options.maxMessageBytes ?? 1_048_576,
    },
    queue: {
      name: `${prefix}-packed`,
      // Six times the processor's timeout, as AWS advises for SQS event sources.
      visibilityTimeoutSeconds: 6 * (options.processorTimeoutSeconds ?? 60),
      retentionSeconds: 4 * 24 * 3600,
      maxReceiveCount: 5,
      dlqName: `${prefix}-packed-dlq`,
    },
    processor: {
      timeoutSeconds: options.processorTimeoutSeconds ?? 60,
      batchSize: 10,
      maxBatchingWindowSeconds: 1,
      maxConcurrency: 4,
    },
    bucket: { name: `${prefix}-lake` },
    topic: { name: `${prefix}-data-available` },
    notificationQueue: { name: `${prefix}-notifications` },
    monitorQueue: { name: `${prefix}-monitor` },
  };
  validateSpec(spec);
  return spec;
}

export function validateSpec(spec: ResourceSpec): void {
  requireRange("stream.shardCount", spec.stream.shardCount, 1, 500);
  requireRange("bridge.batchSize", spec.bridge.batchSize, 1, 10_000);
  requireRange("bridge.maxBatchingWindowSeconds", spec.bridge.maxBatchingWindowSeconds, 0, 300);
  requireRange("bridge.maxMessageBytes", spec.bridge.maxMessageBytes, 1_024, 1_048_576);
  requireRange("processor.timeoutSeconds", spec.processor.timeoutSeconds, 1, 900);
  requireRange("processor.batchSize", spec.processor.batchSize, 1, 10_000);
  requireRange("processor.maxBatchingWindowSeconds", spec.processor.maxBatchingWindowSeconds, 0, 300);
  requireRange("processor.maxConcurrency", spec.processor.maxConcurrency, 2, 1_000);
  requireRange("queue.maxReceiveCount", spec.queue.maxReceiveCount, 1, 1_000);
  if (spec.processor.batchSize > 10 && spec.processor.maxBatchingWindowSeconds < 1) {
    throw new ConfigError(
      `processor.maxBatchingWindowSeconds must be at least 1 when processor.batchSize is above 10 (got ${spec.processor.maxBatchingWindowSeconds})`,
    );
  }
  const minimumVisibility = 6 * spec.processor.timeoutSeconds;
  if (spec.queue.visibilityTimeoutSeconds < minimumVisibility) {
    throw new ConfigError(
      `queue.visibilityTimeoutSeconds must be at least 6 × processor.timeoutSeconds = ${minimumVisibility} (got ${spec.queue.visibilityTimeoutSeconds})`,
    );
  }
}
