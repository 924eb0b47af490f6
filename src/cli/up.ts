/**
 * `ticklake up` (= `npm start`): the whole pipeline on one machine. Starts the emulators,
 * provisions, runs the functions behind local event sources, serves the market API, drives
 * traffic, prints a status line a second, and on Ctrl-C (or after --duration) drains and
 * stops cleanly, then prints a summary whose counts must balance.
 */
import { rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { createClients } from "../aws/clients.ts";
import { DeployedPipeline } from "../aws/deployed-pipeline.ts";
import { countObjects } from "../aws/lake-mirror.ts";
import type { PipelineView } from "../aws/pipeline-view.ts";
import { readStackOutputs } from "../aws/stack-outputs.ts";
import { lakeRecordsInTables } from "../core/iceberg/table-ops.ts";
import { LAKE_PREFIX, QUARANTINE_PREFIX } from "../core/layout.ts";
import { resourceSpec } from "../core/spec.ts";
import { PipelineMonitor, type PipelineSnapshot } from "../dashboard/monitor.ts";
import { dashboard } from "../dashboard/plugin.ts";
import { type RunningEmulators, startEmulators } from "../local/emulators.ts";
import { LocalPipeline } from "../local/pipeline.ts";
import { ENDPOINTS_FILE, type Endpoints, UP_FILE, writeJsonAtomic } from "../local/state.ts";
import { TrafficGenerator } from "../webserver/traffic.ts";
import { createWebServer } from "../webserver/web-server.ts";
import { dlqHolds, REDRIVE_ADVICE } from "./dlq.ts";
import type { Target } from "./options.ts";
import { querySource, runQuery } from "./query.ts";
import { QUERY_EXAMPLES } from "./query-examples.ts";
import { localstackEndpoints, tablesOfTarget } from "./targets.ts";

export interface UpOptions {
  stateDir: string;
  target: Target;
  /** With --target aws: the deployed stack whose outputs name the resources. */
  stack: string;
  /** HTTP requests per second from the load generator. */
  rate: number;
  /** Seconds to run; 0 runs until Ctrl-C. */
  duration: number;
  /** Market ticks per second, each logging every quote. */
  ticks: number;
  /** Stock trading hours: New York's sessions, or always open. */
  session: "us" | "always-open";
  /** Simulated news articles per minute. */
  newsPerMinute: number;
  port: number;
  seed: number;
  /** How long the drain may take before giving up. */
  drainTimeoutSeconds: number;
  out?: (line: string) => void;
  /** Where TICKLAKE_DEBUG, LOCALSTACK_ENDPOINT and AWS_REGION are read. @default process.env */
  env?: NodeJS.ProcessEnv;
}

export interface UpSummary {
  /** Acknowledged by Kinesis from this run's web server. */
  produced: number;
  /** Read from the stream by the bridge: this run's records plus any from other producers. */
  bridged: number;
  /** Accepted but not acknowledged by Kinesis at the stop: kept in the spool for next time. */
  leftInSpool: number;
  refused: number;
  stored: number;
  quarantined: number;
  objectsWritten: number;
  notifiedObjects: number;
  dlq: number;
  /** Records the committer's snapshots added in this run, and the snapshots, per table. */
  tables: Record<string, { commits: number; records: number }>;
  committed: number;
  commits: number;
  /**
   * Of the records stored in this run's lake objects, those in a table (live, or compacted),
   * read through the table layer; null where the tables are not readable (`--target aws`).
   */
  inTables: number | null;
  /** Announcements the committer gave up on; null where not watched. */
  committerDlq: number | null;
  drained: boolean;
  balanced: boolean;
}

function statusLine(elapsedS: number, { stages, latency }: PipelineSnapshot): string {
  return [
    `t=${String(elapsedS).padStart(4)}s`,
    `produced ${stages.produced ?? "-"}`,
    `in stream ${stages.inStream ?? "-"}`,
    `bridged ${stages.bridged ?? "-"}`,
    `queued ${stages.queued}+${stages.inFlight}`,
    `stored ${stages.stored}`,
    `quarantined ${stages.quarantined}`,
    `notified ${stages.notified}`,
    `committed ${stages.committed} in ${stages.commits} commits`,
    `DLQ ${stages.dlq}`,
    `p99 ${latency.p99Ms === null ? "-" : `${latency.p99Ms} ms`}`,
  ].join(" | ");
}

/** Starts the pipeline `up` drives: local emulators, LocalStack, or the deployed stack. */
async function startPipeline(
  options: UpOptions,
  out: (line: string) => void,
): Promise<{ pipeline: PipelineView; emulators?: RunningEmulators; countsObjects: boolean }> {
  const spec = resourceSpec();
  const onError = (stage: string, error: unknown) => {
    if ((options.env ?? process.env).TICKLAKE_DEBUG) out(`[${stage}] ${(error as Error).message}`);
  };
  if (options.target === "aws") {
    const clients = createClients();
    const outputs = await readStackOutputs(clients, options.stack);
    out(
      `stack ${options.stack}: stream ${outputs.StreamName} → bucket ${outputs.BucketName}; functions run in Lambda`,
    );
    const pipeline = await DeployedPipeline.start(clients, outputs, `${options.stack}-up-monitor`);
    return { pipeline, countsObjects: false };
  }
  let emulators: RunningEmulators | undefined;
  let endpoints: Endpoints;
  if (options.target === "localstack") {
    endpoints = localstackEndpoints(options.env);
    out(`LocalStack at ${endpoints.s3}; functions run here, behind local event sources`);
  } else {
    emulators = await startEmulators({ stateDir: options.stateDir });
    endpoints = emulators.endpoints;
    out(
      `emulators: kinesis ${endpoints.kinesis}  sqs/sns/s3 ${endpoints.s3}  (restored ${emulators.restoredObjects} objects)`,
    );
    out(`endpoints written to ${join(options.stateDir, ENDPOINTS_FILE)}`);
  }
  try {
    const onNotice = (stage: string, message: string) => out(`[${stage}] ${message}`);
    const pipeline = await LocalPipeline.start({
      stateDir: options.stateDir,
      spec,
      endpoints,
      onError,
      onNotice,
    });
    out(
      `stream ${pipeline.streamName} → queue ${spec.queue.name} → bucket ${pipeline.bucket} → topic ${spec.topic.name}`,
    );
    out(
      `try: aws --endpoint-url ${endpoints.s3} s3 ls s3://${pipeline.bucket}/lake/ --recursive   (any credentials, region ${endpoints.region})`,
    );
    return { pipeline, ...(emulators ? { emulators } : {}), countsObjects: true };
  } catch (error) {
    await emulators?.stop();
    throw error;
  }
}

export async function up(options: UpOptions): Promise<UpSummary> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  // Listening from the start: a Ctrl-C during start-up also ends in a drained, clean stop.
  // A second Ctrl-C finds no listener and ends the process at once.
  let requestStop = () => {};
  const stopRequested = new Promise<void>((resolve) => {
    requestStop = () => {
      process.off("SIGINT", requestStop);
      process.off("SIGTERM", requestStop);
      resolve();
    };
  });
  process.on("SIGINT", requestStop);
  process.on("SIGTERM", requestStop);

  let running: Awaited<ReturnType<typeof startPipeline>> | undefined;
  let durationTimer: NodeJS.Timeout | undefined;
  try {
    running = await startPipeline(options, out);
    const { pipeline, countsObjects } = running;
    const objectsBefore = countsObjects ? await announcedKindsCount(pipeline) : 0;

    const server = await createWebServer({
      shipper: {
        clientOptions: pipeline.clientOptions,
        streamName: pipeline.streamName,
        spoolDir: join(options.stateDir, "spool"),
      },
      market: {
        seed: options.seed,
        ticksPerSecond: options.ticks,
        session: options.session,
        newsPerMinute: options.newsPerMinute,
      },
      source: { service: "ticklake-webserver", instance: `${hostname()}-${process.pid}` },
      listen: { port: options.port, host: "127.0.0.1" },
      // The built-in load generator runs from this host: it must not be rate-limited.
      rateLimitPerMinute: 1_000_000,
    });
    const { shipper, feed } = server;
    const monitor = new PipelineMonitor({ pipeline, produced: () => shipper.stats.sent });
    const lake = querySource(
      pipeline.clients,
      pipeline.bucket,
      tablesOfTarget(options.target, pipeline.bucket, { stack: options.stack }),
      join(options.stateDir, "query-cache"),
    );
    await server.app.register(dashboard, {
      monitor,
      examples: QUERY_EXAMPLES,
      query: (sql, limits) => runQuery(lake, sql, limits),
    });
    const baseUrl = await server.start();
    out(`market API on ${baseUrl}  (try ${baseUrl}/v1/stocks/AAPL)`);
    out(`dashboard on ${baseUrl}/dashboard/`);
    if (options.target !== "aws") {
      await writeJsonAtomic(join(options.stateDir, UP_FILE), {
        pid: process.pid,
        api: baseUrl,
        dashboard: `${baseUrl}/dashboard/`,
        startedAt: new Date().toISOString(),
      });
    }
    const traffic = new TrafficGenerator({ baseUrl, rate: options.rate, seed: options.seed });
    traffic.start();

    const started = Date.now();
    monitor.events.on("snapshot", (snapshot: PipelineSnapshot) =>
      out(statusLine(Math.round((Date.now() - started) / 1000), snapshot)),
    );
    monitor.start();

    if (options.duration > 0) durationTimer = setTimeout(requestStop, options.duration * 1000);
    await stopRequested;

    out("stopping: web server, then the shipper flushes, then the pipeline drains…");
    await traffic.stop();
    await server.stopServing();
    await rm(join(options.stateDir, UP_FILE), { force: true });
    const leftInSpool = await server.close(options.drainTimeoutSeconds * 1000);
    const drained = await pipeline.drain(options.drainTimeoutSeconds * 1000, shipper.stats.sent);
    if (!drained) out(`the drain ran out of time waiting for: ${pipeline.drainPending.join("; ")}`);
    monitor.stop();
    const counts = await pipeline.counts();
    // Objects whose append was announced are in their table; the rest are looked up.
    const inTables = pipeline.tables
      ? await lakeRecordsInTables(
          pipeline.tables,
          pipeline.tables.namespace,
          pipeline.notifications.uncommitted(),
        )
      : undefined;
    for (const { key, reason } of inTables?.missing.slice(0, 5) ?? []) out(`[tables] ${key}: ${reason}`);
    // Listing a deployed lake could be large and slow: on AWS the manifests are the count.
    const objectsWritten = countsObjects
      ? (await announcedKindsCount(pipeline)) - objectsBefore
      : counts.objects;
    const summary: UpSummary = {
      produced: shipper.stats.sent,
      bridged: counts.bridged ?? shipper.stats.sent,
      refused: shipper.stats.refused + feed.refused,
      leftInSpool,
      stored: counts.stored,
      quarantined: counts.quarantined,
      objectsWritten,
      notifiedObjects: counts.objects,
      dlq: counts.dlq,
      tables: counts.tables,
      committed: counts.committed,
      commits: counts.commits,
      inTables: inTables ? pipeline.notifications.tally.storedRecordsCommitted + inTables.records : null,
      committerDlq: counts.committerDlq ?? null,
      drained,
      balanced: false,
    };
    summary.balanced = failedChecks(summary).length === 0;
    return summary;
  } finally {
    clearTimeout(durationTimer);
    process.off("SIGINT", requestStop);
    process.off("SIGTERM", requestStop);
    await running?.pipeline.stop();
    await running?.emulators?.stop();
  }
}

