/**
 * The local pipeline: provisions the resources from the spec, runs the bridge and processor
 * modules in local execution environments behind Lambda-like event sources, and watches the
 * topic through its own monitor queue. `ticklake up` and the end-to-end tests both drive it.
 */
import { readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { type AwsClients, type ClientOptions, createClients } from "../aws/clients.ts";
import { NotificationTap } from "../aws/notifications.ts";
import { type PipelineCounts, type PipelineView, pipelineCounts, queueDepth } from "../aws/pipeline-view.ts";
import { type ReplayReport, replay } from "../aws/replay.ts";
import { sleep } from "../core/backoff.ts";
import type { ResourceSpec } from "../core/spec.ts";
import { bridgeEnvironment, processorEnvironment } from "../functions/config.ts";
import { CheckpointStore } from "./checkpoints.ts";
import { FunctionPool } from "./function-pool.ts";
import { KinesisSource } from "./kinesis-source.ts";
import { type Provisioned, provision } from "./provisioner.ts";
import { SqsSource } from "./sqs-source.ts";
import { type Endpoints, writeJsonAtomic } from "./state.ts";

/** Credentials the local emulators accept; they check none. */
export const LOCAL_CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };

export interface LocalPipelineOptions {
  stateDir: string;
  spec: ResourceSpec;
  endpoints: Endpoints;
  /** A stage failed (and will retry): for debugging, the pipeline carries on. */
  onError?: (stage: string, error: unknown) => void;
  /** Something an operator should know that is not a failure, e.g. a crash recovered from. */
  onNotice?: (stage: string, message: string) => void;
  /**
   * Other modules to run as the functions (each exporting `handler`), with extra settings in
   * their environment: the fault-injection suite wraps the real handlers this way.
   */
  functions?: { bridge?: URL; processor?: URL; env?: Record<string, string> };
}

/** A local pipeline's counts: its bridge runs here, so what it bridged is known. */
export interface LocalPipelineCounts extends PipelineCounts {
  bridged: number;
}

/** The environment a function sees: its settings plus the local endpoints, as on Lambda. */
export function functionEnv(endpoints: Endpoints, settings: Record<string, string>): Record<string, string> {
  return {
    AWS_REGION: endpoints.region,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_KINESIS: endpoints.kinesis,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_SNS: endpoints.sns,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? "WARN",
    // EMF metrics mean something in CloudWatch; locally they would only flood the terminal.
    POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? "true",
    // The main process already warned once about the SDK's Node.js support; workers need not.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    ...settings,
  };
}

export function localClientOptions(endpoints: Endpoints): ClientOptions {
  return {
    region: endpoints.region,
    credentials: LOCAL_CREDENTIALS,
    endpoints: { kinesis: endpoints.kinesis, sqs: endpoints.sqs, sns: endpoints.sns, s3: endpoints.s3 },
  };
}

export function localClients(endpoints: Endpoints): AwsClients {
  return createClients(localClientOptions(endpoints));
}

const RUNNING_MARKER = "pipeline.running";
const SAFE_CHECKPOINTS_FILE = "checkpoints.safe.json";

/**
 * Whether the last run on this state folder stopped without a clean stop (its marker is still
 * there), and the safe point it left: checkpoints taken when everything they cover was stored.
 * Marks this run as running.
 */
async function markRunning(stateDir: string): Promise<{ unclean: boolean; safe: Record<string, string> }> {
  const marker = join(stateDir, RUNNING_MARKER);
  const unclean = await stat(marker).then(
    () => true,
    () => false,
  );
  const safe = unclean
    ? await readFile(join(stateDir, SAFE_CHECKPOINTS_FILE), "utf8").then(
        (text) => JSON.parse(text) as Record<string, string>,
        () => ({}),
      )
    : {};
  await writeJsonAtomic(marker, { pid: process.pid, startedAt: new Date().toISOString() });
  return { unclean, safe };
}

/**
 * After an unclean stop, the SQS messages the last run held died with the emulator process,
 * though the bridge had checkpointed past their records. The records between the safe point
 * and the checkpoints are replayed against the lake's keys (src/core/replay.ts): what was
 * stored maps onto its own keys, what was lost is stored once.
 */
