/**
 * The log shipper against the local Kinesis: aggregation, throttling on 30 % of records, the
 * emulator killed and restarted mid-stream, and a spool that outlives the process. Every
 * test checks that each event arrives, in order per partition key.
 */

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CreateStreamCommand } from "@aws-sdk/client-kinesis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AwsClients } from "../../src/aws/clients.ts";
import { ShipperFullError, ShipperRefusal, ShipperStoppedError } from "../../src/aws/errors.ts";
import { KinesisShipper } from "../../src/aws/shipper.ts";
import { ShipperWorker } from "../../src/aws/shipper-worker.ts";
import { send } from "../../src/cli/send.ts";
import { sleep } from "../../src/core/backoff.ts";
import type { Envelope } from "../../src/core/events.ts";
import type { StreamRecord } from "../../src/core/packing.ts";
import { type RunningEmulators, startEmulators } from "../../src/local/emulators.ts";
import { localClientOptions, localClients } from "../../src/local/pipeline.ts";
import { injectLostAnswers, injectThrottling } from "../faults/inject.ts";
import { fxQuote, stockQuote } from "../support/factories.ts";
import { eventually, tempStateDir } from "../support/local-aws.ts";
import { readStream } from "../support/stream.ts";

const SYMBOLS = ["AAPL", "MSFT", "NVDA", "GOOGL", "META", "AMZN", "TSLA", "JPM"];

/** Events whose ids increase in the order they are made, spread over keys. */
function events(count: number): Envelope[] {
  const start = Date.UTC(2026, 10, 26, 12);
  return Array.from({ length: count }, (_, i) =>
    i % 3 === 0 ? fxQuote(start + i) : stockQuote(start + i, SYMBOLS[i % SYMBOLS.length]),
  );
}

/** Every event arrived; per key, first arrivals are in the order shipped. Returns duplicates. */
function assertDelivered(sent: Envelope[], received: StreamRecord[]): number {
  const ids = received.map((r) => JSON.parse(Buffer.from(r.data).toString()).id as string);
  expect(new Set(ids)).toEqual(new Set(sent.map((e) => e.id)));
  const firstSeen = new Map<string, number>();
  ids.forEach((id, position) => {
    if (!firstSeen.has(id)) firstSeen.set(id, position);
  });
  const byKey = new Map<string, string[]>();
  for (const record of received) {
    const id = JSON.parse(Buffer.from(record.data).toString()).id as string;
    const list = byKey.get(record.partitionKey) ?? [];
    if (!list.includes(id)) list.push(id);
    byKey.set(record.partitionKey, list);
  }
  for (const [key, list] of byKey) expect(list, key).toEqual([...list].sort());
  return ids.length - new Set(ids).size;
}

