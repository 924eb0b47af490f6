/**
 * Processor throughput on one core, no network: decode packed SQS messages, validate every
 * record, encode Parquet (and quarantine) objects. Compared, in the same run, with the raw
 * ceiling of the same records: JSON.parse plus Parquet encoding, no validation.
 *
 *   npm run bench:processor            writes bench/results/processor.json
 */
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { DATASET_OF, type Dataset, type Envelope, envelopeOf } from "../src/core/events.ts";
import { type PackedMessage, packRecords, recordText, unpackMessage } from "../src/core/packing.ts";
import { encodeParquet } from "../src/core/parquet.ts";
import { planObjects } from "../src/core/planning.ts";
import { MarketSimulator } from "../src/core/simulator.ts";
import { wholeNumberFromEnv } from "./support.ts";

const RECORDS = wholeNumberFromEnv("BENCH_RECORDS", 200_000, 1, 100_000_000);
const ROUNDS = wholeNumberFromEnv("BENCH_ROUNDS", 5, 1, 100);
const SOURCE = { service: "ticklake-webserver", instance: "bench-1" };

function simulatedRecords(count: number): string[] {
  const start = Date.UTC(2026, 10, 26, 14);
  const sim = new MarketSimulator({ seed: 5, startMs: start });
  const out: string[] = [];
  for (let step = 1; out.length < count; step++) {
    const tick = sim.advance(start + step * 250);
    const events: Envelope[] = [
      ...tick.fx.map((q) => envelopeOf("fx.quote", q, SOURCE, tick.atMs)),
      ...tick.stocks.map((q) => envelopeOf("stock.quote", q, SOURCE, tick.atMs)),
      ...tick.news.map((a) => envelopeOf("news.article", a, SOURCE, tick.atMs)),
    ];
    for (const event of events) out.push(JSON.stringify(event));
  }
  return out.slice(0, count);
}

function packedBodies(records: string[]): string[] {
  const stream = records.map((text, i) => ({
    sequenceNumber: `4959${String(i + 1).padStart(52, "0")}`,
    partitionKey: "k",
    arrivalMs: Date.UTC(2026, 10, 26, 14) + i,
    data: Buffer.from(text),
  }));
  // Bridge batches of 2,000 records, as the resource spec sets.
  const bodies: string[] = [];
  for (let i = 0; i < stream.length; i += 2_000) {
    const messages = packRecords(stream.slice(i, i + 2_000), {
      stream: "s",
      shardId: "shardId-000000000000",
      maxMessageBytes: 1_048_576,
    });
    for (const message of messages) bodies.push(JSON.stringify(message));
  }
  return bodies;
}

function processorPass(bodies: string[]): number {
  let records = 0;
  for (const body of bodies) {
    for (const plan of planObjects(unpackMessage(body))) records += plan.records;
  }
  return records;
}

/** The raw ceiling: the same records, parsed and encoded, with none of the checks. */
function ceilingPass(messages: PackedMessage[]): number {
  let records = 0;
  for (const message of messages) {
    const groups = new Map<Dataset, Envelope[]>();
    for (const record of message.records) {
      const event = JSON.parse(recordText(record)) as Envelope;
      const dataset = DATASET_OF[event.type];
      const group = groups.get(dataset);
      if (group) group.push(event);
      else groups.set(dataset, [event]);
    }
    for (const [dataset, events] of groups)
      records += encodeParquet(dataset, events).byteLength > 0 ? events.length : 0;
  }
  return records;
}

function rate(fn: () => number): number {
  const started = performance.now();
  const records = fn();
  return records / ((performance.now() - started) / 1000);
}

const records = simulatedRecords(RECORDS);
const bodies = packedBodies(records);
const messages = bodies.map((body) => JSON.parse(body) as PackedMessage);
const bytes = records.reduce((sum, r) => sum + r.length, 0);

// Warm-up: JIT and the WebAssembly module.
processorPass(bodies.slice(0, 5));
ceilingPass(messages.slice(0, 5));

const processor: number[] = [];
const ceiling: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  // Interleaved, so both see the same machine state.
  processor.push(rate(() => processorPass(bodies)));
  ceiling.push(rate(() => ceilingPass(messages)));
}
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? "unknown",
  records: RECORDS,
  messages: bodies.length,
  averageRecordBytes: Math.round(bytes / RECORDS),
  rounds: ROUNDS,
  processorRecordsPerSecond: Math.round(median(processor)),
  ceilingRecordsPerSecond: Math.round(median(ceiling)),
  ratio: Number((median(processor) / median(ceiling)).toFixed(3)),
  targets: { processorRecordsPerSecond: 100_000, ratio: 0.5 },
};
writeFileSync(new URL("./results/processor.json", import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
