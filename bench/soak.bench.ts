/**
 * The soak: the whole local pipeline at a steady rate for a long time (default 5,000 events/s
 * for 30 minutes) while the fault suite's injectors strike in turn every few minutes — the
 * emulator process killed and restarted, the processor crashing before and after its S3 write,
 * S3 5xx bursts, Kinesis throttling, poison records. At the end the auditor's checks run over
 * the whole lake; every minute is sampled for latency, memory, descriptors and disk.
 *
 *   npm run bench:soak -- [--duration MINUTES] [--rate EVENTS_PER_S] [--fault-every SECONDS]
 *     writes bench/results/soak.json, soak.md and soak.svg
 *
 * (or BENCH_SOAK_MINUTES, BENCH_SOAK_RATE, BENCH_SOAK_FAULT_EVERY). The goals it checks: lost 0
 * and duplicate objects 0; no process's memory growing more than 10 % over the last two thirds
 * of the run (the last 20 of 30 minutes); p99 latency in the last third within 1.5× of the
 * first third. The audit is a list of checks (AUDIT_CHECKS); the table layer adds its own.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DuckDBInstance } from "@duckdb/node-api";
import { mirrorObjects } from "../src/aws/lake-mirror.ts";
import { queueDepth } from "../src/aws/pipeline-view.ts";
import { KinesisShipper } from "../src/aws/shipper.ts";
import { sleep } from "../src/core/backoff.ts";
import { LAKE_PREFIX } from "../src/core/layout.ts";
import { resourceSpec } from "../src/core/spec.ts";
import { type RunningEmulators, startEmulators } from "../src/local/emulators.ts";
import { collectGarbage } from "../src/local/full-collection.ts";
import { LocalPipeline, localClients } from "../src/local/pipeline.ts";
import { auditNotifications, auditQuarantine, overlappingObjects } from "../test/faults/audit.ts";
import { type FaultRule, faultsEnv, injectThrottling } from "../test/faults/inject.ts";
import { Ledger, putRecords } from "../test/faults/ledger.ts";
import { checkTables } from "../test/support/iceberg.ts";
import { listPipelineObjects } from "../test/support/local-aws.ts";
import { NotificationTimes } from "../test/support/notification-times.ts";
import { lineChart } from "./chart.ts";
import { HEAP_DIR_ENV, LIVE_HEAP_EVERY_MS } from "./soak/heap-report.ts";
import { shipAtRate, simulatedEvents } from "./support.ts";

// ---- plan

const { values: flags } = parseArgs({
  options: { duration: { type: "string" }, rate: { type: "string" }, "fault-every": { type: "string" } },
  strict: true,
});

function numberOption(
  flag: keyof typeof flags,
  env: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const text = flags[flag] ?? process.env[env];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max)
    throw new RangeError(
      `--${flag} (${env}) must be a number from ${min} to ${max} (got ${JSON.stringify(text)})`,
    );
  return value;
}

const MINUTES = numberOption("duration", "BENCH_SOAK_MINUTES", 30, 1, 24 * 60);
const RATE = Math.round(numberOption("rate", "BENCH_SOAK_RATE", 5_000, 1, 100_000));
const FAULT_EVERY_S = numberOption("fault-every", "BENCH_SOAK_FAULT_EVERY", 240, 20, 3_600);
const SAMPLE_MS = Math.min(60_000, (MINUTES * 60_000) / 6);
/**
 * Processor timeout 10 s (the deployed one is 60 s): a failed or crashed batch is back after its
 * 60 s visibility timeout, so a run of minutes drains. At 3 s, a short run at 1,000 events/s on
 * this loaded machine timed out 66 invocations and parked 34 messages: an environment discarded
 * after a timeout is replaced by a cold one (about 3.5 s of CPU to load the processor through
 * tsx), whose first invocation ran past 3 s again, and the cold starts took the CPU the warm
 * invocations needed.
 */
