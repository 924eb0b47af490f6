/**
 * Query time over raw objects against the same data compacted into the tables, in the same
 * run. Two hours of simulated FX quotes, stock quotes and news are written to the local S3 as
 * the processor writes them (one small Parquet object per packed message, `BENCH_OBJECT_RECORDS`
 * records each, at least `BENCH_OBJECTS` objects), committed into one table per dataset, then
 * compacted. The worked queries of docs/queries.md (`QUERY_EXAMPLES`) then run through
 * `runQuery`, as `ticklake query` runs them, against the snapshot before compaction (`--as-of`:
 * the raw objects) and the current one (the compacted files), interleaved round by round
 * with the order alternating, after one warm-up round that fills the mirror; both read warm
 * local copies. Each round's ratio is raw ÷ compacted; the medians are reported, for the whole
 * query and for DuckDB's part alone (views and SQL, without planning the scan: `timings`).
 * Also files per dataset-hour and bytes per file, raw against compacted.
 *
 *   npm run bench:query      writes bench/results/query.json
 *   (BENCH_OBJECTS=10000 BENCH_OBJECT_RECORDS=15 BENCH_ROUNDS=5 are the defaults;
 *   BENCH_DIR=<folder> keeps the lake there and reuses it on the next run)
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { tableDeps } from "../src/aws/tables.ts";
import { type QueryResult, querySource, runQuery } from "../src/cli/query.ts";
import { QUERY_EXAMPLES } from "../src/cli/query-examples.ts";
import { DATASETS, type Envelope, envelopeOf } from "../src/core/events.ts";
import type { AnnouncedFile } from "../src/core/iceberg/commit.ts";
import { compactTable } from "../src/core/iceberg/maintenance.ts";
import { scanTable } from "../src/core/iceberg/scan.ts";
import { commitFiles, ensureTable } from "../src/core/iceberg/table-ops.ts";
import { MarketSimulator } from "../src/core/simulator.ts";
import { startEmulators } from "../src/local/emulators.ts";
import { localClients } from "../src/local/pipeline.ts";
import { writeLakeFiles } from "../test/support/lake-files.ts";
import { wholeNumberFromEnv } from "./support.ts";

const OBJECTS = wholeNumberFromEnv("BENCH_OBJECTS", 10_000, 10, 1_000_000);
const PER_OBJECT = wholeNumberFromEnv("BENCH_OBJECT_RECORDS", 15, 1, 100_000);
const ROUNDS = wholeNumberFromEnv("BENCH_ROUNDS", 5, 1, 100);
const HOUR = 3_600_000;
const H1 = Date.UTC(2026, 10, 26, 14);
const HOURS = 2;
const SOURCE = { service: "ticklake-webserver", instance: "bench" };

/** Two hours of the simulated market, spread so that quotes fill OBJECTS objects of PER_OBJECT records. */
function marketHours(): Envelope[] {
  const probe = new MarketSimulator({ seed: 7, startMs: H1 }).advance(H1 + 100);
  const perTick = probe.fx.length + probe.stocks.length;
  const ticks = Math.ceil((OBJECTS * PER_OBJECT) / perTick);
  const stepMs = Math.floor((HOURS * HOUR) / (ticks + 1));
  const sim = new MarketSimulator({ seed: 7, startMs: H1, newsPerMinute: 2 });
  const events: Envelope[] = [];
  for (let step = 1; step <= ticks; step++) {
    const atMs = H1 + step * stepMs;
    const tick = sim.advance(atMs);
    for (const q of tick.fx) events.push(envelopeOf("fx.quote", q, SOURCE, atMs));
    for (const q of tick.stocks) events.push(envelopeOf("stock.quote", q, SOURCE, atMs));
    for (const a of tick.news) events.push(envelopeOf("news.article", a, SOURCE, atMs));
  }
  return events;
}

