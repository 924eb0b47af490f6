/**
 * Freshness of the tables (issue 17): how long from an event's time until it is visible in its
 * Iceberg table, at steady rates, with the commit interval each run gives the committer. The
 * local pipeline is fed by the web server's worker-thread shipper, every event stamped with the
 * time it is sent.
 *
 * Visible means: the "table updated" notification of the snapshot that added the event's file
 * has arrived (the tap's `committedFiles`). The committer publishes it only after the
 * catalog's compare-and-swap made that snapshot current, so it is never early; it is late by
 * one SNS → SQS hop (the tap long-polls, so it receives a message as soon as it lands), which
 * makes the figures an upper bound by that hop. It is also the moment a subscriber (`sync`)
 * learns of the data. Polling each table's current metadata instead would add a polling
 * period's error and load the emulator with reads; the snapshot's own `timestamp-ms` is
 * stamped when the commit is planned, before its manifests are written, so it would be early.
 *
 * Latency is per event: after the run, every data file of each table's current snapshot is
 * read with DuckDB, and each event's `ts` is set against the arrival of its file's
 * notification, so p50, p99 and max are over events, not files. The same read is the ledger:
 * every event sent (warm-up included) must be in a table exactly once.
 *
 *   npm run bench:freshness    writes bench/results/freshness.json and freshness.md
 *
 * BENCH_RATES (events/s, comma-separated; default 100,5000), BENCH_COMMIT_INTERVALS (seconds,
 * comma-separated, 1-300; default the local spec's), BENCH_SECONDS (measured seconds a run,
 * default 120), BENCH_WARMUP_SECONDS (seconds shipped first and left out of the latencies,
 * so that cold starts are not counted; default 15) and BENCH_BRIDGE_WINDOWS (the bridge's
 * batching window, seconds, comma-separated, 0-300; default the local spec's) change the plan.
 * Every rate runs with every interval and window, each run on a fresh state folder with its
 * own emulators and pipeline.
 */
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { parseS3Uri } from "../src/aws/iceberg-s3.ts";
import { downloadObject, localPathOf } from "../src/aws/lake-mirror.ts";
import { ShipperWorker } from "../src/aws/shipper-worker.ts";
import { DATASETS } from "../src/core/events.ts";
import { scanTable } from "../src/core/iceberg/scan.ts";
import { BRIDGE_WINDOW_SECONDS, COMMIT_INTERVAL_SECONDS, resourceSpec } from "../src/core/spec.ts";
import { quantile } from "../src/core/stats.ts";
import { startEmulators } from "../src/local/emulators.ts";
import { LocalPipeline } from "../src/local/pipeline.ts";
import { NotificationTimes } from "../test/support/notification-times.ts";
import { freshnessMarkdown } from "./freshness-report.ts";
import { machineNoise } from "./noise.ts";
import { shipAtRate, simulatedEvents, until, wholeNumberFromEnv, wholeNumbersFromEnv } from "./support.ts";

const RATES = wholeNumbersFromEnv("BENCH_RATES", [100, 5_000], 1, 100_000);
const INTERVALS = wholeNumbersFromEnv("BENCH_COMMIT_INTERVALS", [COMMIT_INTERVAL_SECONDS.local], 1, 300);
const WINDOWS = wholeNumbersFromEnv("BENCH_BRIDGE_WINDOWS", [BRIDGE_WINDOW_SECONDS.local], 0, 300);
const SECONDS = wholeNumberFromEnv("BENCH_SECONDS", 120, 10, 3_600);
const WARMUP_SECONDS = wholeNumberFromEnv("BENCH_WARMUP_SECONDS", 15, 0, 600);
/** Goal (issue 17): p99 from event to visible at most the commit interval plus this. */
const GOAL_SLACK_MS = 2_000;
const DRAIN_TIMEOUT_MS = 180_000;

const duck = await (await DuckDBInstance.create(":memory:")).connect();
const pool = simulatedEvents(20_000, 17);
const ms = (value: number | undefined) => Math.round(value ?? Number.NaN);
const sql = (text: string) => `'${text.replaceAll("'", "''")}'`;