const PROCESSOR_TIMEOUT_SECONDS = 10;
const FAULT_WINDOW_MS = 20_000;
/**
 * A crash returns every message of its batch, so a message meets one crash per picked object
 * in its batches: without a limit a 20 s window at 5,000 events/s parks messages in the DLQ by
 * design. Below maxReceiveCount (5), as in the fault experiments.
 */
const CRASHES_PER_WINDOW = 3;
const DRAIN_TIMEOUT_MS = 300_000;
const FAULT_KINDS = [
  "emulator killed and restarted",
  "processor crashes before its S3 write",
  "S3 5xx burst",
  "processor crashes after its S3 write",
  "Kinesis throttling",
  "poison records",
] as const;
type FaultKind = (typeof FAULT_KINDS)[number];

const startedAt = Date.now() + 15_000; // after the start-up below
const endsAt = startedAt + MINUTES * 60_000;
/** Faults strike every FAULT_EVERY_S, the last at least two minutes before the end. */
const schedule: Array<{ kind: FaultKind; atMs: number }> = [];
for (let at = startedAt + FAULT_EVERY_S * 1_000; at <= endsAt - 120_000; at += FAULT_EVERY_S * 1_000)
  schedule.push({ kind: FAULT_KINDS[schedule.length % FAULT_KINDS.length] as FaultKind, atMs: at });
const windowOf = (kind: FaultKind) => schedule.filter((f) => f.kind === kind);
const rules: FaultRule[] = [
  ...windowOf("processor crashes before its S3 write").map((f) => ({
    service: "s3" as const,
    command: "PutObjectCommand",
    effect: "crash-before" as const,
    share: 0.3,
    once: true,
    limit: CRASHES_PER_WINDOW,
    startsAtMs: f.atMs,
    durationMs: FAULT_WINDOW_MS,
  })),
  ...windowOf("processor crashes after its S3 write").map((f) => ({
    service: "s3" as const,
    command: "PutObjectCommand",
    effect: "crash-after" as const,
    share: 0.3,
    once: true,
    limit: CRASHES_PER_WINDOW,
    startsAtMs: f.atMs,
    durationMs: FAULT_WINDOW_MS,
  })),
  ...windowOf("S3 5xx burst").map((f) => ({
    service: "s3" as const,
    command: "PutObjectCommand",
    effect: "fail" as const,
    share: 0.5,
    once: true,
    startsAtMs: f.atMs,
    durationMs: FAULT_WINDOW_MS,
  })),
];
const throttled = (now: number) =>
  windowOf("Kinesis throttling").some((f) => now >= f.atMs && now < f.atMs + FAULT_WINDOW_MS);

// ---- the world

const dir = await mkdtemp(join(tmpdir(), "ticklake-soak-"));
const heapDir = join(dir, "heap");
const faultsDir = join(dir, "faults");
await mkdir(heapDir);
await mkdir(faultsDir);
const spec = resourceSpec({ stage: "soak", processorTimeoutSeconds: PROCESSOR_TIMEOUT_SECONDS });
const functions = {
  processor: new URL("./soak/processor.ts", import.meta.url),
  bridge: new URL("./soak/bridge.ts", import.meta.url),
  env: { ...faultsEnv(rules, faultsDir), [HEAP_DIR_ENV]: heapDir },
};
let emulators: RunningEmulators = await startEmulators({ stateDir: dir });
const ports = {
  kinesisPort: Number(new URL(emulators.endpoints.kinesis).port),
  awsPort: Number(new URL(emulators.endpoints.s3).port),
};
/** The stages' failures by kind (timed out, crashed, other): what a DLQ at the end comes from. */
const failures: Record<string, number> = {};
const onError = (stage: string, error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  const kind = /timed out/.test(message)
    ? "timed out"
    : /crashed|runtime exited/.test(message)
      ? "crashed"
      : "other";
  failures[`${stage} ${kind}`] = (failures[`${stage} ${kind}`] ?? 0) + 1;
};
const pipelineOptions = () => ({ stateDir: dir, spec, endpoints: emulators.endpoints, functions, onError });
let pipeline = await LocalPipeline.start(pipelineOptions());
/** First notification per object, over every pipeline the soak started. */
const notifications = new NotificationTimes().follow(pipeline.notifications);
const notifiedAt = notifications.objects;
// The producer: the web server's shipper, on this thread, so that throttling can reach its client.
const producerClients = localClients(emulators.endpoints);
const throttledRecords = injectThrottling(producerClients.kinesis, 0.3, () => throttled(Date.now()));
const shipper = new KinesisShipper({
  kinesis: producerClients.kinesis,
  streamName: pipeline.streamName,
  spoolDir: join(dir, "spool"),
});
const poison = new Ledger(7);
const injected: Array<{ kind: FaultKind; atMs: number; note?: string }> = [];

