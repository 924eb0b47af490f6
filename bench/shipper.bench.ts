/**
 * The log shipper's events/s into the local Kinesis, against the emulator's raw PutRecords
 * ceiling measured in the same run (pre-built 500-record batches, one call at a time).
 *
 *   npm run bench:shipper            writes bench/results/shipper.json
 */
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateStreamCommand, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { KinesisShipper, partitionKeyOf } from "../src/aws/shipper.ts";
import { type Envelope, envelopeOf } from "../src/core/events.ts";
import { MarketSimulator } from "../src/core/simulator.ts";
import { startEmulators } from "../src/local/emulators.ts";
import { localClients } from "../src/local/pipeline.ts";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);

function simulated(count: number): Envelope[] {
  const start = Date.UTC(2026, 10, 26, 14);
  const sim = new MarketSimulator({ seed: 3, startMs: start });
  const source = { service: "ticklake-webserver", instance: "bench" };
  const out: Envelope[] = [];
  for (let step = 1; out.length < count; step++) {
    const tick = sim.advance(start + step * 100);
    for (const q of tick.fx) out.push(envelopeOf("fx.quote", q, source, tick.atMs));
    for (const q of tick.stocks) out.push(envelopeOf("stock.quote", q, source, tick.atMs));
  }
  return out.slice(0, count);
}

const dir = await mkdtemp(join(tmpdir(), "ticklake-bench-"));
const emulators = await startEmulators({ stateDir: dir });
const clients = localClients(emulators.endpoints);
const events = simulated(EVENTS);
const results: Record<string, number> = {};
try {
  for (const stream of ["raw", "aggregated", "plain"]) {
    await clients.kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 4 }));
  }
  await new Promise((resolve) => setTimeout(resolve, 300));

  // Raw ceiling: the same records, already serialized, 500 a call, no retries, no work.
  const entries = events.map((e) => ({
    Data: Buffer.from(JSON.stringify(e)),
    PartitionKey: partitionKeyOf(e),
  }));
  let started = performance.now();
  for (let i = 0; i < entries.length; i += 500) {
    await clients.kinesis.send(
      new PutRecordsCommand({ StreamName: "raw", Records: entries.slice(i, i + 500) }),
    );
  }
  results.rawPutRecordsPerSecond = Math.round(entries.length / ((performance.now() - started) / 1000));

  for (const [stream, aggregate] of [
    ["aggregated", true],
    ["plain", false],
  ] as const) {
    const shipper = new KinesisShipper({
      kinesis: clients.kinesis,
      streamName: stream,
      aggregate,
      maxBufferedRecords: EVENTS,
    });
    started = performance.now();
    for (const event of events) shipper.ship(event);
    await shipper.flush();
    const seconds = (performance.now() - started) / 1000;
    results[`${stream}ShipperEventsPerSecond`] = Math.round(events.length / seconds);
    results[`${stream}KinesisRecords`] = shipper.stats.kinesisRecords;
  }
} finally {
  clients.destroy();
  await emulators.stop();
  await rm(dir, { recursive: true, force: true });
}
const output = {
  date: new Date().toISOString(),
  node: process.version,
  events: EVENTS,
  ...results,
  aggregatedRatio: Number(
    ((results.aggregatedShipperEventsPerSecond ?? 0) / (results.rawPutRecordsPerSecond ?? 1)).toFixed(3),
  ),
  plainRatio: Number(
    ((results.plainShipperEventsPerSecond ?? 0) / (results.rawPutRecordsPerSecond ?? 1)).toFixed(3),
  ),
  target: { ratio: 0.8 },
};
writeFileSync(new URL("./results/shipper.json", import.meta.url), `${JSON.stringify(output, null, 2)}\n`);
console.log(JSON.stringify(output, null, 2));