async function recoverLostMessages(
  clients: AwsClients,
  spec: ResourceSpec,
  resources: Provisioned,
  safe: Record<string, string>,
  checkpoints: Record<string, string>,
): Promise<ReplayReport> {
  const perShard = (positions: Record<string, string>) =>
    Object.fromEntries(
      Object.entries(positions)
        .filter(([key]) => key.startsWith(`${resources.streamName}/`))
        .map(([key, sequence]) => [key.slice(resources.streamName.length + 1), sequence]),
    );
  return replay(clients, {
    streamName: resources.streamName,
    bucket: resources.bucket,
    queueUrl: resources.queueUrl,
    from: { afterSequence: perShard(safe) },
    to: { throughSequence: perShard(checkpoints) },
    maxMessageBytes: spec.bridge.maxMessageBytes,
  });
}

export class LocalPipeline implements PipelineView {
  readonly clients: AwsClients;
  readonly clientOptions: ClientOptions;
  readonly resources: Provisioned;
  readonly bridge: KinesisSource;
  readonly processor: SqsSource;
  readonly notifications: NotificationTap;
  /** The functions' execution environments, with their invocation counts and billed time. */
  readonly functions: { bridge: FunctionPool; processor: FunctionPool };

  readonly #checkpoints: CheckpointStore;
  readonly #stateDir: string;
  #safePoints: NodeJS.Timeout | undefined;

  private constructor(parts: {
    checkpoints: CheckpointStore;
    stateDir: string;
    clients: AwsClients;
    clientOptions: ClientOptions;
    resources: Provisioned;
    bridge: KinesisSource;
    processor: SqsSource;
    notifications: NotificationTap;
    functions: { bridge: FunctionPool; processor: FunctionPool };
  }) {
    this.clients = parts.clients;
    this.clientOptions = parts.clientOptions;
    this.#checkpoints = parts.checkpoints;
    this.#stateDir = parts.stateDir;
    this.resources = parts.resources;
    this.bridge = parts.bridge;
    this.processor = parts.processor;
    this.notifications = parts.notifications;
    this.functions = parts.functions;
  }

  static async start(options: LocalPipelineOptions): Promise<LocalPipeline> {
    const { spec, endpoints } = options;
    const clientOptions = localClientOptions(endpoints);
    const clients = createClients(clientOptions);
    const resources = await provision(clients, spec);
    const checkpoints = new CheckpointStore(join(options.stateDir, "checkpoints.json"));
    await checkpoints.load();
    const last = await markRunning(options.stateDir);
    if (last.unclean) {
      const recovered = await recoverLostMessages(
        clients,
        spec,
        resources,
        last.safe,
        checkpoints.snapshot(),
      );
      options.onNotice?.(
        "recovery",
        `the last run did not stop cleanly: replayed ${recovered.read} records since its last safe point (${recovered.missing} had been lost, and are stored now)`,
      );
    }

    const bridgePool = new FunctionPool({
      functionName: `${spec.prefix}-bridge`,
      moduleUrl: options.functions?.bridge ?? new URL("../functions/bridge.ts", import.meta.url),
      env: functionEnv(endpoints, {
        ...bridgeEnvironment({ queueUrl: resources.queueUrl, maxMessageBytes: spec.bridge.maxMessageBytes }),
        ...options.functions?.env,
      }),
      // One batch per shard at a time (parallelization factor 1), as Lambda does.
      size: spec.stream.shardCount,
      timeoutMs: spec.bridge.timeoutSeconds * 1000,
    });
    const processorPool = new FunctionPool({
      functionName: `${spec.prefix}-processor`,
      moduleUrl: options.functions?.processor ?? new URL("../functions/processor.ts", import.meta.url),
      env: functionEnv(endpoints, {
        ...processorEnvironment({ bucketName: resources.bucket, topicArn: resources.topicArn }),
        ...options.functions?.env,
      }),
      size: spec.processor.maxConcurrency,
      timeoutMs: spec.processor.timeoutSeconds * 1000,
    });

    const bridge = new KinesisSource({
      kinesis: clients.kinesis,
      streamName: resources.streamName,
      streamArn: resources.streamArn,
      region: endpoints.region,
      pool: bridgePool,
      checkpoints,
      batchSize: spec.bridge.batchSize,
      maxBatchingWindowMs: spec.bridge.maxBatchingWindowSeconds * 1000,
      onError: (error) => options.onError?.("bridge", error),
    });
    const processor = new SqsSource({
      sqs: clients.sqs,
      queueUrl: resources.queueUrl,
      queueArn: resources.queueArn,
      region: endpoints.region,
      pool: processorPool,
      batchSize: spec.processor.batchSize,
      maxBatchingWindowMs: spec.processor.maxBatchingWindowSeconds * 1000,
      concurrency: spec.processor.maxConcurrency,
      onError: (error) => options.onError?.("processor", error),
    });
    const notifications = new NotificationTap(clients.sqs, resources.monitorQueueUrl);

    await bridge.start();
    processor.start();
    notifications.start();
    const pipeline = new LocalPipeline({
      clients,
      clientOptions,
      resources,
      bridge,
      processor,
      notifications,
      functions: { bridge: bridgePool, processor: processorPool },
      checkpoints,
      stateDir: options.stateDir,
    });
    pipeline.#safePoints = setInterval(() => void pipeline.#recordSafePoint(), 1_000);
    return pipeline;
  }