// ---- per-minute samples

/** NaN while the process is being restarted. */
function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return Number(match?.[1] ?? Number.NaN) * 1_024;
}
const fdsOf = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const orNaN = (read: () => number) => {
  try {
    return read();
  } catch {
    return Number.NaN;
  }
};
const diskBytes = (path: string) =>
  Number(spawnSync("du", ["-sb", path], { encoding: "utf8" }).stdout.split("\t")[0]);
/**
 * The function pool's environments of a role that measured their live heap lately (within an
 * interval and a half): the mean per environment and how many. Per environment, because that
 * is what a leak grows and what each Lambda environment's memory limit bounds; how many there
 * are follows the load and the crashes. NaN when none reported.
 */
function poolHeap(role: "processor" | "bridge"): { meanLive: number; environments: number } {
  const live: number[] = [];
  for (const name of readdirSync(heapDir).filter((n) => n.startsWith(`${role}-`) && n.endsWith(".json"))) {
    const figure = JSON.parse(readFileSync(join(heapDir, name), "utf8")) as {
      atMs: number;
      liveHeapUsed: number;
    };
    if (Date.now() - figure.atMs < 1.5 * LIVE_HEAP_EVERY_MS) live.push(figure.liveHeapUsed);
  }
  const meanLive = live.length > 0 ? live.reduce((a, b) => a + b, 0) / live.length : Number.NaN;
  return { meanLive, environments: live.length };
}

const MiB = 2 ** 20;
/**
 * Memory. Processes' RSS every few seconds: a single sample catches a process in the middle of
 * a batch, so each minute's row keeps the floor of its samples, the memory the process holds on
 * to, which is what grows when something leaks. Heaps: the floor of such samples still holds
 * the garbage of the last collections (V8 lets it grow with the heap, and a minute may see no
 * full collection), so the heaps are measured live, right after a full collection: the request
 * thread's at each row, the host's and each function environment's every LIVE_HEAP_EVERY_MS.
 */
