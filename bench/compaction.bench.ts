/**
 * Compaction of the busiest dataset-hour at a given rate, the real thing: the stock quotes of
 * one hour written to the local S3 as the processor writes them (one Parquet object of
 * `BENCH_FILE_RECORDS` records per packed message, with Iceberg statistics, from four shards),
 * committed into the table one commit a simulated minute, then compacted by `compactTable`
 * (what the maintenance function runs) in a process of its own, so that its peak memory is
 * compaction's alone: the OS's peak resident set (`maxRSS`, WebAssembly memory included) over
 * the process's resident set before compaction started. Also reports the phases (reading and
 * decoding the files; ordering, encoding and writing; committing) and checks the result: the
 * records out are the records in less the re-sent ones, and DuckDB reads the compacted files
 * back with each id once, in (symbol, ts, id) order; whether the files kept to the target size.
 *
 * At 5,000 events/s of the simulated market (12 FX pairs and 30 stocks a tick) the stock
 * quotes are 30/42 of the events: 12.9 M records an hour. The pipeline benchmark at that rate
 * wrote ~3.5 objects a second (bench/results/pipeline.json), one per dataset per bridge
 * invocation of ~3,000 events, so a stock object holds ~2,150 quotes: ~6,000 objects an hour.
 *
 *   npm run bench:compaction    writes bench/results/compaction.json
 *   BENCH_RATE=5000 (events/s, all datasets)   BENCH_FRACTIONS=0.25,1 (of that hour, one run each)
 *   BENCH_FILE_RECORDS=2150   BENCH_RESENT_PER_MILLE=1 (records the producer sent twice)
 */
