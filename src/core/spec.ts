/**
 * The one description of ticklake's AWS resources (DESIGN §4). The local provisioner and the
 * CDK stack both read it, so the local pipeline and the deployed one cannot drift apart.
 */
import { ConfigError } from "./errors.ts";
import { TABLES_PREFIX } from "./layout.ts";

/** A queue a function reads, with its dead-letter queue. */
export interface QueueSpec {
  readonly name: string;
  /** At least 6× its function's timeout, as AWS recommends for SQS event sources. */
  readonly visibilityTimeoutSeconds: number;
  readonly retentionSeconds: number;
  readonly maxReceiveCount: number;
  readonly dlqName: string;
  readonly dlqRetentionSeconds: number;
}

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
  /** The processor's queue. */
  readonly queue: QueueSpec;
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
  readonly notificationQueue: { readonly name: string; readonly retentionSeconds: number };
  /** A second subscribed queue that only the local pipeline's own counters read. */
  readonly monitorQueue: { readonly name: string };
  /**
   * The committer's queue: subscribed to the topic with a filter on `kind` = `lake` and raw
   * delivery, a standard queue (an SNS standard topic cannot deliver to a FIFO queue).
   */
  readonly committerQueue: QueueSpec;
  /** The committer function (DESIGN §9): announced files → one snapshot per table per interval. */
  readonly committer: {
    readonly timeoutSeconds: number;
    /**
     * Announcements per invocation (1-10,000). It bounds the files one commit adds, so that a
     * commit's "table updated" notification fits one SNS message in the normal case.
     */
    readonly batchSize: number;
    /** The commit interval: the event source's batching window, 1-300 s. */
    readonly maxBatchingWindowSeconds: number;
    /** SQS event source maximum concurrency (2-1,000): racing commits are safe, but each is work. */
    readonly maxConcurrency: number;
  };
  /** Table maintenance: compaction of closed hours, snapshot expiry, orphan removal. */
  readonly maintenance: {
    /** How often it runs, per table. */
    readonly intervalMinutes: number;
    readonly timeoutSeconds: number;
    /**
     * The maintenance function's memory: compaction holds an hour column by column
     * (`COMPACTION_BYTES_PER_RECORD`); 8,192 MB leaves twice the peak of the busiest hour at
     * 5,000 events/s (bench/results/compaction.json, docs/decisions.md).
     */
    readonly memoryMb: number;
    /** Snapshots younger than this stay readable (`--as-of`); expiry removes older ones. */
    readonly timeTravelHours: number;
    /**
     * How long compaction keeps tombstones of the files it replaced: longer than a file can be
     * announced again (`announcementLifetimeSeconds`), or a redriven announcement would add a
     * replaced file twice (docs/reliability.md §5).
     */
    readonly ledgerRetentionDays: number;
  };
  /** The Iceberg tables: `s3://<bucket>/<warehousePrefix><namespace>/<dataset>`. */
  readonly tables: {
    /** The Glue database on AWS, the local catalog's namespace here: the prefix with underscores. */
    readonly namespace: string;
    readonly warehousePrefix: string;
  };
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

/**
 * The commit interval per target: how long the committer gathers announcements before it
 * commits one snapshot per table. Each commit rewrites the table's metadata file, which lists
 * every snapshot inside the time-travel window, so the interval and that window decide what a
 * commit costs. Freshness against cost: bench/freshness.bench.ts measures the one,
 * bench/cost.bench.ts prices the other, docs/decisions.md weighs them.
 */
export const COMMIT_INTERVAL_SECONDS: Readonly<Record<SpecTarget, number>> = { local: 5, aws: 60 };

/**
 * The time-travel window per target, hours. Locally it keeps about as many snapshots at the
 * local commit interval as AWS keeps in three days at its own, so a commit costs the same.
 */
export const TIME_TRAVEL_HOURS: Readonly<Record<SpecTarget, number>> = { local: 6, aws: 72 };