const MEMORY_EVERY_MS = 5_000;
const RSS_SERIES = ["pipelineProcessRssMiB", "emulatorHostRssMiB"] as const;
const HEAP_SERIES = [
  "requestThreadHeapMiB",
  "processorHeapMiB",
  "bridgeHeapMiB",
  "emulatorHostHeapMiB",
] as const;
const MEMORY_SERIES = [...RSS_SERIES, ...HEAP_SERIES] as const;
type RssSeries = (typeof RSS_SERIES)[number];
const memorySamples: Array<Record<RssSeries, number> & { maintenance: boolean }> = [];
/** The emulator host's live heap as it last reported it over IPC. */
let hostHeap: { atMs: number; liveHeapUsed: number } | undefined;
function askHostHeap(): void {
  emulators.memory({ afterFullCollection: true }).then(
    ({ heapUsed }) => {
      hostHeap = { atMs: Date.now(), liveHeapUsed: heapUsed };
    },
    () => {}, // restarting: no figure until it is back
  );
}
function sampleMemory(): void {
  memorySamples.push({
    pipelineProcessRssMiB: process.memoryUsage.rss() / MiB,
    emulatorHostRssMiB: orNaN(() => rssOf(emulators.endpoints.pid)) / MiB,
    // Table maintenance runs in its own environment, which holds up to the maintenance
    // function's memory (8 GiB on AWS, its own Lambda) while it compacts and is shut down a
    // little after: its samples count towards the peak, not the floor.
    maintenance: pipeline.functions.maintenance.environments > 0,
  });
}
const minOf = (xs: number[]) => (xs.length > 0 ? Math.min(...xs) : Number.NaN);
const maxOf = (xs: number[]) => (xs.length > 0 ? Math.max(...xs) : Number.NaN);
const samples: Array<Record<string, number>> = [];
/** One row a minute: the RSS floors (maintenance excluded), the pipeline's peak, the live heaps. */
function sample(): void {
  sampleMemory();
  const window = memorySamples.splice(0);
  const steady = window.filter((s) => !s.maintenance);
  const floors = Object.fromEntries(
    RSS_SERIES.map((name) => [name, minOf(steady.map((s) => s[name]).filter(Number.isFinite))]),
  );
  collectGarbage();
  const processor = poolHeap("processor");
  const bridge = poolHeap("bridge");
  samples.push({
    minute: Number(((Date.now() - startedAt) / 60_000).toFixed(2)),
    ...floors,
    requestThreadHeapMiB: process.memoryUsage().heapUsed / MiB,
    processorHeapMiB: processor.meanLive / MiB,
    processorEnvironments: processor.environments,
    bridgeHeapMiB: bridge.meanLive / MiB,
    emulatorHostHeapMiB:
      hostHeap && Date.now() - hostHeap.atMs < 1.5 * LIVE_HEAP_EVERY_MS
        ? hostHeap.liveHeapUsed / MiB
        : Number.NaN,
    pipelineProcessPeakRssMiB: maxOf(window.map((s) => s.pipelineProcessRssMiB)),
    maintenanceSamples: window.length - steady.length,
    pipelineProcessFds: fdsOf(process.pid),
    emulatorHostFds: orNaN(() => fdsOf(emulators.endpoints.pid)),
    kinesisDiskMiB: diskBytes(join(dir, "kinesis")) / MiB,
    s3DiskMiB: diskBytes(join(dir, "s3")) / MiB,
  });
  // As it goes: a run that fails at the end keeps its minutes in the console.
  console.log(JSON.stringify(samples.at(-1), (_, v) => (typeof v === "number" ? Number(v.toFixed(1)) : v)));
}

// ---- faults that are actions, not middleware rules

/**
 * Records the bridges of earlier pipelines delivered: each pipeline's bridge counts its own, so
 * the drain at the end waits for the rest (a restart's replay may count some twice: at least).
 */
let deliveredBeforeRestarts = 0;

async function restartEmulators(): Promise<void> {
  deliveredBeforeRestarts += pipeline.bridge.stats.recordsDelivered;
  await pipeline.abandon();
  await emulators.kill();
  emulators = await startEmulators({ stateDir: dir, ...ports });
  pipeline = await LocalPipeline.start(pipelineOptions());
  notifications.follow(pipeline.notifications);
}

async function strike(kind: FaultKind): Promise<string | undefined> {
  if (kind === "emulator killed and restarted") {
    const began = Date.now();
    await restartEmulators();
    return `back in ${Date.now() - began} ms`;
  }
  if (kind === "poison records") {
    const texts = (["invalid-json", "schema", "late", "future"] as const).flatMap((k) =>
      poison.makePoison(k, 5, spec.bridge.maxMessageBytes),
    );
    await putRecords(pipeline.clients, pipeline.streamName, texts);
    return `${texts.length} records`;
  }
  return undefined; // middleware rules, already armed for their windows
}

// ---- run