/** Events in PER_OBJECT-record chunks of one type and one hour: each chunk is one lake object. */
function chunks(events: readonly Envelope[]): Envelope[][] {
  const groups = new Map<string, Envelope[]>();
  for (const event of events) {
    const key = `${event.type}|${Math.floor(Date.parse(event.ts) / HOUR)}`;
    const group = groups.get(key) ?? [];
    group.push(event);
    groups.set(key, group);
  }
  const out: Envelope[][] = [];
  for (const group of groups.values())
    for (let i = 0; i < group.length; i += PER_OBJECT) out.push(group.slice(i, i + PER_OBJECT));
  return out;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
const round = (value: number, digits = 1) => Number(value.toFixed(digits));

/** BENCH_DIR: keep the emulators' state there, and reuse the lake it holds on the next run. */
const keptDir = process.env.BENCH_DIR;
const dir = keptDir ?? (await mkdtemp(join(tmpdir(), "ticklake-bench-query-")));
const READY = join(dir, "bench-query-ready.json");
const emulators = await startEmulators({ stateDir: dir });
const clients = localClients(emulators.endpoints);
try {
  const bucket = "ticklake-bench-query";
  const layer = { catalog: "local" as const, warehouse: `s3://${bucket}/tables`, namespace: "bench" };
  let clock = H1 + HOURS * HOUR + 30 * 60_000;
  const deps = { ...tableDeps(clients, layer), now: () => clock };

  /** The raw objects as the processor writes them, one commit per table of all of them, then compaction of both (closed) hours. */
  async function buildLake(): Promise<{
    objects: number;
    writeSeconds: number;
    compactSeconds: number;
    rawAsOf: number;
  }> {
    await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const writeStarted = performance.now();
    const files: AnnouncedFile[] = [];
    const pending = chunks(marketHours());
    for (let i = 0; i < pending.length; i += 16) {
      const written = await Promise.all(
        pending
          .slice(i, i + 16)
          .map((chunk, j) =>
            writeLakeFiles(clients.s3, bucket, chunk, `shardId-${String((i + j) % 4).padStart(12, "0")}`),
          ),
      );
      for (const list of written) files.push(...list);
    }
    const writeSeconds = (performance.now() - writeStarted) / 1000;
    process.stderr.write(`wrote ${files.length} raw objects in ${round(writeSeconds)} s\n`);
    for (const dataset of DATASETS) {
      const ofTable = files.filter((file) => file.dataset === dataset);
      if (ofTable.length === 0) continue;
      const table = { namespace: layer.namespace, name: dataset };
      await ensureTable(deps, table, dataset, deps.locationOf(table));
      await commitFiles(deps, table, ofTable);
    }
    const rawAsOf = clock + 30_000;
    clock += 60_000;
    const compactStarted = performance.now();
    for (const dataset of DATASETS)
      await compactTable(deps, { namespace: layer.namespace, name: dataset }, dataset);
    const compactSeconds = (performance.now() - compactStarted) / 1000;
    process.stderr.write(`compacted in ${round(compactSeconds)} s\n`);
    return { objects: files.length, writeSeconds, compactSeconds, rawAsOf };
  }
  const built = existsSync(READY)
    ? (JSON.parse(readFileSync(READY, "utf8")) as Awaited<ReturnType<typeof buildLake>>)
    : await buildLake();
  if (keptDir) writeFileSync(READY, JSON.stringify(built));
  const { rawAsOf, writeSeconds, compactSeconds } = built;

  // Files per dataset-hour and bytes per file, in each snapshot.
  const layout = async (asOfMs?: number) => {
    const rows: Array<{ dataset: string; hour: string; files: number; bytesPerFile: number }> = [];
    for (const dataset of DATASETS) {
      const scan = await scanTable(deps, { namespace: layer.namespace, name: dataset }, asOfMs);
      const byHour = new Map<number, { files: number; bytes: number }>();
      for (const file of scan?.files ?? []) {
        const hour = byHour.get(file.tsHour) ?? { files: 0, bytes: 0 };
        hour.files++;
        hour.bytes += file.fileSizeInBytes;
        byHour.set(file.tsHour, hour);
      }
      for (const [hour, { files, bytes }] of [...byHour].sort(([a], [b]) => a - b))
        rows.push({
          dataset,
          hour: new Date(hour * HOUR).toISOString().slice(0, 13),
          files,
          bytesPerFile: Math.round(bytes / files),
        });
    }
    return rows;
  };
  const rawLayout = await layout(rawAsOf);
  const compactedLayout = await layout();

  // WHEN the worked queries run, raw and compacted interleaved
  const source = querySource(clients, bucket, layer, join(dir, "cache"));
  const run = async (
    sql: string,
    asOfMs?: number,
  ): Promise<{ ms: number; runMs: number; result: QueryResult }> => {
    const started = performance.now();
    const result = await runQuery(source, sql, {
      timeoutMs: 600_000,
      ...(asOfMs === undefined ? {} : { asOfMs }),
    });
    return { ms: performance.now() - started, runMs: result.timings.runMs, result };
  };
  const names = Object.keys(QUERY_EXAMPLES) as Array<keyof typeof QUERY_EXAMPLES>;
  type Times = {
    raw: number[];
    compacted: number[];
    ratios: number[];
    rawRun: number[];
    compactedRun: number[];
    runRatios: number[];
  };
  const times: Record<string, Times> = {};
  const sameResults: Record<string, boolean> = {};
  for (const name of names) {
    // The warm-up round: fills the mirror, and checks both read the same answer.
    const raw = await run(QUERY_EXAMPLES[name], rawAsOf);
    const compacted = await run(QUERY_EXAMPLES[name]);
    sameResults[name] = JSON.stringify(raw.result.rows) === JSON.stringify(compacted.result.rows);
    times[name] = { raw: [], compacted: [], ratios: [], rawRun: [], compactedRun: [], runRatios: [] };
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of names) {
      const order = r % 2 === 0 ? (["raw", "compacted"] as const) : (["compacted", "raw"] as const);
      const ms: Record<string, number> = {};
      const runMs: Record<string, number> = {};
      for (const variant of order) {
        const timed = await run(QUERY_EXAMPLES[name], variant === "raw" ? rawAsOf : undefined);
        ms[variant] = timed.ms;
        runMs[variant] = timed.runMs;
      }
      const entry = times[name];
      if (!entry) continue;
      entry.raw.push(ms.raw ?? 0);
      entry.compacted.push(ms.compacted ?? 0);
      entry.ratios.push((ms.raw ?? 0) / (ms.compacted ?? 1));
      entry.rawRun.push(runMs.raw ?? 0);
      entry.compactedRun.push(runMs.compacted ?? 0);
      entry.runRatios.push((runMs.raw ?? 0) / Math.max(1, runMs.compacted ?? 1));
    }
    process.stderr.write(`round ${r + 1}/${ROUNDS} done\n`);
  }

  const queries = names.map((name) => {
    const entry = times[name] ?? {
      raw: [],
      compacted: [],
      ratios: [],
      rawRun: [],
      compactedRun: [],
      runRatios: [],
    };
    return {
      query: name,
      rawMs: Math.round(median(entry.raw)),
      compactedMs: Math.round(median(entry.compacted)),
      medianRatio: round(median(entry.ratios)),
      ratios: entry.ratios.map((ratio) => round(ratio)),
      duckdb: {
        rawMs: Math.round(median(entry.rawRun)),
        compactedMs: Math.round(median(entry.compactedRun)),
        medianRatio: round(median(entry.runRatios)),
      },
      sameResults: sameResults[name],
    };
  });
  const totals = (rows: typeof rawLayout) => ({
    files: rows.reduce((sum, row) => sum + row.files, 0),
    datasetHours: rows.length,
    filesPerDatasetHour: round(rows.reduce((sum, row) => sum + row.files, 0) / rows.length),
    bytesPerFile: Math.round(
      rows.reduce((sum, row) => sum + row.bytesPerFile * row.files, 0) /
        rows.reduce((sum, row) => sum + row.files, 0),
    ),
  });
  const result = {
    date: new Date().toISOString(),
    command: "npm run bench:query",
    node: process.version,
    cpu: cpus()[0]?.model ?? "unknown",
    note: "2 cores shared with other engineers' test runs: ratios come from interleaved runs in the same process",
    objects: built.objects,
    recordsPerObject: PER_OBJECT,
    rounds: ROUNDS,
    duckdb: { threads: 1, memoryLimit: "1GB", cache: "warm (mirrored in the warm-up round)" },
    writeSeconds: round(writeSeconds),
    compactSeconds: round(compactSeconds),
    raw: { ...totals(rawLayout), layout: rawLayout },
    compacted: { ...totals(compactedLayout), layout: compactedLayout },
    queries,
  };
  writeFileSync(new URL("./results/query.json", import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    JSON.stringify({ ...result, raw: totals(rawLayout), compacted: totals(compactedLayout) }, null, 2),
  );
} finally {
  clients.destroy();
  await emulators.stop();
  if (!keptDir) await rm(dir, { recursive: true, force: true });
}
