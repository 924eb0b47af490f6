/**
 * The local pipeline: provisions the resources from the spec, runs the bridge, processor and
 * committer modules in local execution environments behind Lambda-like event sources, runs
 * table maintenance on a timer as the stack's schedule does, and watches the topic through
 * its own monitor queue. `ticklake up` and the end-to-end tests both drive it.
 */
import { readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { type AwsClients, type ClientOptions, createClients } from "../aws/clients.ts";
import { NotificationTap } from "../aws/notifications.ts";
import {
  NO_LOOK,
  type PipelineCounts,
  type PipelineView,
  pipelineCounts,
  queueDepth,
} from "../aws/pipeline-view.ts";
import { type ReplayReport, replay } from "../aws/replay.ts";
import { type TableLayer, tableDeps, tableLayerOf } from "../aws/tables.ts";
import { sleep } from "../core/backoff.ts";
import { compactableRecords } from "../core/iceberg/compaction.ts";
import type { ResourceSpec } from "../core/spec.ts";
import {
  bridgeEnvironment,
  committerEnvironment,
  maintenanceEnvironment,
  processorEnvironment,
} from "../functions/config.ts";
import type { MaintenanceEvent, TableMaintenanceReport } from "../functions/maintenance.ts";
import { CheckpointStore } from "./checkpoints.ts";
import { FunctionPool } from "./function-pool.ts";
import { KinesisSource } from "./kinesis-source.ts";
import { type Provisioned, provision } from "./provisioner.ts";
import { SqsSource } from "./sqs-source.ts";
import { type Endpoints, writeJsonAtomic } from "./state.ts";

/** Credentials the local emulators accept; they check none. */
export const LOCAL_CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };

/** How long the maintenance environment is kept after a run: shorter than any run interval. */
const MAINTENANCE_IDLE_MS = 30_000;

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
  functions?: {
    bridge?: URL;
    processor?: URL;
    committer?: URL;
    maintenance?: URL;
    env?: Record<string, string>;
  };
  /**
   * How often table maintenance runs; 0 runs it only when `runMaintenance` is called.
   * @default spec.maintenance.intervalMinutes
   */
  maintenanceIntervalMs?: number;
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

/** The functions a local pipeline runs, each in its own execution environments. */
export interface LocalFunctions {
  bridge: FunctionPool;
  processor: FunctionPool;
  committer: FunctionPool;
  maintenance: FunctionPool;
}

export class LocalPipeline implements PipelineView {
  readonly clients: AwsClients;
  readonly clientOptions: ClientOptions;
  readonly resources: Provisioned;
  readonly bridge: KinesisSource;
  readonly processor: SqsSource;
  /** The committer's event source: its batching window is the commit interval. */
  readonly committer: SqsSource;
  readonly notifications: NotificationTap;
  /** The functions' execution environments, with their invocation counts and billed time. */
  readonly functions: LocalFunctions;
  /** The Iceberg tables, through the local catalog: what the committer and maintenance write. */
  readonly tables: TableLayer;
  /** What each maintenance run reported, oldest first (the last 100). */
  readonly maintenanceReports: TableMaintenanceReport[][] = [];

  readonly #checkpoints: CheckpointStore;
  readonly #stateDir: string;
  #safePoints: NodeJS.Timeout | undefined;
  /** Checkpoints whose objects are written, waiting for their commits (`#recordSafePoint`). */
  #candidateSafePoint: { positions: Record<string, string>; atMs: number } | undefined;
  #maintenanceTimer: NodeJS.Timeout | undefined;
  #maintenanceRun: Promise<TableMaintenanceReport[]> | undefined;
  readonly #onError: LocalPipelineOptions["onError"];