describe("KinesisShipper", () => {
  let state: Awaited<ReturnType<typeof tempStateDir>>;
  let emulators: RunningEmulators;

  beforeEach(async () => {
    state = await tempStateDir();
    emulators = await startEmulators({ stateDir: state.dir });
    await clientsOf(emulators.endpoints).kinesis.send(
      new CreateStreamCommand({ StreamName: "ship", ShardCount: 2 }),
    );
    await sleep(100);
  });
  afterEach(async () => {
    // Released here, not at the end of each test: also when a test fails.
    for (const clients of opened.splice(0)) clients.destroy();
    await emulators.stop();
    await state.remove();
  });
  const opened: AwsClients[] = [];
  const clientsOf = (endpoints: RunningEmulators["endpoints"]) => {
    const clients = localClients(endpoints);
    opened.push(clients);
    return clients;
  };

  it("aggregates records per partition key: far fewer Kinesis records, every event once, in order", async () => {
    const clients = clientsOf(emulators.endpoints);
    const shipper = new KinesisShipper({ kinesis: clients.kinesis, streamName: "ship" });
    const sent = events(5_000);
    for (const event of sent) shipper.ship(event);
    await shipper.flush();
    const { kinesisRecords, records } = await readStream(clients.kinesis, "ship");
    expect(assertDelivered(sent, records)).toBe(0);
    expect(kinesisRecords).toBe(shipper.stats.kinesisRecords);
    expect(kinesisRecords).toBeLessThan(sent.length / 10);
    expect(shipper.stats).toMatchObject({ sent: 5_000, dropped: 0, refused: 0 });
  });

  it("waits for a full call, up to the flush interval, rather than sending a call per burst", async () => {
    // Properties that hold on any machine, however fast its calls: how many calls a rate of
    // bursts makes depends on the round trip, what is sent before a call is full does not.
    const clients = clientsOf(emulators.endpoints);
    // GIVEN records that wait up to a minute for a full call (4,000 records aggregated)
    const waiting = new KinesisShipper({
      kinesis: clients.kinesis,
      streamName: "ship",
      flushIntervalMs: 60_000,
    });
    const sent = events(3_600);
    // WHEN bursts of 600 arrive every 20 ms, short of a full call
    for (let at = 0; at < sent.length; at += 600) {
      for (const event of sent.slice(at, at + 600)) waiting.ship(event);
      await sleep(20);
    }
    await sleep(200);
    // THEN no call goes out for them, until a flush sends them all
    expect(waiting.stats.putRecordsCalls).toBe(0);
    expect(waiting.buffered).toBe(3_600);
    await waiting.flush();
    expect(waiting.stats.sent).toBe(3_600);

    // GIVEN a short flush interval, WHEN a few records wait, THEN they go out without a flush
    const impatient = new KinesisShipper({
      kinesis: clients.kinesis,
      streamName: "ship",
      flushIntervalMs: 200,
    });
    const few = events(3_610).slice(3_600);
    for (const event of few) impatient.ship(event);
    await eventually(async () => (impatient.stats.sent === 10 ? true : undefined), 10_000, "a call");
    expect(impatient.stats.putRecordsCalls).toBe(1);
    const { records } = await readStream(clients.kinesis, "ship");
    expect(assertDelivered([...sent, ...few], records)).toBe(0);
  }, 60_000);

  it("loses nothing and keeps order when 30 % of Kinesis records are throttled", async () => {
    const clients = clientsOf(emulators.endpoints);
    const throttled = injectThrottling(clients.kinesis, 0.3);
    // Small aggregates, so that there are many Kinesis records to throttle.
    const shipper = new KinesisShipper({
      kinesis: clients.kinesis,
      streamName: "ship",
      maxAggregateBytes: 2_048,
    });
    const sent = events(3_000);
    for (const event of sent) shipper.ship(event);
    await shipper.flush();
    expect(throttled()).toBeGreaterThan(0.25 * shipper.stats.kinesisRecords);
    expect(shipper.stats.retried).toBeGreaterThan(0);
    const { records } = await readStream(clients.kinesis, "ship");
    expect(assertDelivered(sent, records)).toBe(0);
  }, 60_000);

  it("spools while the emulator is killed mid-stream, and delivers everything once, in order", async () => {
    const kinesisPort = Number(new URL(emulators.endpoints.kinesis).port);
    const clients = clientsOf(emulators.endpoints);
    const shipper = new KinesisShipper({
      kinesis: clients.shippingKinesis,
      streamName: "ship",
      maxBufferedRecords: 1_000,
      spoolDir: `${state.dir}/spool`,
    });
    const sent = events(6_000);
    for (const event of sent.slice(0, 3_000)) shipper.ship(event);
    // Killed while calls are under way: one may be stored without its answer.
    const flushing = shipper.flush();
    await sleep(40);
    await emulators.kill();
    // While Kinesis is gone: memory fills, then the spool takes the rest, in order.
    for (const event of sent.slice(3_000)) shipper.ship(event);
    await sleep(500);
    expect(shipper.stats.spooled).toBeGreaterThan(1_000);
    emulators = await startEmulators({ stateDir: state.dir, kinesisPort });
    await flushing;
    await shipper.flush();
    expect(shipper.stats).toMatchObject({ sent: 6_000, dropped: 0, refused: 0 });
    const { records } = await readStream(clients.kinesis, "ship");
    expect(assertDelivered(sent, records)).toBe(0);
  }, 60_000);

  it("does not send twice what a call stored when its answer was lost", async () => {
    const clients = clientsOf(emulators.endpoints);
    injectLostAnswers([clients.shippingKinesis], "initialize");
    const shipper = new KinesisShipper({
      kinesis: clients.shippingKinesis,
      streamName: "ship",
      maxAggregateBytes: 4_096,
    });
    const sent = events(3_000);
    for (const event of sent) shipper.ship(event);
    await shipper.flush();
    expect(shipper.stats.foundStored).toBeGreaterThan(0);
    expect(shipper.stats).toMatchObject({ sent: 3_000, dropped: 0 });
    const { records } = await readStream(clients.kinesis, "ship");
    expect(assertDelivered(sent, records)).toBe(0);
  }, 60_000);

  it("`ticklake send` sends each line once when answers are lost inside the SDK's retries", async () => {
    const clients = clientsOf(emulators.endpoints);
    // Lost where the SDK would retry the call, on whichever Kinesis client `send` ships with.
    const calls = injectLostAnswers([clients.kinesis, clients.shippingKinesis], "deserialize");
    const sent = events(600);
    const file = join(state.dir, "events.jsonl");
    await writeFile(file, `${sent.map((event) => JSON.stringify(event)).join("\n")}\n`);
    const result = await send(clients, "ship", file);
    expect(calls()).toBeGreaterThan(0); // the first call's answer, at least, was lost
    expect(result).toEqual({ lines: 600, sent: 600, invalid: 0 });
    const { records } = await readStream(clients.kinesis, "ship");
    expect(assertDelivered(sent, records)).toBe(0);
  }, 60_000);

  it("keeps what Kinesis could not take in the spool across a restart of the process", async () => {
    const kinesisPort = Number(new URL(emulators.endpoints.kinesis).port);
    await emulators.stop();
    let clients = clientsOf(emulators.endpoints);
    const first = new KinesisShipper({
      kinesis: clients.kinesis,
      streamName: "ship",
      spoolDir: `${state.dir}/spool`,
    });
    const sent = events(1_500);
    for (const event of sent) first.ship(event);
    expect(await first.close(300)).toBe(1_500);

    emulators = await startEmulators({ stateDir: state.dir, kinesisPort });
    clients = clientsOf(emulators.endpoints);
    const second = new KinesisShipper({
      kinesis: clients.kinesis,
      streamName: "ship",
      spoolDir: `${state.dir}/spool`,
    });
    expect(second.buffered).toBe(1_500);
    await second.flush();
    const { records } = await readStream(clients.kinesis, "ship");
    expect(assertDelivered(sent, records)).toBe(0);
    expect(second.buffered).toBe(0);
  }, 60_000);

  it("on a worker thread: hands records over in batches and delivers them all, in order, with its counters", async () => {
    const clients = clientsOf(emulators.endpoints);
    const shipper = new ShipperWorker({
      clientOptions: localClientOptions(emulators.endpoints),
      streamName: "ship",
    });
    const sent = events(3_000);
    // Raw lines travel too: multi-byte characters in text and key, and one record larger than
    // a hand-over buffer (256 KiB), between the envelopes.
    const raw = ["line with a\nnewline, 12:colons, € and 😀", `${"x".repeat(300_000)}€`];
    for (const [i, event] of sent.entries()) {
      shipper.ship(event);
      if (i === 1_000) shipper.shipRaw(raw[0] as string, "7:kéy");
      if (i === 2_000) shipper.shipRaw(raw[1] as string, "7:kéy");
    }
    expect(() => shipper.shipRaw("no key", "")).toThrow(/partitionKey must be 1 to 256 characters \(got 0/);
    await shipper.flush();
    expect(shipper.stats).toMatchObject({ queued: 3_002, sent: 3_002, dropped: 0, refused: 0 });
    expect(shipper.buffered).toBe(0);
    expect(await shipper.close(1_000)).toBe(0);
    const { records } = await readStream(clients.kinesis, "ship");
    const rawRecords = records.filter((r) => r.partitionKey === "7:kéy");
    expect(rawRecords.map((r) => Buffer.from(r.data).toString())).toEqual(raw);
    expect(
      assertDelivered(
        sent,
        records.filter((r) => r.partitionKey !== "7:kéy"),
      ),
    ).toBe(0);
  });

  it("on a worker thread: refuses, and counts, records past its hand-over bound", async () => {
    const clients = clientsOf(emulators.endpoints);
    const shipper = new ShipperWorker({
      clientOptions: localClientOptions(emulators.endpoints),
      streamName: "ship",
      maxHandOverRecords: 1_000,
    });
    const sent = events(3_000);
    const accepted: Envelope[] = [];
    // In one turn of the event loop the worker cannot report taking anything in.
    for (const event of sent) {
      try {
        shipper.ship(event);
        accepted.push(event);
      } catch (error) {
        expect(error).toBeInstanceOf(ShipperFullError);
      }
    }
    expect(accepted).toHaveLength(1_000);
    await shipper.flush();
    expect(shipper.stats).toMatchObject({ queued: 1_000, sent: 1_000, refused: 2_000, dropped: 0 });
    // Once the worker has taken them in, there is room again.
    const later = events(3_500).slice(3_000);
    for (const event of later) shipper.ship(event);
    await shipper.flush();
    expect(shipper.stats).toMatchObject({ queued: 1_500, sent: 1_500, refused: 2_000 });
    await shipper.close(1_000);
    const { records } = await readStream(clients.kinesis, "ship");
    expect(assertDelivered([...accepted, ...later], records)).toBe(0);
  });

  it("on a worker thread: when the thread dies mid-run, flush and close fail with why, and ship refuses and counts", async () => {
    // GIVEN a shipper whose thread ends (exit code 3) once it has taken records in
    const shipper = new ShipperWorker({
      clientOptions: localClientOptions(emulators.endpoints),
      streamName: "ship",
      threadEntry: new URL("../fixtures/shipper-thread-that-dies.mjs", import.meta.url),
    });
    for (const event of events(1_000)) shipper.ship(event);
    // WHEN it is flushed across the thread's death, and used after it
    const flushed = shipper.flush();
    // THEN the flush fails with the reason instead of waiting forever
    await expect(flushed).rejects.toThrow(ShipperStoppedError);
    await expect(flushed).rejects.toThrow(/thread exited with code 3/);
    const refusedBefore = shipper.stats.refused;
    expect(() => shipper.ship(fxQuote(Date.UTC(2026, 10, 26, 12)))).toThrow(ShipperStoppedError);
    expect(() => shipper.shipRaw("a line", "key")).toThrow(ShipperRefusal);
    expect(shipper.stats.refused).toBe(refusedBefore + 2);
    await expect(shipper.flush()).rejects.toThrow(ShipperStoppedError);
    await expect(shipper.close(1_000)).rejects.toThrow(ShipperStoppedError);
  });

  it("on a worker thread: a record that cannot be serialized is the caller's error, not a refusal, and spoils no other", async () => {
    const clients = clientsOf(emulators.endpoints);
    const shipper = new ShipperWorker({
      clientOptions: localClientOptions(emulators.endpoints),
      streamName: "ship",
    });
    const sent = events(1_000);
    // GIVEN an envelope the serializer cannot write (its data is missing), between good ones
    const broken = { ...stockQuote(Date.UTC(2026, 10, 26, 12)), data: undefined } as unknown as Envelope;
    for (const event of sent.slice(0, 500)) shipper.ship(event);
    // WHEN it is shipped
    // THEN it throws the serializer's own error, and nothing counts it as refused
    expect(() => shipper.ship(broken)).toThrow(TypeError);
    for (const event of sent.slice(500)) shipper.ship(event);
    await shipper.flush();
    expect(shipper.stats).toMatchObject({ queued: 1_000, sent: 1_000, refused: 0, dropped: 0 });
    expect(await shipper.close(1_000)).toBe(0);
    // AND every other record arrived whole, in order
    const { records } = await readStream(clients.kinesis, "ship");
    expect(assertDelivered(sent, records)).toBe(0);
  });
});
