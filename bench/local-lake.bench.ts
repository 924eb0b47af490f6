/**
 * The local lake's cost to the emulator host as it grows: with 0, 10,000 and 100,000 stored
 * objects, how long the emulators take to start (fork to ready, each size started 3 times) and
 * the host's resident memory at ready and after it has listed every key and read a sample.
 * Objects are seeded in the lake's own layout (keys, content type and metadata as the processor
 * writes them; 1 KiB bodies, since bodies stay on disk and their size does not reach memory).
 *
 *   npm run bench:local-lake   writes bench/results/local-lake.json and local-lake.md
 *
 * BENCH_LAKE_SIZES (comma-separated object counts, rising) and BENCH_LAKE_STARTS change the plan.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { quantile } from "../src/core/stats.ts";
import { startEmulators } from "../src/local/emulators.ts";
import { localClients } from "../src/local/pipeline.ts";
import { S3DiskStore } from "../src/local/s3/store.ts";
import { wholeNumberFromEnv } from "./support.ts";

const SIZES = (process.env.BENCH_LAKE_SIZES ?? "0,10000,100000").split(",").map((text, index, all) => {
  const value = Number(text);
  const previous = index === 0 ? -1 : Number(all[index - 1]);
  if (!Number.isInteger(value) || value < 0 || value > 1_000_000 || value <= previous)
    throw new RangeError(
      `BENCH_LAKE_SIZES must be rising whole numbers of objects from 0 to 1,000,000, comma-separated (got ${JSON.stringify(text)})`,
    );
  return value;
});
const STARTS = wholeNumberFromEnv("BENCH_LAKE_STARTS", 3, 1, 20);
const BUCKET = "ticklake-bench-lake";
const BODY = Buffer.alloc(1_024, 7);
const DATASETS = ["fx_quotes", "stock_quotes", "news", "http_requests"];
const SAMPLE_READS = 100;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** The i-th object's key, as the processor names them: dataset, hour, shard and sequence range. */
function keyOf(i: number): string {
  const dataset = DATASETS[i % DATASETS.length];
  const hour = Math.floor(i / 400);
  const day = 1 + Math.floor(hour / 24);
  const first = (49_000_000_000n + BigInt(i) * 1_000n).toString().padStart(56, "0");
  const last = (49_000_000_000n + BigInt(i) * 1_000n + 999n).toString().padStart(56, "0");
  return `lake/${dataset}/dt=2026-12-${String(day).padStart(2, "0")}/hour=${String(hour % 24).padStart(2, "0")}/shardId-00000000000${i % 4}-${first}-${last}.parquet`;
}

async function seed(stateDir: string, from: number, to: number): Promise<void> {
  const store = new S3DiskStore(join(stateDir, "s3"));
  await store.open();
  await store.createBucket(BUCKET);
  let next = from;
  const worker = async () => {
    while (next < to) {
      const i = next++;
      await store.put(BUCKET, keyOf(i), Readable.from([BODY]), {
        contentType: "application/vnd.apache.parquet",
        metadata: { records: String(500 + (i % 1_500)), dataset: DATASETS[i % DATASETS.length] as string },
      });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  await store.close();
}

/** Resident memory of a process, from /proc (Linux), in bytes. */
function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1] ?? Number.NaN) * 1_024;
}

/**
 * CPU time a process has used (user + system), from /proc (Linux), in ms. Unlike wall time it
 * hardly depends on what else the shared machine runs. Clock ticks are 1/100 s on Linux.
 */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The 1-minute load average: how many processes were running or waiting on the 2 cores. */
const load = () => Number((loadavg()[0] ?? Number.NaN).toFixed(1));

/** The index alone, in this process: how long opening the store takes and the heap it keeps. */
async function measureIndex(stateDir: string) {
  const openMs: number[] = [];
  const openCpuMs: number[] = [];
  let heapBytes = Number.NaN;
  for (let run = 0; run < STARTS; run++) {
    gc();
    const before = process.memoryUsage().heapUsed;
    const began = performance.now();
    const cpu = process.cpuUsage();
    const store = new S3DiskStore(join(stateDir, "s3"));
    await store.open();
    openMs.push(performance.now() - began);
    const used = process.cpuUsage(cpu);
    // CPU time, unlike wall time, hardly depends on what else the machine runs.
    openCpuMs.push((used.user + used.system) / 1_000);
    gc();
    // The first open only: a closed store's garbage can outlive the next run's first collection.
    if (run === 0) heapBytes = process.memoryUsage().heapUsed - before;
    await store.close();
  }
  return { openMs, openCpuMs, heapBytes };
}