  private constructor(parts: {
    checkpoints: CheckpointStore;
    stateDir: string;
    clients: AwsClients;
    clientOptions: ClientOptions;
    resources: Provisioned;
    bridge: KinesisSource;
    processor: SqsSource;
    committer: SqsSource;
    notifications: NotificationTap;
    functions: LocalFunctions;
    tables: TableLayer;
    onError: LocalPipelineOptions["onError"];
  }) {
    this.clients = parts.clients;
    this.clientOptions = parts.clientOptions;
    this.#checkpoints = parts.checkpoints;
    this.#stateDir = parts.stateDir;
    this.resources = parts.resources;
    this.bridge = parts.bridge;
    this.processor = parts.processor;
    this.committer = parts.committer;
    this.notifications = parts.notifications;
    this.functions = parts.functions;
    this.tables = parts.tables;
    this.#onError = parts.onError;
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

    const tableLayer = tableLayerOf(spec, resources.bucket, "local");
    const committerPool = new FunctionPool({
      functionName: `${spec.prefix}-committer`,
      moduleUrl: options.functions?.committer ?? new URL("../functions/committer.ts", import.meta.url),
      env: functionEnv(endpoints, {
        ...committerEnvironment({ ...tableLayer, topicArn: resources.topicArn }),
        ...options.functions?.env,
      }),
      size: spec.committer.maxConcurrency,
      timeoutMs: spec.committer.timeoutSeconds * 1000,
    });
    const maintenancePool = new FunctionPool({
      functionName: `${spec.prefix}-maintenance`,
      moduleUrl: options.functions?.maintenance ?? new URL("../functions/maintenance.ts", import.meta.url),
      env: functionEnv(endpoints, {
        ...maintenanceEnvironment({
          ...tableLayer,
          topicArn: resources.topicArn,
          timeTravelHours: spec.maintenance.timeTravelHours,
          ledgerRetentionDays: spec.maintenance.ledgerRetentionDays,
          maxHourRecords: compactableRecords(spec.maintenance.memoryMb),
        }),
        ...options.functions?.env,
      }),
      size: 1,
      timeoutMs: spec.maintenance.timeoutSeconds * 1000,
      memoryMb: spec.maintenance.memoryMb,
      // Compacting an hour takes up to the function's memory (WebAssembly's, which a worker
      // returns only when it ends); between runs, minutes apart, that memory goes back.
      idleMs: MAINTENANCE_IDLE_MS,
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
    const committer = new SqsSource({
      sqs: clients.sqs,
      queueUrl: resources.committerQueueUrl,
      queueArn: resources.committerQueueArn,
      region: endpoints.region,
      pool: committerPool,
      batchSize: spec.committer.batchSize,
      maxBatchingWindowMs: spec.committer.maxBatchingWindowSeconds * 1000,
      concurrency: spec.committer.maxConcurrency,
      fillWindow: true,
      onError: (error) => options.onError?.("committer", error),
    });
    const notifications = new NotificationTap(clients.sqs, resources.monitorQueueUrl);

    await bridge.start();
    processor.start();
    committer.start();
    notifications.start();
    const pipeline = new LocalPipeline({
      clients,
      clientOptions,
      resources,
      bridge,
      processor,
      committer,
      notifications,
      functions: {
        bridge: bridgePool,
        processor: processorPool,
        committer: committerPool,
        maintenance: maintenancePool,
      },
      tables: tableDeps(clients, tableLayer),
      checkpoints,
      stateDir: options.stateDir,
      onError: options.onError,
    });
    pipeline.#safePoints = setInterval(() => void pipeline.#recordSafePoint(), 1_000);
    const maintenanceMs = options.maintenanceIntervalMs ?? spec.maintenance.intervalMinutes * 60_000;
    if (maintenanceMs > 0) {
      pipeline.#maintenanceTimer = setInterval(() => {
        pipeline.runMaintenance().catch((error) => options.onError?.("maintenance", error));
      }, maintenanceMs);
    }
    return pipeline;
  }

  /**
   * Runs table maintenance now (every table's, or the event's), as the stack's schedule invokes
   * the maintenance function; a run already going is awaited instead of starting a second.
   */
  runMaintenance(event: MaintenanceEvent = {}): Promise<TableMaintenanceReport[]> {
    this.#maintenanceRun ??= this.functions.maintenance
      .invoke<TableMaintenanceReport[]>(event)
      .then((reports) => {
        this.maintenanceReports.push(reports);
        this.maintenanceReports.splice(0, Math.max(0, this.maintenanceReports.length - 100));
        for (const report of reports) {
          if (report.error) this.#onError?.("maintenance", new Error(`${report.table}: ${report.error}`));
        }
        return reports;
      })
      .finally(() => {
        this.#maintenanceRun = undefined;
      });
    return this.#maintenanceRun;
  }