const pool = simulatedEvents(20_000, 13);
const source = { service: "ticklake-soak", instance: "soak" };
console.log(
  `soak: ${RATE} events/s for ${MINUTES} min, a fault every ${FAULT_EVERY_S} s (${schedule.length}: ${schedule.map((f) => f.kind).join(", ")})`,
);
await sleep(Math.max(0, startedAt - Date.now()));
const memorySampler = setInterval(sampleMemory, Math.min(MEMORY_EVERY_MS, SAMPLE_MS / 2));
const hostHeapSampler = setInterval(askHostHeap, LIVE_HEAP_EVERY_MS);
askHostHeap();
const sampler = setInterval(sample, SAMPLE_MS);
// The producer ships on its own while the faults strike.
const shipping = shipAtRate(shipper, pool, RATE, MINUTES * 60, source);
for (const fault of schedule) {
  await sleep(Math.max(0, fault.atMs - Date.now()));
  const note = await strike(fault.kind);
  injected.push({ kind: fault.kind, atMs: fault.atMs, ...(note ? { note } : {}) });
  console.log(
    `${((Date.now() - startedAt) / 60_000).toFixed(1)} min: ${fault.kind}${note ? ` (${note})` : ""}`,
  );
}
const shipped = await shipping;
const refused = shipper.stats.refused;
sample();
clearInterval(sampler);
clearInterval(memorySampler);
clearInterval(hostHeapSampler);
await shipper.flush();
// Comparing the last bridge's count with everything sent, the drain could never end after a
// restart: it waited its whole 5 minutes and reported "not drained" with nothing missing.
const drained = await pipeline.drain(
  DRAIN_TIMEOUT_MS,
  Math.max(0, shipper.stats.sent - deliveredBeforeRestarts),
);
const drainPending = pipeline.drainPending;
if (!drained) console.log(`the drain ran out of time waiting for: ${drainPending.join("; ")}`);

// ---- audit: a list of checks, each adding figures

interface AuditContext {
  keys: string[];
  duck: Awaited<ReturnType<DuckDBInstance["connect"]>>;
  mirror: string;
}
type AuditCheck = (context: AuditContext) => Promise<Record<string, number>>;
const { s3 } = pipeline.clients;
const bucket = pipeline.resources.bucket;
const AUDIT_CHECKS: Record<string, AuditCheck> = {
  async records({ duck, mirror }) {
    const files = join(mirror, LAKE_PREFIX, "*", "*", "*", "*.parquet");
    const reader = await duck.runAndReadAll(
      `SELECT count(*) AS rows, count(DISTINCT id) AS ids FROM read_parquet('${files}', union_by_name = true)
       WHERE source_service = '${source.service}'`,
    );
    const [rows = 0, ids = 0] = (reader.getRowsJS()[0] ?? []).map(Number);
    return {
      sent: shipper.stats.sent,
      storedUnique: ids,
      lost: shipper.stats.sent - ids,
      duplicateRecords: rows - ids,
    };
  },
  async objects({ keys }) {
    return { duplicateObjects: overlappingObjects(keys), ...auditNotifications(keys, notifiedAt) };
  },
  async quarantine({ keys }) {
    return {
      injected: poison.poison.length,
      ...(await auditQuarantine(
        s3,
        bucket,
        keys,
        poison.poison.map((p) => p.marker),
      )),
    };
  },
  async dlq() {
    const depth = await queueDepth(pipeline.clients, pipeline.resources.dlqUrl);
    return { dlq: depth.visible + depth.inFlight };
  },
  /**
   * The tables as pyiceberg reads them (an independent implementation): the current snapshot's
   * files, then their ids with DuckDB against the lake's. Every stored record in its table
   * once, nothing else there, no file listed twice: after compaction too, which replaces the
   * processor's files with its own.
   */
  async tables({ duck, mirror }) {
    const { tables } = pipeline;
    const datasets = readdirSync(join(mirror, LAKE_PREFIX)).sort();
    const checked = await checkTables(
      emulators.endpoints.s3,
      datasets.map((name) => ({ location: tables.locationOf({ namespace: tables.namespace, name }) })),
      { ids: false },
    );
    const paths = checked.flatMap((table) => table.files.map((file) => file.path));
    const keyOf = (path: string) => new URL(path).pathname.slice(1);
    for (const table of checked) await mirrorObjects(s3, bucket, `${keyOf(table.location)}/data/`, mirror);
    const files = paths.map((path) => `'${join(mirror, keyOf(path))}'`).join(", ");
    const reader = await duck.runAndReadAll(
      `WITH tabled AS (SELECT id FROM read_parquet([${files}], union_by_name = true)),
            lake AS (SELECT DISTINCT id FROM read_parquet('${join(mirror, LAKE_PREFIX, "*", "*", "*", "*.parquet")}', union_by_name = true))
       SELECT (SELECT count(*) FROM tabled), (SELECT count(DISTINCT id) FROM tabled),
              (SELECT count(*) FROM lake ANTI JOIN tabled USING (id)),
              (SELECT count(*) FROM (SELECT DISTINCT id FROM tabled) ANTI JOIN lake USING (id))`,
    );
    const [rows = 0, ids = 0, notInTables = 0, notInLake = 0] = (reader.getRowsJS()[0] ?? []).map(Number);
    return {
      tableSnapshots: checked.reduce((sum, table) => sum + table.snapshots.length, 0),
      tableFiles: paths.length,
      tableFilesListedTwice: paths.length - new Set(paths).size,
      tableRecords: rows,
      tableRecordsTwice: rows - ids,
      storedNotInTables: notInTables,
      tableIdsNotInLake: notInLake,
    };
  },
};

