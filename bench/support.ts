/** Helpers the benchmarks share: simulated traffic and the emulator's raw PutRecords ceiling. */
import { PutRecordsCommand } from "@aws-sdk/client-kinesis";
import type { AwsClients } from "../src/aws/clients.ts";
import { ShipperFullError } from "../src/aws/errors.ts";
import type { LogShipper } from "../src/aws/shipper.ts";
import { sleep } from "../src/core/backoff.ts";
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

/**
 * Whole numbers, comma-separated, from the environment variable `name`, or `fallback` when it is
 * unset; any outside [min, max] or not a whole number, an error naming the variable, the value
 * and what is allowed.
 */
export function wholeNumbersFromEnv(
  name: string,
  fallback: readonly number[],
  min: number,
  max: number,
): number[] {
  const text = process.env[name];
  if (text === undefined || text === "") return [...fallback];
  return text.split(",").map((item) => {
    const value = Number(item);
    if (item.trim() === "" || !Number.isInteger(value) || value < min || value > max)
      throw new RangeError(
        `${name} must be whole numbers from ${min} to ${max}, comma-separated (got ${JSON.stringify(text)})`,
      );
    return value;
  });
}

/** Waits until `condition` holds (true) or `timeoutMs` passes (false), looking every 50 ms. */
export async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/**
 * Ships `rate` events a second for `seconds`, evenly (a tick every 5 ms), taken in turn from
 * `pool` and stamped with the time they are sent; returns how many were offered. Past the
 * shipper's hand-over bound it refuses (counted in its stats), which the caller reports.
 */
export async function shipAtRate(
  shipper: LogShipper,
  pool: readonly Envelope[],
  rate: number,
  seconds: number,
  source: EnvelopeSource,
): Promise<number> {
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
  return shipped;
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