  /**
   * Records the checkpoints at a moment when everything they cover has been stored and
   * committed. The emulators keep SQS in memory, so after a crash the bridge rewinds to this
   * point instead of losing what the queues held (DESIGN §3). In two steps: the checkpoints
   * become a candidate when, read first, the processor's queue is then found empty (their
   * objects are written and announced); the candidate becomes the safe point once the
   * committer's queue holds nothing announced before it (those announcements are committed).
   * Under steady traffic the committer's queue is never empty, hence the second step.
   */
  async #recordSafePoint(): Promise<void> {
    try {
      const positions = this.#checkpoints.snapshot();
      const atMs = Date.now();
      const [queue, committerQueue] = await Promise.all([
        queueDepth(this.clients, this.resources.queueUrl),
        queueDepth(this.clients, this.resources.committerQueueUrl),
      ]);
      if (
        !this.#candidateSafePoint &&
        queue.visible + queue.inFlight === 0 &&
        this.processor.inFlight === 0
      ) {
        this.#candidateSafePoint = { positions, atMs };
        return;
      }
      const candidate = this.#candidateSafePoint;
      const committed =
        candidate !== undefined &&
        committerQueue.visible === 0 &&
        // Every message SQS has in flight is one the committer holds, all announced after it.
        committerQueue.inFlight === this.committer.inFlight &&
        this.committer.oldestHeldSentMs > candidate.atMs;
      if (committed) {
        await writeJsonAtomic(join(this.#stateDir, SAFE_CHECKPOINTS_FILE), candidate.positions);
        this.#candidateSafePoint = undefined;
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
    const urls = {
      queue: this.resources.queueUrl,
      dlq: this.resources.dlqUrl,
      committerQueue: this.resources.committerQueueUrl,
      committerDlq: this.resources.committerDlqUrl,
    };
    const counts = await pipelineCounts(
      this.clients,
      urls,
      this.notifications.tally,
      this.bridge.stats.recordsDelivered,
    );
    return { ...counts, bridged: this.bridge.stats.recordsDelivered };
  }

  /** What the last drain was still waiting for when it gave up; empty after one that ended. */
  drainPending: readonly string[] = [];

  /**
   * Waits until everything in the stream has been bridged, processed, announced and committed:
   * the bridge is at every shard's tip (and has delivered at least `produced` records), the
   * queue is empty, the committer's queue is empty (it deletes announcements only once their
   * commit is done, so this waits for the last commit, up to a commit interval), and the
   * notification queue is empty.
   * Returns false when `timeoutMs` passes first; `drainPending` then says what was left.
   */
  async drain(timeoutMs: number, produced = 0): Promise<boolean> {
    const startedAt = Date.now();
    const deadline = startedAt + timeoutMs;
    let quietRounds = 0;
    this.drainPending = [NO_LOOK];
    while (Date.now() < deadline) {
      const [queue, committer, notifications] = await Promise.all([
        queueDepth(this.clients, this.resources.queueUrl),
        queueDepth(this.clients, this.resources.committerQueueUrl),
        queueDepth(this.clients, this.resources.monitorQueueUrl),
      ]);
      const delivered = this.bridge.stats.recordsDelivered;
      const waiting = (count: number, what: string) => (count > 0 ? `${count} ${what}` : undefined);
      this.drainPending = [
        // What was in the stream when the drain began has been read and delivered, and at
        // least as much as the caller knows was produced.
        this.bridge.caughtUpSince(startedAt) ? undefined : "the bridge is not at the stream's tip",
        delivered >= produced ? undefined : `the bridge delivered ${delivered} of ${produced} records`,
        waiting(queue.visible + queue.inFlight, "messages in the processor's queue"),
        waiting(this.processor.inFlight, "processor batches running"),
        waiting(committer.visible + committer.inFlight, "announcements in the committer's queue"),
        waiting(this.committer.inFlight, "commits running"),
        waiting(notifications.visible + notifications.inFlight, "notifications not yet read"),
      ].filter((pending) => pending !== undefined);
      // Two quiet looks in a row: a message between two stages is not mistaken for the end.
      quietRounds = this.drainPending.length === 0 ? quietRounds + 1 : 0;
      if (quietRounds >= 2) return true;
      await sleep(250);
    }
    if (this.drainPending.length === 0) this.drainPending = ["a second quiet look in a row"];
    return false;
  }

  /**
   * Stops as a crash would, for fault tests: no last safe point, and the running marker stays,
   * so the next start on this state folder recovers.
   */
  async abandon(): Promise<void> {
    clearInterval(this.#safePoints);
    clearInterval(this.#maintenanceTimer);
    await this.#maintenanceRun?.catch(() => undefined);
    await Promise.all([
      this.bridge.stop(),
      this.processor.stop(),
      this.committer.stop(),
      this.notifications.stop(),
    ]);
    await Promise.all(Object.values(this.functions).map((pool) => pool.close()));
    this.clients.destroy();
  }

  async stop(): Promise<void> {
    clearInterval(this.#safePoints);
    clearInterval(this.#maintenanceTimer);
    // A maintenance run in progress finishes: what it leaves half done is safe, but waiting is
    // tidier than orphans, and a local hour compacts in seconds.
    await this.#maintenanceRun?.catch(() => undefined);
    await this.bridge.stop();
    await this.processor.stop();
    await this.committer.stop();
    await this.notifications.stop();
    await Promise.all(Object.values(this.functions).map((pool) => pool.close()));
    await this.#recordSafePoint();
    this.clients.destroy();
    await rm(join(this.#stateDir, RUNNING_MARKER), { force: true });
  }
}