const mirror = join(dir, "mirror");
await mirrorObjects(s3, bucket, LAKE_PREFIX, mirror);
const duck = await (await DuckDBInstance.create(":memory:")).connect();
const keys = await listPipelineObjects(s3, bucket);
const auditReport: Record<string, number> = {};
for (const check of Object.values(AUDIT_CHECKS))
  Object.assign(auditReport, await check({ keys, duck, mirror }));

// Latency per minute of event time: event time → its object's first notification.
await duck.run("CREATE TABLE notified (key VARCHAR, at_ms BIGINT)");
const appender = await duck.createAppender("notified");
for (const [key, at] of notifiedAt) {
  appender.appendVarchar(key);
  appender.appendBigInt(BigInt(at));
  appender.endRow();
}
appender.closeSync();
const perMinute = (
  await duck.runAndReadAll(
    `WITH rows AS (
       SELECT epoch_ms(ts) AS ts_ms, substr(filename, ${mirror.length + 2}) AS key
       FROM read_parquet('${join(mirror, LAKE_PREFIX, "*", "*", "*", "*.parquet")}', filename = true, union_by_name = true)
       WHERE source_service = '${source.service}')
     SELECT floor((ts_ms - ${startedAt}) / 60000)::INTEGER AS minute,
            count(*) AS events,
            quantile_cont(notified.at_ms - ts_ms, 0.5) AS p50,
            quantile_cont(notified.at_ms - ts_ms, 0.99) AS p99
     FROM rows JOIN notified USING (key) GROUP BY minute ORDER BY minute`,
  )
)
  .getRowsJS()
  .map(([minute, events, p50, p99]) => ({
    minute: Number(minute),
    events: Number(events),
    p50Ms: Math.round(Number(p50)),
    p99Ms: Math.round(Number(p99)),
  }));
duck.closeSync();

// ---- goals