/**
 * How long the `…-notifications` queue keeps a message nobody reads, per target. Locally the
 * emulator host holds every waiting message in memory, and a local run is usually watched, not
 * subscribed: the queue is a peek at the last five minutes. A subscriber that needs every
 * notification has its own queue (`ticklake sync` creates one). On AWS, SQS's default 4 days.
 */
export const NOTIFICATION_RETENTION_SECONDS: Readonly<Record<SpecTarget, number>> = {
  local: 300,
  aws: 4 * 24 * 3600,
};

/** How often maintenance runs per table, per target, minutes. */
export const MAINTENANCE_INTERVAL_MINUTES: Readonly<Record<SpecTarget, number>> = { local: 10, aws: 60 };

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
  /** The commit interval, 1-300 s. @default COMMIT_INTERVAL_SECONDS[target] */
  commitIntervalSeconds?: number;
  /** The committer's timeout; its queue's visibility timeout is six times it. @default 60 */
  committerTimeoutSeconds?: number;
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
  const target = options.target ?? "local";
  const committerTimeoutSeconds = options.committerTimeoutSeconds ?? 60;
  const spec: ResourceSpec = {
    prefix,
    stream: { name: `${prefix}-logs`, shardCount: options.shardCount ?? 2, retentionHours: 24 },
    bridge: {
      timeoutSeconds: 60,
      batchSize: 2_000,
      maxBatchingWindowSeconds: options.bridgeWindowSeconds ?? BRIDGE_WINDOW_SECONDS[target],
      maxMessageBytes: options.maxMessageBytes ?? 1_048_576,
    },
    queue: {
      name: `${prefix}-packed`,
      // Six times the processor's timeout, as AWS advises for SQS event sources.
      visibilityTimeoutSeconds: 6 * (options.processorTimeoutSeconds ?? 60),
      retentionSeconds: 4 * 24 * 3600,
      maxReceiveCount: 5,
      dlqName: `${prefix}-packed-dlq`,
      dlqRetentionSeconds: 14 * 24 * 3600,
    },
    processor: {
      timeoutSeconds: options.processorTimeoutSeconds ?? 60,
      batchSize: 10,
      maxBatchingWindowSeconds: 1,
      maxConcurrency: 4,
    },
    bucket: { name: `${prefix}-lake` },
    topic: { name: `${prefix}-data-available` },
    notificationQueue: {
      name: `${prefix}-notifications`,
      retentionSeconds: NOTIFICATION_RETENTION_SECONDS[target],
    },
    monitorQueue: { name: `${prefix}-monitor` },
    committerQueue: {
      name: `${prefix}-committer`,
      visibilityTimeoutSeconds: 6 * committerTimeoutSeconds,
      retentionSeconds: 4 * 24 * 3600,
      maxReceiveCount: 5,
      dlqName: `${prefix}-committer-dlq`,
      dlqRetentionSeconds: 14 * 24 * 3600,
    },
    committer: {
      timeoutSeconds: committerTimeoutSeconds,
      batchSize: 500,
      maxBatchingWindowSeconds: options.commitIntervalSeconds ?? COMMIT_INTERVAL_SECONDS[target],
      maxConcurrency: 2,
    },
    maintenance: {
      intervalMinutes: MAINTENANCE_INTERVAL_MINUTES[target],
      timeoutSeconds: 900,
      memoryMb: 8_192,
      timeTravelHours: TIME_TRAVEL_HOURS[target],
      ledgerRetentionDays: 45,
    },
    tables: { namespace: prefix.replaceAll("-", "_"), warehousePrefix: TABLES_PREFIX },
  };
  validateSpec(spec);
  return spec;
}

/**
 * The longest an announcement of a data file can still arrive, seconds: a record waits in the
 * stream, its packed message in the queue and then the DLQ (`ticklake redrive`), and the
 * file's announcement in the committer's queue and then its DLQ.
 */