async function run(rate: number, intervalSeconds: number, bridgeWindowSeconds: number) {
  const dir = await mkdtemp(join(tmpdir(), "ticklake-bench-freshness-"));
  const spec = resourceSpec({ commitIntervalSeconds: intervalSeconds, bridgeWindowSeconds });
  const errors: Record<string, number> = {};
  const emulators = await startEmulators({ stateDir: dir });
  // No maintenance: a compaction would replace the run's files before they are read.
  const pipeline = await LocalPipeline.start({
    stateDir: dir,
    spec,
    endpoints: emulators.endpoints,
    maintenanceIntervalMs: 0,
    onError: (stage, error) => {
      errors[stage] = (errors[stage] ?? 0) + 1;
      if (errors[stage] === 1) console.error(`${stage}: ${error instanceof Error ? error.message : error}`);
    },
  });
  const notifications = new NotificationTimes().follow(pipeline.notifications);
  const shipper = new ShipperWorker({
    clientOptions: pipeline.clientOptions,
    streamName: pipeline.streamName,
    spoolDir: join(dir, "spool"),
  });
  try {
    const instance = `fresh-${rate}-${intervalSeconds}`;
    const loadBefore = loadavg()[0] ?? Number.NaN;
    const noise = machineNoise([process.pid, emulators.endpoints.pid]);
    await shipAtRate(shipper, pool, rate, WARMUP_SECONDS, {
      service: "ticklake-bench",
      instance: `${instance}-warmup`,
    });
    const measuredFrom = Date.now();
    await shipAtRate(shipper, pool, rate, SECONDS, { service: "ticklake-bench", instance });
    const producedUntil = Date.now();
    const flushed = await until(() => shipper.buffered === 0, DRAIN_TIMEOUT_MS);
    const drained = flushed && (await pipeline.drain(DRAIN_TIMEOUT_MS, shipper.stats.sent));
    const conditions = noise.end();
    const loadAfter = loadavg()[0] ?? Number.NaN;

    // Every data file of each table's current snapshot, and what it weighs.
    const files: Array<{ path: string; dataset: string; bytes: number }> = [];
    for (const dataset of DATASETS) {
      const scan = await scanTable(pipeline.tables, { namespace: pipeline.tables.namespace, name: dataset });
      for (const file of scan?.files ?? [])
        files.push({ path: file.filePath, dataset, bytes: file.fileSizeInBytes });
    }
    const cacheDir = join(dir, "mirror");
    for (let i = 0; i < files.length; i += 16) {
      await Promise.all(
        files.slice(i, i + 16).map(({ path }) => {
          const { bucket, key } = parseS3Uri(path);
          return downloadObject(pipeline.clients.s3, bucket, key, cacheDir);
        }),
      );
    }
    const byLocal = new Map(files.map((file) => [localPathOf(cacheDir, parseS3Uri(file.path).key), file]));
    const rows =
      files.length === 0
        ? []
        : (
            await duck.runAndReadAll(
              `SELECT filename, id, source_instance, epoch_ms(ts) AS ts
               FROM read_parquet([${[...byLocal.keys()].map(sql).join(", ")}], filename = true, union_by_name = true)
               WHERE source_instance IN (${sql(instance)}, ${sql(`${instance}-warmup`)})`,
            )
          ).getRowsJS();

    // The ledger: every event sent is in a table, once.
    const produced = shipper.stats.sent;
    const unique = new Set(rows.map(([, id]) => String(id))).size;
    // Per measured event: stored (its object announced) and visible (its snapshot announced).
    const { committed, objects: received } = notifications;
    const visible: number[] = [];
    const stored: number[] = [];
    let unannounced = 0;
    for (const [filename, , source, ts] of rows) {
      if (source !== instance) continue;
      const file = byLocal.get(String(filename));
      const committedAt = file && committed.get(file.path);
      if (committedAt === undefined) {
        unannounced++;
        continue;
      }
      visible.push(committedAt - Number(ts));
      const announcedAt = file && received.get(parseS3Uri(file.path).key);
      if (announcedAt !== undefined) stored.push(announcedAt - Number(ts));
    }
    const p99 = ms(quantile(visible, 0.99));
    const goalMs = intervalSeconds * 1_000 + GOAL_SLACK_MS;
    const lost = produced - unique;
    const duplicates = rows.length - unique;

    // The raw files the run committed, per dataset: at this rate, per dataset-hour.
    const runSeconds = (producedUntil - measuredFrom) / 1_000 + WARMUP_SECONDS;
    const layout = DATASETS.flatMap((dataset) => {
      const ofTable = files.filter((file) => file.dataset === dataset);
      if (ofTable.length === 0) return [];
      const bytes = ofTable.reduce((sum, file) => sum + file.bytes, 0);
      return [
        {
          dataset,
          files: ofTable.length,
          filesPerDatasetHour: Math.round((ofTable.length / runSeconds) * 3_600),
          bytesPerFile: Math.round(bytes / ofTable.length),
        },
      ];
    });
    const { tables } = pipeline.notifications.tally;
    return {
      eventsPerSecond: rate,
      commitIntervalSeconds: intervalSeconds,
      bridgeWindowSeconds,
      seconds: SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      produced,
      refused: shipper.stats.refused,
      inTables: rows.length,
      lost,
      duplicates,
      drained,
      measuredEvents: visible.length + unannounced,
      /** Events in a table whose snapshot's notification never arrived (left out of the latencies). */
      unannounced,
      visibleMs: {
        p50: ms(quantile(visible, 0.5)),
        p99,
        max: ms(quantile(visible, 1)),
      },
      /** The same events to their object's notification: what the table layer adds is the difference. */
      storedMs: { p50: ms(quantile(stored, 0.5)), p99: ms(quantile(stored, 0.99)) },
      goalMs,
      met: p99 <= goalMs && lost === 0 && duplicates === 0 && drained && unannounced === 0,
      commitsPerTable: Object.fromEntries(Object.entries(tables).map(([table, t]) => [table, t.commits])),
      committedFiles: files.length,
      layout,
      errors,
      loadAverage1m: { before: Number(loadBefore.toFixed(2)), after: Number(loadAfter.toFixed(2)) },
      ...conditions,
    };
  } finally {
    await shipper.close(10_000);
    await pipeline.stop();
    await emulators.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

type Run = Awaited<ReturnType<typeof run>>;

/** Writes the runs so far: each run is kept even if a later one fails. */
function writeResults(runs: readonly Run[]): string {
  writeFileSync(
    new URL("./results/freshness.json", import.meta.url),
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        command: "npm run bench:freshness",
        node: process.version,
        machine: "2 cores (emulators, pipeline and producer share them)",
        visibleMeans:
          "the arrival of the 'table updated' notification of the snapshot that added the event's file (published after the catalog's compare-and-swap)",
        goal: `p99 from event time to visible ≤ commit interval + ${GOAL_SLACK_MS / 1000} s`,
        runs,
      },
      null,
      2,
    )}\n`,
  );

  const md = freshnessMarkdown(runs);
  writeFileSync(new URL("./results/freshness.md", import.meta.url), `${md}\n`);
  return md;
}

const runs: Run[] = [];
try {
  for (const [intervalSeconds, windowSeconds] of INTERVALS.flatMap((i) =>
    WINDOWS.map((w) => [i, w] as const),
  )) {
    for (const rate of RATES) {
      const result = await run(rate, intervalSeconds, windowSeconds);
      runs.push(result);
      writeResults(runs);
      console.log(
        `${rate}/s, commit interval ${intervalSeconds} s, bridge window ${windowSeconds} s: visible p50 ${result.visibleMs.p50} ms, p99 ${result.visibleMs.p99} ms, max ${result.visibleMs.max} ms (goal ${result.goalMs} ms: ${result.met ? "met" : "NOT met"}); lost ${result.lost}, duplicates ${result.duplicates}, unannounced ${result.unannounced}; load ${result.loadAverage1m.before} → ${result.loadAverage1m.after}`,
      );
    }
  }
} finally {
  duck.closeSync();
}
console.log(writeResults(runs));
