/**
 * The local pipeline end to end, at rising rates until it saturates: simulated quotes shipped
 * by the web server's worker-thread shipper → Kinesis → bridge → SQS → processor → S3 → SNS,
 * all on this machine. For every step, a ledger of what was produced is compared with the
 * lake (read back with DuckDB): lost and duplicated records, end-to-end throughput in the
 * steady part of the step, latency per record from event time to its object's notification,
 * the rate of each stage, and the AWS requests the step made (for bench/cost.bench.ts).
 * The raw Kinesis emulator ceiling is measured in the same run.
 *
 *   npm run bench:pipeline     writes bench/results/pipeline.json, pipeline.md and pipeline.svg
 *
 * BENCH_RATES (events/s, comma-separated), BENCH_STEP_SECONDS, BENCH_SUSTAIN_SECONDS change the plan.
 */
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { ShipperFullError } from "../src/aws/errors.ts";
import { mirrorObjects } from "../src/aws/lake-mirror.ts";
import { ShipperWorker } from "../src/aws/shipper-worker.ts";
import { sleep } from "../src/core/backoff.ts";
import { type Envelope, envelopeOf } from "../src/core/events.ts";
import { LAKE_PREFIX } from "../src/core/layout.ts";
import { resourceSpec } from "../src/core/spec.ts";
import { quantile } from "../src/core/stats.ts";
import { startEmulators } from "../src/local/emulators.ts";
import { LocalPipeline } from "../src/local/pipeline.ts";
import { lineChart } from "./chart.ts";
import { createStream, rawPutRecordsCeiling, simulatedEvents, wholeNumberFromEnv } from "./support.ts";

const RATES = (process.env.BENCH_RATES ?? "1000,2500,5000,10000,20000,30000,40000,60000")
  .split(",")
  .map((rate) => {
    const value = Number(rate);
    if (!Number.isInteger(value) || value < 1)
      throw new RangeError(
        `BENCH_RATES must be whole numbers of events/s ≥ 1, comma-separated (got ${JSON.stringify(rate)})`,
      );
    return value;
  });
const STEP_SECONDS = wholeNumberFromEnv("BENCH_STEP_SECONDS", 20, 6, 3_600);
/** The rate the issue asks to sustain, and for how long. */
const SUSTAIN_RATE = 5_000;
const SUSTAIN_SECONDS = wholeNumberFromEnv("BENCH_SUSTAIN_SECONDS", 60, 6, 3_600);
const P99_TARGET_MS = 2_000;
/** The first seconds of a step, while queues fill, are left out of its steady-state rates. */
const WARMUP_SECONDS = 5;
const DRAIN_TIMEOUT_MS = 90_000;

const dir = await mkdtemp(join(tmpdir(), "ticklake-bench-pipeline-"));
const emulators = await startEmulators({ stateDir: dir });
const spec = resourceSpec();
const pipeline = await LocalPipeline.start({ stateDir: dir, spec, endpoints: emulators.endpoints });
const shipper = new ShipperWorker({
  clientOptions: pipeline.clientOptions,
  streamName: pipeline.streamName,
  spoolDir: join(dir, "spool"),
});
const cacheDir = join(dir, "mirror");
const duck = await (await DuckDBInstance.create(":memory:")).connect();

/** Every counter a step's report and the cost model need, at one moment. */
function counters() {
  const bridge = pipeline.bridge.stats;
  const processor = pipeline.processor.stats;
  const tally = pipeline.notifications.tally;
  return {
    atMs: Date.now(),
    produced: shipper.stats.sent,
    refused: shipper.stats.refused,
    putRecordsCalls: shipper.stats.putRecordsCalls,
    kinesisRecords: shipper.stats.kinesisRecords,
    kinesisBytes: shipper.stats.bytesSent,
    bridged: bridge.recordsDelivered,
    bridgeInvocations: bridge.invocations,
    bridgeBilledMs: pipeline.functions.bridge.billedMs,
    sqsMessages: bridge.resultTotals.messages ?? 0,
    sqsBytes: bridge.resultTotals.bytes ?? 0,
    sqsSendRequests: bridge.resultTotals.requests ?? 0,
    sqsSendBilledRequests: bridge.resultTotals.billedRequests ?? 0,
    sqsReceiveRequests: processor.receiveRequests,
    sqsReceiveBilledRequests: processor.billedReceiveRequests,
    sqsDeleteRequests: processor.deleteRequests,
    processorInvocations: processor.invocations,
    processorBilledMs: pipeline.functions.processor.billedMs,
    stored: tally.storedRecords,
    quarantined: tally.quarantinedRecords,
    objects: tally.objects,
    snsMessages: tally.messages,
  };
}
type Counters = ReturnType<typeof counters>;