export function announcementLifetimeSeconds(spec: ResourceSpec): number {
  return (
    spec.stream.retentionHours * 3600 +
    spec.queue.retentionSeconds +
    spec.queue.dlqRetentionSeconds +
    spec.committerQueue.retentionSeconds +
    spec.committerQueue.dlqRetentionSeconds
  );
}

/** A function behind an SQS event source: Lambda's limits on its timeout, batch and concurrency. */
function requireQueueConsumer(
  name: "processor" | "committer",
  fn: ResourceSpec["processor" | "committer"],
  minWindowSeconds: number,
): void {
  requireRange(`${name}.timeoutSeconds`, fn.timeoutSeconds, 1, 900);
  requireRange(`${name}.batchSize`, fn.batchSize, 1, 10_000);
  requireRange(`${name}.maxBatchingWindowSeconds`, fn.maxBatchingWindowSeconds, minWindowSeconds, 300);
  requireRange(`${name}.maxConcurrency`, fn.maxConcurrency, 2, 1_000);
}

export function validateSpec(spec: ResourceSpec): void {
  requireRange("stream.shardCount", spec.stream.shardCount, 1, 500);
  requireRange("bridge.batchSize", spec.bridge.batchSize, 1, 10_000);
  requireRange("bridge.maxBatchingWindowSeconds", spec.bridge.maxBatchingWindowSeconds, 0, 300);
  requireRange("bridge.maxMessageBytes", spec.bridge.maxMessageBytes, 1_024, 1_048_576);
  requireQueueConsumer("processor", spec.processor, 0);
  requireRange("queue.maxReceiveCount", spec.queue.maxReceiveCount, 1, 1_000);
  if (spec.processor.batchSize > 10 && spec.processor.maxBatchingWindowSeconds < 1) {
    throw new ConfigError(
      `processor.maxBatchingWindowSeconds must be at least 1 when processor.batchSize is above 10 (got ${spec.processor.maxBatchingWindowSeconds})`,
    );
  }
  requireQueueConsumer("committer", spec.committer, 1);
  requireRange("committerQueue.maxReceiveCount", spec.committerQueue.maxReceiveCount, 1, 1_000);
  requireRange("maintenance.intervalMinutes", spec.maintenance.intervalMinutes, 1, 1_440);
  requireRange("maintenance.timeoutSeconds", spec.maintenance.timeoutSeconds, 1, 900);
  requireRange("maintenance.memoryMb", spec.maintenance.memoryMb, 128, 10_240);
  requireRange("maintenance.timeTravelHours", spec.maintenance.timeTravelHours, 1, 8_760);
  const committerVisibility = 6 * spec.committer.timeoutSeconds;
  if (spec.committerQueue.visibilityTimeoutSeconds < committerVisibility) {
    throw new ConfigError(
      `committerQueue.visibilityTimeoutSeconds must be at least 6 × committer.timeoutSeconds = ${committerVisibility} (got ${spec.committerQueue.visibilityTimeoutSeconds})`,
    );
  }
  const lifetime = announcementLifetimeSeconds(spec);
  if (spec.maintenance.ledgerRetentionDays * 86_400 <= lifetime) {
    throw new ConfigError(
      `maintenance.ledgerRetentionDays must exceed the ${lifetime / 86_400} days an announcement can still arrive (stream, queue, DLQ, committer queue and DLQ retention) (got ${spec.maintenance.ledgerRetentionDays})`,
    );
  }
  const minimumVisibility = 6 * spec.processor.timeoutSeconds;
  if (spec.queue.visibilityTimeoutSeconds < minimumVisibility) {
    throw new ConfigError(
      `queue.visibilityTimeoutSeconds must be at least 6 × processor.timeoutSeconds = ${minimumVisibility} (got ${spec.queue.visibilityTimeoutSeconds})`,
    );
  }
}