const third = Math.max(1, Math.floor(perMinute.length / 3));
const p99Of = (rows: typeof perMinute) => Math.max(...rows.map((r) => r.p99Ms));
const firstP99 = p99Of(perMinute.slice(0, third));
const lastP99 = p99Of(perMinute.slice(-third));
/** Growth over the last two thirds: the mean of its last three floors against its first three. */
const windowSamples = samples.filter((s) => (s.minute ?? 0) >= MINUTES / 3);
const growth = Object.fromEntries(
  MEMORY_SERIES.map((name) => {
    const values = windowSamples.map((s) => s[name] ?? Number.NaN).filter(Number.isFinite);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const first = mean(values.slice(0, 3));
    return [name, Number(((mean(values.slice(-3)) - first) / first).toFixed(3))];
  }),
);
const maintenanceRows = samples.filter((s) => (s.maintenanceSamples ?? 0) > 0);
const maintenancePeakMiB =
  maintenanceRows.length > 0
    ? Math.max(...maintenanceRows.map((s) => s.pipelineProcessPeakRssMiB ?? 0))
    : undefined;
const goals = {
  nothingLost: auditReport.lost === 0 && refused === 0,
  noDuplicateObjects: auditReport.duplicateObjects === 0,
  tablesExact:
    auditReport.tableFilesListedTwice === 0 &&
    auditReport.tableRecordsTwice === 0 &&
    auditReport.storedNotInTables === 0 &&
    auditReport.tableIdsNotInLake === 0,
  memoryFlat: Object.values(growth).every((g) => Number.isFinite(g) && g <= 0.1),
  p99Steady: lastP99 <= 1.5 * firstP99,
};
const output = {
  date: new Date().toISOString(),
  node: process.version,
  machine: "2 cores, shared",
  command: `npm run bench:soak -- --duration ${MINUTES} --rate ${RATE} --fault-every ${FAULT_EVERY_S}`,
  minutes: MINUTES,
  rate: RATE,
  shipped,
  refused,
  drained,
  drainPending,
  throttledRecords: throttledRecords(),
  faults: injected.map((f) => ({ ...f, minute: Number(((f.atMs - startedAt) / 60_000).toFixed(1)) })),
  audit: auditReport,
  failures,
  p99: { firstThirdMs: firstP99, lastThirdMs: lastP99 },
  memoryGrowthOverLastTwoThirds: growth,
  maintenancePeakRssMiB: maintenancePeakMiB,
  goals,
  met: Object.values(goals).every(Boolean),
  perMinute,
  samples: samples.map((s) =>
    Object.fromEntries(Object.entries(s).map(([k, v]) => [k, Number(v.toFixed(1))])),
  ),
};
writeFileSync(new URL("./results/soak.json", import.meta.url), `${JSON.stringify(output, null, 2)}\n`);

