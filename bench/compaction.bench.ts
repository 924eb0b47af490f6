/**
 * Compaction of one dataset-hour, in memory, on one core: the processor's small files decoded,
 * duplicate ids dropped, sorted by natural key and time, re-encoded (what `compactHour` does
 * between reading and writing S3). Reports time and peak memory (RSS, which includes the
 * WebAssembly Parquet writer's memory) for a number of records, and the records per second
 * and bytes per record to extrapolate to an hour at a given rate.
 *
 *   BENCH_EVENTS=1000000 npm run bench:compaction     writes bench/results/compaction.json
 */
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { rewriteHour } from "../src/core/iceberg/compaction.ts";
import { decodeParquet, encodeDataFile, encodeParquet } from "../src/core/parquet.ts";
import { simulatedEvents, wholeNumberFromEnv } from "./support.ts";

const EVENTS = wholeNumberFromEnv("BENCH_EVENTS", 1_000_000, 1_000, 50_000_000);
/** Records per processor file: at 5,000 events/s the pipeline writes about 3 objects a second. */
const PER_FILE = wholeNumberFromEnv("BENCH_FILE_RECORDS", 1_500, 1, 1_000_000);
const TARGET = 128 * 1024 * 1024;

// The stock quotes of the simulated market, one hour's worth of event times squeezed together.
const events = simulatedEvents(EVENTS * 2)
  .filter((event) => event.type === "stock.quote")
  .slice(0, EVENTS);
const files: Uint8Array[] = [];
for (let i = 0; i < events.length; i += PER_FILE)
  files.push(encodeParquet("stock_quotes", events.slice(i, i + PER_FILE)));
const inputBytes = files.reduce((sum, file) => sum + file.byteLength, 0);
events.length = 0;
global.gc?.();

let peak = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 20);
const baseline = process.memoryUsage().rss;
const started = performance.now();
const decoded = files.flatMap((file) => {
  peak = Math.max(peak, process.memoryUsage().rss);
  return decodeParquet("stock_quotes", file);
});
const decodedMs = performance.now() - started;
const rewrite = rewriteHour("stock_quotes", decoded, inputBytes, TARGET);
const outputs = rewrite.files.map((chunk) => {
  peak = Math.max(peak, process.memoryUsage().rss);
  return encodeDataFile("stock_quotes", chunk, Date.UTC(2026, 10, 26, 14)).body.byteLength;
});
const totalMs = performance.now() - started;
peak = Math.max(peak, process.memoryUsage().rss);
clearInterval(sampler);

const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? "unknown",
  records: EVENTS,
  inputFiles: files.length,
  inputBytes,
  outputFiles: outputs.length,
  outputBytes: outputs.reduce((sum, bytes) => sum + bytes, 0),
  seconds: Number((totalMs / 1000).toFixed(1)),
  decodeSeconds: Number((decodedMs / 1000).toFixed(1)),
  recordsPerSecond: Math.round(EVENTS / (totalMs / 1000)),
  baselineRssMiB: Math.round(baseline / 2 ** 20),
  peakRssMiB: Math.round(peak / 2 ** 20),
  peakBytesPerRecord: Math.round((peak - baseline) / EVENTS),
};
writeFileSync(new URL("./results/compaction.json", import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