const delta = (after: Counters, before: Counters) =>
  Object.fromEntries(
    Object.entries(after).map(([name, value]) => [name, value - (before[name as keyof Counters] ?? 0)]),
  ) as Counters;

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Per record of a step: its object's key and its latency from event time to notification. */
async function ledger(instance: string): Promise<Array<{ id: string; key: string; latencyMs: number }>> {
  await mirrorObjects(pipeline.clients.s3, pipeline.bucket, LAKE_PREFIX, cacheDir);
  const files = join(cacheDir, LAKE_PREFIX, "*", "*", "*", "*.parquet");
  const reader = await duck.runAndReadAll(
    `SELECT filename, id, epoch_ms(ts) AS ts FROM read_parquet('${files}', filename = true, union_by_name = true)
     WHERE source_instance = '${instance}'`,
  );
  const { received } = pipeline.notifications;
  return reader.getRowsJS().map(([filename, id, ts]) => {
    const key = String(filename).slice(cacheDir.length + 1);
    return { id: String(id), key, latencyMs: (received.get(key)?.receivedAtMs ?? Number.NaN) - Number(ts) };
  });
}

const pool = simulatedEvents(20_000, 11);

async function step(rate: number, seconds: number) {
  const instance = `rate-${rate}`;
  const source = { service: "ticklake-bench", instance };
  const before = counters();
  const samples: Counters[] = [before];
  const sampler = setInterval(() => samples.push(counters()), 1_000);
  const startedAt = Date.now();
  let shipped = 0;
  await new Promise<void>((resolve) => {
    const pacer = setInterval(() => {
      const elapsed = Date.now() - startedAt;
      const due = Math.floor((rate * Math.min(elapsed, seconds * 1_000)) / 1_000) - shipped;
      for (let i = 0; i < due; i++) {
        const { type, data } = pool[(shipped + i) % pool.length] as Envelope;
        try {
          shipper.ship(envelopeOf(type, data as never, source, Date.now()));
        } catch (error) {
          // Refused past the hand-over bound: counted in the shipper's stats, fails the step.
          if (!(error instanceof ShipperFullError)) throw error;
        }
      }
      shipped += due;
      if (elapsed >= seconds * 1_000) {
        clearInterval(pacer);
        resolve();
      }
    }, 5);
  });
  const producedUntil = Date.now();
  const flushed = await until(() => shipper.buffered === 0, DRAIN_TIMEOUT_MS);
  const drained = flushed && (await pipeline.drain(DRAIN_TIMEOUT_MS, shipper.stats.sent));
  clearInterval(sampler);
  const after = counters();
  const used = delta(after, before);

  const rows = await ledger(instance);
  // Bytes of the step's objects, for the storage line of the cost model.
  const { received } = pipeline.notifications;
  const keys = new Set(rows.map((row) => row.key));
  let lakeBytes = 0;
  for (const key of keys) lakeBytes += received.get(key)?.manifest.bytes ?? 0;
  const unique = new Set(rows.map((row) => row.id)).size;
  const latencies = rows.map((row) => row.latencyMs).filter((ms) => Number.isFinite(ms));
  const steadyFrom = startedAt + WARMUP_SECONDS * 1_000;
  const steadySeconds = (producedUntil - steadyFrom) / 1_000;
  const deliveredInWindow = rows.filter((row) => {
    const at = received.get(row.key)?.receivedAtMs ?? 0;
    return at >= steadyFrom && at <= producedUntil;
  }).length;
  const window = samples.filter((s) => s.atMs >= steadyFrom && s.atMs <= producedUntil);
  const stageRate = (pick: (c: Counters) => number) => {
    const [first, last] = [window[0], window.at(-1)];
    if (!first || !last || last.atMs === first.atMs) return 0;
    return Math.round((pick(last) - pick(first)) / ((last.atMs - first.atMs) / 1_000));
  };

  const result = {
    offeredPerSecond: rate,
    seconds,
    shipped,
    produced: used.produced,
    refused: used.refused,
    storedRows: rows.length,
    storedUnique: unique,
    lost: used.produced - unique,
    duplicates: rows.length - unique,
    drained,
    endToEndPerSecond: Math.round(deliveredInWindow / steadySeconds),
    latencyMs: {
      p50: Math.round(quantile(latencies, 0.5) ?? Number.NaN),
      p99: Math.round(quantile(latencies, 0.99) ?? Number.NaN),
      max: Math.round(quantile(latencies, 1) ?? Number.NaN),
    },
    stagePerSecond: {
      shipper: stageRate((c) => c.produced),
      bridge: stageRate((c) => c.bridged),
      processor: stageRate((c) => c.stored + c.quarantined),
      notifiedObjects: stageRate((c) => c.objects),
    },
    requests: used,
    lakeBytes,
    sustained: false,
  };
  result.sustained =
    result.lost === 0 &&
    result.duplicates === 0 &&
    result.refused === 0 &&
    drained &&
    result.endToEndPerSecond >= 0.95 * rate;
  return result;
}

