/** Helpers the benchmarks share: simulated traffic and the emulator's raw PutRecords ceiling. */
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  PutRecordsCommand,
} from "@aws-sdk/client-kinesis";
import type { AwsClients } from "../src/aws/clients.ts";
import { type Envelope, type EnvelopeSource, envelopeOf } from "../src/core/events.ts";
import { partitionKeyOf } from "../src/core/partition-keys.ts";
import { MarketSimulator } from "../src/core/simulator.ts";

/**
 * A whole number from the environment variable `name`, or `fallback` when it is unset; outside
 * [min, max] or not a whole number, an error naming the variable, the value and what is allowed.
 */
export function wholeNumberFromEnv(name: string, fallback: number, min: number, max: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new RangeError(
      `${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(text)})`,
    );
  return value;
}

/** `count` FX and stock quotes of the simulated market, as the tick log writes them. */
export function simulatedEvents(
  count: number,
  seed = 3,
  source: EnvelopeSource = { service: "ticklake-webserver", instance: "bench" },
): Envelope[] {
  const start = Date.UTC(2026, 10, 26, 14);
  const sim = new MarketSimulator({ seed, startMs: start });
  const out: Envelope[] = [];
  for (let step = 1; out.length < count; step++) {
    const tick = sim.advance(start + step * 100);
    for (const q of tick.fx) out.push(envelopeOf("fx.quote", q, source, tick.atMs));
    for (const q of tick.stocks) out.push(envelopeOf("stock.quote", q, source, tick.atMs));
  }
  return out.slice(0, count);
}

/** Creates a stream and waits until it is active. */
export async function createStream(clients: AwsClients, name: string, shards: number): Promise<void> {
  await clients.kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  for (;;) {
    const { StreamDescriptionSummary } = await clients.kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: name }),
    );
    if (StreamDescriptionSummary?.StreamStatus === "ACTIVE") return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The emulator's raw ceiling: `events` already serialized, 500 to a PutRecords call, one call
 * at a time, no aggregation and no other work; records/s.
 */
export async function rawPutRecordsCeiling(
  clients: AwsClients,
  stream: string,
  events: Envelope[],
): Promise<number> {
  const entries = events.map((e) => ({
    Data: Buffer.from(JSON.stringify(e)),
    PartitionKey: partitionKeyOf(e),
  }));
  const started = performance.now();
  for (let i = 0; i < entries.length; i += 500) {
    await clients.kinesis.send(
      new PutRecordsCommand({ StreamName: stream, Records: entries.slice(i, i + 500) }),
    );
  }
  return Math.round(entries.length / ((performance.now() - started) / 1000));
}