import { fork } from "node:child_process";
import { writeFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { DuckDBInstance } from "@duckdb/node-api";
import { wasmMemory } from "parquet-wasm";
import { tableDeps } from "../src/aws/tables.ts";
import { type Envelope, envelopeOf } from "../src/core/events.ts";
import type { AnnouncedFile } from "../src/core/iceberg/commit.ts";
import { compactableRecords, DEFAULT_MAINTENANCE } from "../src/core/iceberg/compaction.ts";
import { compactTable } from "../src/core/iceberg/maintenance.ts";
import { commitFiles, ensureTable, type TableFileIO } from "../src/core/iceberg/table-ops.ts";
import { FX_PAIRS, STOCKS } from "../src/core/instruments.ts";
import { hourPartitionOf, lakeKeyFor } from "../src/core/layout.ts";
import { encodeDataFile } from "../src/core/parquet.ts";
import { MarketSimulator } from "../src/core/simulator.ts";
import { resourceSpec } from "../src/core/spec.ts";
import { startEmulators } from "../src/local/emulators.ts";
import { localClients } from "../src/local/pipeline.ts";
import type { Endpoints } from "../src/local/state.ts";
import { wholeNumberFromEnv } from "./support.ts";

const HOUR = 3_600_000;
const H1 = Date.UTC(2026, 10, 26, 14);
const BUCKET = "ticklake-bench-compaction";
const LAYER = { catalog: "local" as const, warehouse: `s3://${BUCKET}/tables`, namespace: "bench" };
const TABLE = { namespace: LAYER.namespace, name: "stock_quotes" };
const SOURCE = { service: "ticklake-webserver", instance: "bench" };
/** When compaction runs: the hour closed, as the schedule finds it. */
const compactAt = (hourMs: number) => hourMs + HOUR + 30 * 60_000;

interface ChildInput {
  endpoints: Endpoints;
  records: number;
  hourMs: number;
}

interface ChildReport {
  baselineRssMiB: number;
  peakRssMiB: number;
  wasmMemoryMiB: number;
  seconds: number;
  readSeconds: number;
  writeSeconds: number;
  commitSeconds: number;
  filesRead: number;
  bytesRead: number;
  result: Awaited<ReturnType<typeof compactTable>>;
  outputs: number[];
}

const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
const round = (value: number, digits = 1) => Number(value.toFixed(digits));

/** The child: compacts the table on the emulators it is given, and reports. */
async function compactInChild(input: ChildInput): Promise<ChildReport> {
  const layer = tableDeps(localClients(input.endpoints), LAYER);
  const io = layer.io;
  const marks = { firstRead: 0, lastRead: 0, firstWrite: 0, lastDataWrite: 0 };
  let filesRead = 0;
  let bytesRead = 0;
  const outputs: number[] = [];
  const timed: TableFileIO = {
    read: async (path) => {
      const bytes = await io.read(path);
      if (path.endsWith(".parquet")) {
        marks.firstRead ||= performance.now();
        marks.lastRead = performance.now();
        filesRead++;
        bytesRead += bytes.byteLength;
      }
      return bytes;
    },
    write: async (path, bytes) => {
      marks.firstWrite ||= performance.now();
      await io.write(path, bytes);
      if (path.endsWith(".parquet")) {
        marks.lastDataWrite = performance.now();
        outputs.push(bytes.byteLength);
      }
    },
    delete: (paths) => io.delete(paths),
    list: (prefix) => io.list(prefix),
  };
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  const started = performance.now();
  const result = await compactTable(
    { catalog: layer.catalog, io: timed, now: () => compactAt(input.hourMs) },
    TABLE,
    "stock_quotes",
  );
  const ended = performance.now();
  return {
    baselineRssMiB: mib(baseline),
    // getrusage's peak resident set, in KiB: sampling would miss it while the sort holds the thread.
    peakRssMiB: mib(process.resourceUsage().maxRSS * 1024),
    wasmMemoryMiB: mib(wasmMemory().buffer.byteLength),
    seconds: round((ended - started) / 1000),
    readSeconds: round((marks.lastRead - marks.firstRead) / 1000),
    writeSeconds: round((marks.lastDataWrite - marks.lastRead) / 1000),
    commitSeconds: round((ended - marks.lastDataWrite) / 1000),
    filesRead,
    bytesRead,
    result,
    outputs,
  };
}

if (process.env.BENCH_COMPACTION_CHILD) {
  const report = await compactInChild(JSON.parse(process.env.BENCH_COMPACTION_CHILD) as ChildInput);
  process.send?.(report, () => process.exit(0));
}

const RATE = wholeNumberFromEnv("BENCH_RATE", 5_000, 1, 1_000_000);
const PER_FILE = wholeNumberFromEnv("BENCH_FILE_RECORDS", 2_150, 1, 10_000_000);
const RESENT_PER_MILLE = wholeNumberFromEnv("BENCH_RESENT_PER_MILLE", 1, 0, 1_000);
const FRACTIONS = (process.env.BENCH_FRACTIONS ?? "0.25,1").split(",").map((text) => {
  const value = Number(text);
  if (!(value > 0 && value <= 1))
    throw new RangeError(
      `BENCH_FRACTIONS must be fractions of an hour in (0, 1] (got ${JSON.stringify(text)})`,
    );
  return value;
});
/** The stock quotes' share of the simulated market's events. */
const STOCK_SHARE = STOCKS.length / (STOCKS.length + FX_PAIRS.length);

/**
 * The hour's stock quotes, file by file as the processor writes them: ticks spread evenly over
 * the hour; one record in 1,000 / `RESENT_PER_MILLE` sent twice by the producer (a blind retry,
 * which lands in the next file).
 */
function* hourFiles(records: number, hourMs: number): Generator<{ events: Envelope[]; resent: number }> {
  const ticks = Math.ceil(records / STOCKS.length);
  const stepMs = HOUR / (ticks + 1);
  const every = RESENT_PER_MILLE > 0 ? Math.round(1000 / RESENT_PER_MILLE) : 0;
  const sim = new MarketSimulator({ seed: 5, startMs: hourMs });
  let pending: Envelope[] = [];
  let retries: Envelope[] = [];
  let resend: Envelope[] = [];
  let made = 0;
  for (let step = 1; step <= ticks && made < records; step++) {
    const atMs = hourMs + Math.floor(step * stepMs);
    for (const quote of sim.advance(atMs).stocks) {
      if (made === records) break;
      const event = envelopeOf("stock.quote", quote, SOURCE, atMs);
      pending.push(event);
      made++;
      if (every > 0 && made % every === 0) resend.push(event);
      if (pending.length === PER_FILE) {
        yield { events: [...pending, ...retries], resent: retries.length };
        pending = [];
        retries = resend;
        resend = [];
      }
    }
  }
  retries.push(...resend);
  if (pending.length + retries.length > 0) yield { events: [...pending, ...retries], resent: retries.length };
}

/** Writes the hour's objects (16 PUTs at a time) and commits them a minute's worth at a time. */
async function writeHour(endpoints: Endpoints, records: number, hourMs: number) {
  const clients = localClients(endpoints);
  const layer = tableDeps(clients, LAYER);
  const deps = { ...layer, now: () => compactAt(hourMs) - HOUR };
  await clients.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await ensureTable(deps, TABLE, "stock_quotes", layer.locationOf(TABLE));
  const files: AnnouncedFile[] = [];
  let written = 0;
  let resent = 0;
  let inFlight: Promise<unknown>[] = [];
  const sequence = [0, 0, 0, 0];
  const seq = (n: number) => `4959${String(n).padStart(52, "0")}`;
  for (const { events, resent: retries } of hourFiles(records, hourMs)) {
    const shard = files.length % 4;
    const shardId = `shardId-${String(shard).padStart(12, "0")}`;
    const firstSeq = seq((sequence[shard] as number) + 1);
    sequence[shard] = (sequence[shard] as number) + events.length;
    const identity = { stream: "ticklake-bench", shardId, firstSeq, lastSeq: seq(sequence[shard] as number) };
    const times = events.map((event) => event.ts).sort();
    const { body, stats } = encodeDataFile("stock_quotes", events, Date.parse(times[0] as string));
    const key = lakeKeyFor("stock_quotes", hourPartitionOf(hourMs), { ...identity, dataset: "stock_quotes" });
    files.push({
      path: `s3://${BUCKET}/${key}`,
      dataset: "stock_quotes",
      bytes: body.byteLength,
      records: events.length,
      minTime: times[0] as string,
      maxTime: times.at(-1) as string,
      source: identity,
      stats,
    });
    written += events.length;
    resent += retries;
    inFlight.push(clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body })));
    if (inFlight.length === 16) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
  const perCommit = Math.ceil(files.length / 60);
  for (let i = 0; i < files.length; i += perCommit) {
    const outcome = await commitFiles(deps, TABLE, files.slice(i, i + perCommit));
    if (outcome.kind !== "committed") throw new Error(`commit ${i / perCommit} was ${outcome.kind}`);
  }
  return {
    files: files.length,
    records: written,
    resent,
    bytes: files.reduce((sum, file) => sum + file.bytes, 0),
  };
}