const yes = (ok: boolean) => (ok ? "met" : "**not met**");
const md = [
  `\`${output.command}\`: ${shipped.toLocaleString("en-US")} events over ${MINUTES} min, ${injected.length} faults (${output.faults.map((f) => `${f.minute} min: ${f.kind}`).join("; ")}).`,
  "",
  "| lost | duplicate records | duplicate objects | quarantined / injected (found) | objects / notified | DLQ | drained |",
  "| --- | --- | --- | --- | --- | --- | --- |",
  `| ${auditReport.lost} | ${auditReport.duplicateRecords} | ${auditReport.duplicateObjects} | ${auditReport.quarantined} / ${auditReport.injected} (${auditReport.quarantinedInjected}) | ${auditReport.objects} / ${auditReport.notifiedObjects} | ${auditReport.dlq} | ${drained ? "yes" : `**no**: waiting for ${drainPending.join("; ")}`} |`,
  "",
  "Tables, read by pyiceberg (current snapshots) and DuckDB:",
  "",
  "| snapshots | files | files listed twice | records | records twice | stored, not in a table | in a table, not stored |",
  "| --- | --- | --- | --- | --- | --- | --- |",
  `| ${auditReport.tableSnapshots} | ${auditReport.tableFiles} | ${auditReport.tableFilesListedTwice} | ${auditReport.tableRecords} | ${auditReport.tableRecordsTwice} | ${auditReport.storedNotInTables} | ${auditReport.tableIdsNotInLake} |`,
  "",
  `Stage failures, each retried: ${
    Object.entries(failures)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ") || "none"
  }.`,
  "",
  `Goals: lost 0 and duplicate objects 0 — ${yes(goals.nothingLost && goals.noDuplicateObjects)}; every stored record in its table once — ${yes(goals.tablesExact)}; memory flat over the last two thirds (≤ 10 %: ${Object.entries(
    growth,
  )
    .map(([k, g]) => `${k} ${(g * 100).toFixed(1)} %`)
    .join(
      ", ",
    )}) — ${yes(goals.memoryFlat)}; p99 of the last third ${lastP99} ms within 1.5× of the first third's ${firstP99} ms — ${yes(goals.p99Steady)}.`,
  "",
  "| minute | events | p50 ms | p99 ms |",
  "| --- | --- | --- | --- |",
  ...perMinute.map((r) => `| ${r.minute} | ${r.events} | ${r.p50Ms} | ${r.p99Ms} |`),
  "",
  `Memory: RSS is each minute's floor of samples every ${MEMORY_EVERY_MS / 1000} s, without those taken while table maintenance had an environment (its own Lambda on AWS). Heaps are live, measured right after a full collection: the request thread's at each row, the emulator host's and each function environment's every ${LIVE_HEAP_EVERY_MS / 1000} s; the processor's is the mean of its environments. Peak RSS of the pipeline process while maintenance ran: ${maintenancePeakMiB === undefined ? "no run in this soak" : `${maintenancePeakMiB.toFixed(0)} MiB`}.`,
  "",
  "| minute | pipeline process RSS MiB (peak) | request thread heap MiB | processor heap MiB (environments) | bridge heap MiB | emulator host RSS MiB | emulator host heap MiB | fds (pipeline / host) | Kinesis disk MiB | S3 disk MiB |",
  `|${" --- |".repeat(10)}`,
  ...output.samples.map(
    (s) =>
      `| ${s.minute}${s.maintenanceSamples ? " (maintenance)" : ""} | ${s.pipelineProcessRssMiB} (${s.pipelineProcessPeakRssMiB}) | ${s.requestThreadHeapMiB} | ${s.processorHeapMiB} (${s.processorEnvironments}) | ${s.bridgeHeapMiB} | ${s.emulatorHostRssMiB} | ${s.emulatorHostHeapMiB} | ${s.pipelineProcessFds} / ${s.emulatorHostFds} | ${s.kinesisDiskMiB} | ${s.s3DiskMiB} |`,
  ),
].join("\n");
writeFileSync(new URL("./results/soak.md", import.meta.url), `${md}\n`);
const series = (name: string) => output.samples.map((s) => ({ x: s.minute ?? 0, y: s[name] ?? 0 }));
writeFileSync(
  new URL("./results/soak.svg", import.meta.url),
  lineChart("minute", [
    {
      title: "latency p99, event time → notification",
      unit: "ms",
      points: perMinute.map((r) => ({ x: r.minute, y: r.p99Ms })),
      compare: { label: "p50", points: perMinute.map((r) => ({ x: r.minute, y: r.p50Ms })) },
    },
    {
      title: "pipeline process RSS (request thread, shipper, function pool)",
      unit: "MiB",
      points: series("pipelineProcessRssMiB"),
    },
    {
      title: "emulator host RSS",
      unit: "MiB",
      points: series("emulatorHostRssMiB"),
      compare: { label: "live heap", points: series("emulatorHostHeapMiB") },
    },
    { title: "processor heap, live, per environment", unit: "MiB", points: series("processorHeapMiB") },
  ]),
);
console.log(md);

await shipper.close();
producerClients.destroy();
await pipeline.stop();
await emulators.stop();
await rm(dir, { recursive: true, force: true });
process.exit(output.met ? 0 : 1);