async function measure(stateDir: string, objects: number) {
  const index = await measureIndex(stateDir);
  const startMs: number[] = [];
  const startCpuMs: number[] = [];
  const rssAtReady: number[] = [];
  const loadBefore = load();
  let rssAfterUse = Number.NaN;
  for (let run = 0; run < STARTS; run++) {
    const began = performance.now();
    const emulators = await startEmulators({ stateDir });
    startMs.push(performance.now() - began);
    startCpuMs.push(cpuMsOf(emulators.endpoints.pid));
    rssAtReady.push(rssOf(emulators.endpoints.pid));
    if (emulators.restoredObjects !== objects)
      throw new Error(`the host restored ${emulators.restoredObjects} objects; ${objects} were stored`);
    if (run === STARTS - 1) {
      // In use: every key listed once (1,000 a page) and a sample of bodies read from disk.
      const clients = localClients(emulators.endpoints);
      let listed = 0;
      let token: string | undefined;
      do {
        const page = await clients.s3.send(
          new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: token }),
        );
        listed += page.KeyCount ?? 0;
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      if (listed !== objects) throw new Error(`listed ${listed} objects of ${objects}`);
      for (let i = 0; i < Math.min(SAMPLE_READS, objects); i++) {
        const object = await clients.s3.send(
          new GetObjectCommand({ Bucket: BUCKET, Key: keyOf(Math.floor((i * objects) / SAMPLE_READS)) }),
        );
        const bytes = await object.Body?.transformToByteArray();
        if (!bytes || !Buffer.from(bytes).equals(BODY))
          throw new Error("a sampled body differs from the one stored");
      }
      rssAfterUse = rssOf(emulators.endpoints.pid);
      clients.destroy();
    }
    await emulators.stop();
  }
  const median = (values: number[]) => quantile(values, 0.5) ?? Number.NaN;
  const spread = (values: number[]) => ({
    median: Math.round(median(values)),
    min: Math.round(Math.min(...values)),
    max: Math.round(Math.max(...values)),
  });
  return {
    objects,
    startMs: spread(startMs),
    /** The host process's own CPU time from fork to ready. */
    startCpuMs: spread(startCpuMs),
    indexOpenMs: spread(index.openMs),
    indexOpenCpuMs: spread(index.openCpuMs),
    indexHeapBytesPerObject: objects > 0 ? Math.round(index.heapBytes / objects) : undefined,
    rssAtReadyMiB: Number((median(rssAtReady) / 2 ** 20).toFixed(1)),
    rssAfterUseMiB: Number((rssAfterUse / 2 ** 20).toFixed(1)),
    loadAverage: { before: loadBefore, after: load() },
  };
}

const dir = await mkdtemp(join(tmpdir(), "ticklake-bench-lake-"));
const rows: Array<Awaited<ReturnType<typeof measure>>> = [];
try {
  let stored = 0;
  for (const size of SIZES) {
    const seeding = performance.now();
    await seed(dir, stored, size);
    if (size > stored)
      console.log(
        `seeded ${size - stored} objects in ${((performance.now() - seeding) / 1_000).toFixed(1)} s`,
      );
    stored = size;
    const row = await measure(dir, size);
    rows.push(row);
    console.log(
      `${size} objects: start ${row.startMs.median} ms (${row.startMs.min}–${row.startMs.max}; host CPU ${row.startCpuMs.median} ms), load ${row.loadAverage.before}–${row.loadAverage.after}, index ${row.indexOpenMs.median} ms and ${row.indexHeapBytesPerObject ?? "–"} B/object of heap, RSS ${row.rssAtReadyMiB} MiB at ready, ${row.rssAfterUseMiB} MiB after listing and reads`,
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

const base = rows[0];
const overBase = (row: (typeof rows)[number], pick: "rssAtReadyMiB" | "rssAfterUseMiB") =>
  base && row.objects > base.objects
    ? Math.round(((row[pick] - base[pick]) * 2 ** 20) / (row.objects - base.objects))
    : undefined;
const results = rows.map((row) => ({
  ...row,
  startOverEmptyMs: base ? row.startMs.median - base.startMs.median : undefined,
  rssBytesPerObjectAtReady: overBase(row, "rssAtReadyMiB"),
  rssBytesPerObjectAfterUse: overBase(row, "rssAfterUseMiB"),
}));
const largest = results.at(-1);
const output = {
  date: new Date().toISOString(),
  node: process.version,
  machine: "2 cores, shared",
  startsPerSize: STARTS,
  goals: {
    startMs: 3_000,
    bytesPerObject: 1_024,
    startMet: Boolean(largest && largest.startMs.median <= 3_000),
    memoryMet: Boolean(
      largest &&
        (largest.indexHeapBytesPerObject ?? 0) < 1_024 &&
        (largest.rssBytesPerObjectAtReady ?? 0) < 1_024,
    ),
  },
  results,
};
writeFileSync(new URL("./results/local-lake.json", import.meta.url), `${JSON.stringify(output, null, 2)}\n`);
const n = (value: number | undefined) => (value === undefined ? "–" : value.toLocaleString("en-US"));
const ms = (s: { median: number; min: number; max: number }) => `${n(s.median)} (${n(s.min)}–${n(s.max)})`;
const md = [
  "| stored objects | emulators' start, ms: median (min–max) | host CPU to ready, ms | over the empty lake, ms | index load, ms | index load, CPU ms | index heap, bytes/object | host RSS at ready, MiB | bytes/object over the empty lake | RSS after listing all and 100 reads, MiB | load average (1 min) before–after |",
  `|${" --- |".repeat(11)}`,
  ...results.map(
    (r) =>
      `| ${n(r.objects)} | ${ms(r.startMs)} | ${ms(r.startCpuMs)} | ${n(r.startOverEmptyMs)} | ${ms(r.indexOpenMs)} | ${ms(r.indexOpenCpuMs)} | ${n(r.indexHeapBytesPerObject)} | ${r.rssAtReadyMiB} | ${n(r.rssBytesPerObjectAtReady)} | ${r.rssAfterUseMiB} | ${r.loadAverage.before}–${r.loadAverage.after} |`,
  ),
  "",
  "Reproduce: `npm run bench:local-lake` (BENCH_LAKE_SIZES, BENCH_LAKE_STARTS change the plan). The machine has 2 cores shared with other work: a load average well over 2 stretches wall times, not CPU times.",
  "",
  `Goals (issue 18) at ${n(largest?.objects)} objects: start within 3 s — **${output.goals.startMet ? "met" : "not met"}**; under 1 KiB of host memory per stored object — **${output.goals.memoryMet ? "met" : "not met"}**.`,
].join("\n");
writeFileSync(new URL("./results/local-lake.md", import.meta.url), `${md}\n`);
console.log(md);