/**
 * DuckDB (a reader nobody here wrote) over the compacted files in their order: rows, distinct
 * ids, and rows out of (symbol, ts, id) order against the row before.
 */
async function checkOutputs(endpoints: Endpoints, paths: readonly string[], dir: string) {
  const layer = tableDeps(localClients(endpoints), LAYER);
  const files: string[] = [];
  for (const [index, path] of paths.entries()) {
    const file = join(dir, `compacted-${String(index).padStart(4, "0")}.parquet`);
    await writeFile(file, await layer.io.read(path));
    files.push(file);
  }
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const list = files.map((file) => `'${file}'`).join(", ");
    const reader = await connection.runAndReadAll(`
      WITH ordered AS (
        SELECT symbol, ts, id,
          lag(symbol) OVER w AS ps, lag(ts) OVER w AS pt, lag(id) OVER w AS pi
        FROM read_parquet([${list}], filename = true, file_row_number = true)
        WINDOW w AS (ORDER BY filename, file_row_number))
      SELECT count(*)::BIGINT AS rows, count(DISTINCT id)::BIGINT AS ids,
        count(*) FILTER (WHERE symbol < ps OR (symbol = ps AND (ts < pt OR (ts = pt AND id <= pi))))::BIGINT AS disordered
      FROM ordered`);
    const [row] = reader.getRowObjectsJS();
    return { rows: Number(row?.rows), distinctIds: Number(row?.ids), outOfOrder: Number(row?.disordered) };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function runChild(input: ChildInput): Promise<ChildReport> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ["--import", "tsx", "--expose-gc"],
    env: { ...process.env, BENCH_COMPACTION_CHILD: JSON.stringify(input) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.once("message", (report) => resolve(report as ChildReport));
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`the compaction process exited with code ${code}`));
    });
  });
}