/**
 * Objects of the kinds the processor announces (lake and quarantine): the tables' metadata and
 * compacted files under `tables/` are not announced one by one.
 */
async function announcedKindsCount(pipeline: PipelineView): Promise<number> {
  const counts = await Promise.all(
    [LAKE_PREFIX, QUARANTINE_PREFIX].map((prefix) =>
      countObjects(pipeline.clients.s3, pipeline.bucket, prefix),
    ),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** Which of the summary's checks failed, in words (`balanced` is true when none does). */
export function failedChecks(summary: UpSummary): string[] {
  const failed: string[] = [];
  if (!summary.drained) failed.push("the pipeline did not drain in time (raise --drain-timeout)");
  if (summary.bridged !== summary.stored + summary.quarantined || summary.bridged < summary.produced) {
    failed.push("records bridged ≠ stored + quarantined");
  }
  if (summary.objectsWritten !== summary.notifiedObjects) failed.push("objects written ≠ objects notified");
  if (summary.inTables !== null && summary.inTables !== summary.stored) {
    failed.push(`${summary.stored - summary.inTables} stored records are in no table`);
  }
  if (summary.leftInSpool > 0) failed.push(`${summary.leftInSpool} records left in the spool`);
  if (summary.dlq > 0) failed.push(`${dlqHolds(summary.dlq)}: ${REDRIVE_ADVICE}`);
  if ((summary.committerDlq ?? 0) > 0) {
    failed.push(
      `the committer's DLQ holds ${summary.committerDlq} announcements: see docs/operations.md, "Tables"`,
    );
  }
  return failed;
}

export function formatSummary(summary: UpSummary): string {
  const check = (ok: boolean) => (ok ? "ok" : "MISMATCH");
  const others = summary.bridged - summary.produced;
  const tables = Object.entries(summary.tables)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(
      ([table, { commits, records }]) => `    ${table.padEnd(34)}${records} records in ${commits} commits`,
    );
  return [
    "summary",
    `  produced (web server → Kinesis)     ${summary.produced}`,
    `  from other producers                ${others}  (ticklake send, aws kinesis put-record, an earlier run's backlog)`,
    `  stored in the lake                  ${summary.stored}`,
    `  quarantined                         ${summary.quarantined}`,
    `  produced + other = stored + quarantined  ${check(others >= 0 && summary.bridged === summary.stored + summary.quarantined)}`,
    `  objects written                     ${summary.objectsWritten}`,
    `  objects notified                    ${summary.notifiedObjects}  ${check(summary.objectsWritten === summary.notifiedObjects)}`,
    `  committed to tables                 ${summary.committed} records in ${summary.commits} commits`,
    ...tables,
    summary.inTables === null
      ? "  stored records in a table           not checked (the tables are not read on this target)"
      : `  stored records in a table           ${summary.inTables}  ${check(summary.inTables === summary.stored)}`,
    `  DLQ                                 ${summary.dlq}  ${check(summary.dlq === 0)}`,
    ...(summary.committerDlq === null
      ? []
      : [
          `  committer DLQ                       ${summary.committerDlq}  ${check(summary.committerDlq === 0)}`,
        ]),
    `  records refused by a full shipper   ${summary.refused}`,
    `  left in the spool for the next run  ${summary.leftInSpool}`,
    `  drained                             ${summary.drained ? "yes" : "NO (timed out)"}`,
  ].join("\n");
}