type StepResult = Awaited<ReturnType<typeof step>>;
const steps: StepResult[] = [];
let ceiling = 0;
try {
  await createStream(pipeline.clients, "bench-raw", spec.stream.shardCount);
  ceiling = await rawPutRecordsCeiling(pipeline.clients, "bench-raw", simulatedEvents(50_000, 5));
  console.log(`raw PutRecords ceiling of the Kinesis emulator: ${ceiling} records/s`);
  for (const rate of RATES) {
    const seconds = rate === SUSTAIN_RATE ? SUSTAIN_SECONDS : STEP_SECONDS;
    const result = await step(rate, seconds);
    steps.push(result);
    console.log(
      `${rate}/s for ${seconds}s: end to end ${result.endToEndPerSecond}/s, lost ${result.lost}, duplicates ${result.duplicates}, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms${result.sustained ? "" : "  ← saturated"}`,
    );
    if (!result.sustained) break;
  }
} finally {
  await shipper.close(10_000);
  await pipeline.stop();
  await emulators.stop();
  duck.closeSync();
  await rm(dir, { recursive: true, force: true });
}

const sustained = steps.filter((s) => s.sustained);
const best = sustained.reduce<StepResult | undefined>(
  (top, s) => (!top || s.endToEndPerSecond > top.endToEndPerSecond ? s : top),
  undefined,
);
const target = steps.find((s) => s.offeredPerSecond === SUSTAIN_RATE);
const output = {
  date: new Date().toISOString(),
  node: process.version,
  machine: "2 cores (emulators, pipeline and producer share them)",
  rawPutRecordsCeilingPerSecond: ceiling,
  maxSustainedPerSecond: best?.endToEndPerSecond ?? 0,
  maxSustainedRatioToCeiling: Number(((best?.endToEndPerSecond ?? 0) / Math.max(1, ceiling)).toFixed(3)),
  target: {
    rate: SUSTAIN_RATE,
    seconds: SUSTAIN_SECONDS,
    p99Ms: P99_TARGET_MS,
    met: Boolean(target?.sustained && target.seconds >= 60 && target.latencyMs.p99 <= P99_TARGET_MS),
  },
  steps,
};
writeFileSync(new URL("./results/pipeline.json", import.meta.url), `${JSON.stringify(output, null, 2)}\n`);

const n = (value: number) => value.toLocaleString("en-US");
const md = [
  `Raw PutRecords ceiling of the Kinesis emulator (same run): **${n(ceiling)} records/s**. Highest sustained end-to-end rate: **${n(output.maxSustainedPerSecond)} events/s** = ${output.maxSustainedRatioToCeiling} × the ceiling.`,
  "",
  "| offered events/s | seconds | produced | stored unique | lost | duplicates | end-to-end events/s | ÷ ceiling | p50 ms | p99 ms | shipper/s | bridge/s | processor/s | objects/s | sustained |",
  `|${" --- |".repeat(15)}`,
  ...steps.map((s) =>
    [
      n(s.offeredPerSecond),
      s.seconds,
      n(s.produced),
      n(s.storedUnique),
      s.lost,
      s.duplicates,
      n(s.endToEndPerSecond),
      (s.endToEndPerSecond / Math.max(1, ceiling)).toFixed(3),
      n(s.latencyMs.p50),
      n(s.latencyMs.p99),
      n(s.stagePerSecond.shipper),
      n(s.stagePerSecond.bridge),
      n(s.stagePerSecond.processor),
      n(s.stagePerSecond.notifiedObjects),
      s.sustained ? "yes" : "**no**",
    ]
      .join(" | ")
      .replace(/^/, "| ")
      .concat(" |"),
  ),
].join("\n");
writeFileSync(new URL("./results/pipeline.md", import.meta.url), `${md}\n`);
writeFileSync(
  new URL("./results/pipeline.svg", import.meta.url),
  lineChart("offered events/s", [
    {
      title: "end-to-end throughput",
      unit: "events/s",
      points: steps.map((s) => ({ x: s.offeredPerSecond, y: s.endToEndPerSecond })),
      compare: {
        label: "offered",
        points: steps.map((s) => ({ x: s.offeredPerSecond, y: s.offeredPerSecond })),
      },
      reference: { y: ceiling, label: `raw emulator ceiling ${n(ceiling)}/s` },
    },
    {
      title: "latency p99, event time → notification",
      unit: "ms",
      points: steps.map((s) => ({ x: s.offeredPerSecond, y: s.latencyMs.p99 })),
      reference: { y: P99_TARGET_MS, label: "target 2 s" },
    },
  ]),
);
console.log(md);