const hourRecords = Math.round(RATE * 3_600 * STOCK_SHARE);
const runs = [];
for (const [index, fraction] of FRACTIONS.entries()) {
  const records = Math.round(hourRecords * fraction);
  // Each run its own, later hour: ids are minted monotonic (a time before the last id's keeps
  // that id's time part), so a run in an hour already passed would get ids unlike a producer's.
  const hourMs = H1 + index * 2 * HOUR;
  const dir = await mkdtemp(join(tmpdir(), "ticklake-bench-compaction-"));
  const emulators = await startEmulators({ stateDir: dir });
  try {
    const loadBefore = loadavg()[0] as number;
    const writeStarted = performance.now();
    const input = await writeHour(emulators.endpoints, records, hourMs);
    const setupSeconds = round((performance.now() - writeStarted) / 1000);
    process.stderr.write(
      `${fraction} of the hour: wrote and committed ${input.files} objects in ${setupSeconds} s\n`,
    );
    const report = await runChild({ endpoints: emulators.endpoints, records, hourMs });
    const loadAfter = loadavg()[0] as number;
    const [compacted] = report.result;
    if (
      !compacted ||
      compacted.recordsIn !== input.records ||
      compacted.recordsOut !== input.records - input.resent
    )
      throw new Error(`compaction did not rewrite the hour as written: ${JSON.stringify(report.result)}`);
    const checked = await checkOutputs(
      emulators.endpoints,
      (compacted.notification?.files ?? []).map((file) => file.path),
      dir,
    );
    if (
      checked.rows !== compacted.recordsOut ||
      checked.distinctIds !== checked.rows ||
      checked.outOfOrder !== 0
    )
      throw new Error(`DuckDB reads the compacted hour otherwise: ${JSON.stringify(checked)}`);
    const largest = Math.max(...report.outputs);
    runs.push({
      fractionOfHour: fraction,
      records: input.records,
      resent: input.resent,
      inputFiles: input.files,
      inputBytes: input.bytes,
      setupSeconds,
      recordsOut: compacted.recordsOut,
      outputFiles: compacted.written,
      outputBytes: report.outputs.reduce((sum, bytes) => sum + bytes, 0),
      largestOutputBytes: largest,
      withinTarget: largest <= DEFAULT_MAINTENANCE.targetFileBytes,
      duckdb: checked,
      seconds: report.seconds,
      readSeconds: report.readSeconds,
      orderAndWriteSeconds: report.writeSeconds,
      commitSeconds: report.commitSeconds,
      recordsPerSecond: Math.round(input.records / report.seconds),
      baselineRssMiB: report.baselineRssMiB,
      peakRssMiB: report.peakRssMiB,
      wasmMemoryMiB: report.wasmMemoryMiB,
      peakBytesPerRecord: Math.round(((report.peakRssMiB - report.baselineRssMiB) * 2 ** 20) / input.records),
      loadAverage: { before: round(loadBefore), after: round(loadAfter) },
    });
    process.stderr.write(`${JSON.stringify(runs.at(-1))}\n`);
  } finally {
    await emulators.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const memoryMb = resourceSpec({ target: "aws" }).maintenance.memoryMb;
const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? "unknown",
  cores: cpus().length,
  rate: RATE,
  busiestDataset: "stock_quotes",
  hourRecords,
  recordsPerFile: PER_FILE,
  runs,
  lambda: { memoryMb, compactableRecords: compactableRecords(memoryMb) },
};
writeFileSync(new URL("./results/compaction.json", import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