  /**
   * Records the checkpoints at a moment when everything they cover has been processed: read
   * them first, then find the queue empty. The emulators keep SQS in memory, so after a crash
   * the bridge rewinds to this point instead of losing what the queue held (DESIGN §3).
   */
  async #recordSafePoint(): Promise<void> {
    try {
      const positions = this.#checkpoints.snapshot();
      const queue = await queueDepth(this.clients, this.resources.queueUrl);
      if (queue.visible + queue.inFlight === 0 && this.processor.inFlight === 0) {
        await writeJsonAtomic(join(this.#stateDir, SAFE_CHECKPOINTS_FILE), positions);
      }
    } catch {
      // The next tick tries again; a stale safe point only means more to re-read.
    }
  }

  get streamName(): string {
    return this.resources.streamName;
  }

  get bucket(): string {
    return this.resources.bucket;
  }

  async counts(): Promise<LocalPipelineCounts> {
    const urls = { queue: this.resources.queueUrl, dlq: this.resources.dlqUrl };
    const counts = await pipelineCounts(
      this.clients,
      urls,
      this.notifications.tally,
      this.bridge.stats.recordsDelivered,
    );
    return { ...counts, bridged: this.bridge.stats.recordsDelivered };
  }

  /**
   * Waits until everything in the stream has been bridged, processed and announced: the
   * bridge is at every shard's tip (and has delivered at least `produced` records), the queue
   * is empty, and the notification queue is empty.
   * Returns false when `timeoutMs` passes first.
   */
  async drain(timeoutMs: number, produced = 0): Promise<boolean> {
    const startedAt = Date.now();
    const deadline = startedAt + timeoutMs;
    let quietRounds = 0;
    while (Date.now() < deadline) {
      const [queue, notifications] = await Promise.all([
        queueDepth(this.clients, this.resources.queueUrl),
        queueDepth(this.clients, this.resources.monitorQueueUrl),
      ]);
      const idle =
        // What was in the stream when the drain began has been read and delivered, and at
        // least as much as the caller knows was produced.
        this.bridge.caughtUpSince(startedAt) &&
        this.bridge.stats.recordsDelivered >= produced &&
        queue.visible + queue.inFlight === 0 &&
        this.processor.inFlight === 0 &&
        notifications.visible + notifications.inFlight === 0;
      // Two quiet looks in a row: a message between two stages is not mistaken for the end.
      quietRounds = idle ? quietRounds + 1 : 0;
      if (quietRounds >= 2) return true;
      await sleep(250);
    }
    return false;
  }

  /**
   * Stops as a crash would, for fault tests: no last safe point, and the running marker stays,
   * so the next start on this state folder recovers.
   */
  async abandon(): Promise<void> {
    clearInterval(this.#safePoints);
    await Promise.all([this.bridge.stop(), this.processor.stop(), this.notifications.stop()]);
    await Promise.all(Object.values(this.functions).map((pool) => pool.close()));
    this.clients.destroy();
  }

  async stop(): Promise<void> {
    clearInterval(this.#safePoints);
    await this.bridge.stop();
    await this.processor.stop();
    await this.notifications.stop();
    await Promise.all(Object.values(this.functions).map((pool) => pool.close()));
    await this.#recordSafePoint();
    this.clients.destroy();
    await rm(join(this.#stateDir, RUNNING_MARKER), { force: true });
  }
}
