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
import { KinesisShipper } from "../src/aws/shipper.ts";
import { startEmulators } from "../src/local/emulators.ts";
import { localClients } from "../src/local/pipeline.ts";
import { ensureStream } from "../src/local/provisioner.ts";
import { rawPutRecordsCeiling, simulatedEvents, wholeNumberFromEnv } from "./support.ts";

const EVENTS = wholeNumberFromEnv("BENCH_EVENTS", 100_000, 1, 100_000_000);

const dir = await mkdtemp(join(tmpdir(), "ticklake-bench-"));
const emulators = await startEmulators({ stateDir: dir });
const clients = localClients(emulators.endpoints);
const events = simulatedEvents(EVENTS);
const results: Record<string, number> = {};
try {
  for (const stream of ["raw", "aggregated", "plain"]) await ensureStream(clients.kinesis, stream, 4);

  // Raw ceiling: the same records, already serialized, 500 a call, no retries, no work.
  results.rawPutRecordsPerSecond = await rawPutRecordsCeiling(clients, "raw", events);

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
    const started = performance.now();
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
