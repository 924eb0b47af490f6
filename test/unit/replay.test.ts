/**
 * Replay planning: re-read records map back to the keys they were stored under, missing ones
 * get ranges that overlap no stored one, and replaying twice adds nothing.
 */
import { describe, expect, it } from "vitest";
import { type Envelope, envelopeOf } from "../../src/core/events.ts";
import { type PackedMessage, packRecords, type StreamRecord } from "../../src/core/packing.ts";
import { planObjects } from "../../src/core/planning.ts";
import { cleanPrefixLength, planReplay, StoredRanges, storedRangeOf } from "../../src/core/replay.ts";
import { fxQuote, httpRequest, SOURCE, stockQuote, streamRecords } from "../support/factories.ts";

const T0 = Date.UTC(2026, 10, 26, 9, 59, 30);
const OPTIONS = { stream: "s", shardId: "shardId-000000000000", maxMessageBytes: 4_096 };

/** Records of four kinds, with one malformed, crossing an hour boundary (10:00). */
function shardRecords(count: number): StreamRecord[] {
  const makers = [fxQuote, stockQuote, httpRequest];
  const texts = Array.from({ length: count }, (_, i) => {
    if (i === 17) return "{not json";
    const envelope: Envelope = makers[i % 3]?.(T0 + i * 1_000) ?? fxQuote(T0);
    return JSON.stringify(envelope);
  });
  return streamRecords(texts, T0);
}

/** Keys the processor writes for these messages. */
const keysOf = (messages: readonly PackedMessage[]) =>
  messages.flatMap((m) => planObjects(m).map((p) => p.key));

/** Stores records as the bridge would: batch by batch. */
function bridged(records: readonly StreamRecord[], batchSize: number): PackedMessage[] {
  const messages: PackedMessage[] = [];
  for (let i = 0; i < records.length; i += batchSize)
    messages.push(...packRecords(records.slice(i, i + batchSize), OPTIONS));
  return messages;
}

const recordsIn = (messages: readonly PackedMessage[]) =>
  messages.flatMap((m) => m.records.map((r) => r.seq)).sort();

describe("storedRangeOf", () => {
  it("reads shard, dataset and sequence range back from lake and quarantine keys", () => {
    expect(
      storedRangeOf(
        "lake/fx_quotes/dt=2026-11-26/hour=10/shardId-000000000001-4960.000001-4970.000000.parquet",
      ),
    ).toEqual({
      shardId: "shardId-000000000001",
      dataset: "fx_quotes",
      firstSeq: "4960.000001",
      lastSeq: "4970.000000",
    });
    expect(
      storedRangeOf("quarantine/unrecognised/dt=2026-11-26/hour=10/shardId-000000000000-1-9.jsonl.gz"),
    ).toMatchObject({
      dataset: "unrecognised",
      firstSeq: "1",
      lastSeq: "9",
    });
    expect(storedRangeOf("quarantine/unrecognised/dt=2026-11-26/hour=10/sqs-3f2a.jsonl.gz")).toBeUndefined();
    expect(storedRangeOf("lake/fx_quotes/shardId-000000000001-1-2.parquet")).toBeUndefined();
  });
});

describe("planReplay", () => {
  const records = shardRecords(120);
  const stored = bridged(records, 25);
  const storedKeys = new Set(keysOf(stored));

  it("sends every stored record again under the identity it was stored with", () => {
    const plan = planReplay(records, StoredRanges.fromKeys(storedKeys), OPTIONS);
    expect(plan).toMatchObject({ restated: 120, missing: 0, skipped: 0 });
    expect(new Set(keysOf(plan.messages))).toEqual(storedKeys);
    expect(plan.messages.map((m) => [m.firstSeq, m.lastSeq]).sort()).toEqual(
      stored.map((m) => [m.firstSeq, m.lastSeq]).sort(),
    );
  });

  it("restores a lost object at its own key, packs unstored records anew, and a second replay adds nothing", () => {
    // A message split over two hours lost one of its objects; another message was never stored.
    const split = stored.find((m) => keysOf([m]).length === 2) as PackedMessage;
    const lost = keysOf([split]).slice(1);
    const unstored = stored.find((m) => m !== split && m.records.length > 5) as PackedMessage;
    const left = new Set([...storedKeys].filter((k) => !lost.includes(k) && !keysOf([unstored]).includes(k)));

    const plan = planReplay(records, StoredRanges.fromKeys(left), OPTIONS);
    expect(plan.missing).toBe(unstored.records.length);
    expect(plan.restated).toBe(120 - unstored.records.length);
    expect(recordsIn(plan.messages)).toEqual(records.map((r) => r.sequenceNumber).sort());
    const written = new Set(keysOf(plan.messages));
    for (const key of lost) expect(written.has(key)).toBe(true);

    // The new ranges overlap no stored range of their dataset.
    const ranges = StoredRanges.fromKeys(left);
    const fresh = plan.messages.filter((m) => !keysOf([m]).every((k) => left.has(k) || lost.includes(k)));
    expect(fresh.length).toBeGreaterThan(0);
    for (const message of fresh) {
      for (const record of message.records)
        expect(ranges.find(OPTIONS.shardId, message.dataset, record.seq)).toBeUndefined();
    }

    // Everything is now stored: a second replay maps onto existing keys only.
    const after = new Set([...left, ...written]);
    const again = planReplay(records, StoredRanges.fromKeys(after), OPTIONS);
    expect(again).toMatchObject({ restated: 120, missing: 0 });
    for (const key of keysOf(again.messages)) expect(after.has(key)).toBe(true);
  });

  it("never bridges a run of missing records across a stored range of the same dataset", () => {
    const texts = [1, 2, 3, 4, 5].map((i) => JSON.stringify(fxQuote(T0 + i)));
    const five = streamRecords(texts, T0);
    // Records 2-4 were stored as one message; 1 and 5 never were.
    const middle = packRecords(five.slice(1, 4), OPTIONS);
    const plan = planReplay(five, StoredRanges.fromKeys(keysOf(middle)), OPTIONS);
    expect(plan).toMatchObject({ restated: 3, missing: 2 });
    expect(plan.messages.map((m) => m.records.map((r) => r.seq))).toEqual([
      [five[0]?.sequenceNumber],
      five.slice(1, 4).map((r) => r.sequenceNumber),
      [five[4]?.sequenceNumber],
    ]);
  });

  it("skips a stored message that the read only partly covers, at either end", () => {
    const plan = planReplay(records.slice(10, 60), StoredRanges.fromKeys(storedKeys), OPTIONS);
    const whole = stored.filter(
      (m) =>
        m.firstSeq >= (records[10]?.sequenceNumber ?? "") && m.lastSeq <= (records[59]?.sequenceNumber ?? ""),
    );
    expect(plan.restated).toBe(whole.reduce((sum, m) => sum + m.records.length, 0));
    expect(plan.skipped).toBe(50 - plan.restated);
    expect(plan.skipped).toBeGreaterThan(0);
  });
});

describe("cleanPrefixLength", () => {
  it("cuts only where no stored message goes on, so pieces plan like the whole", () => {
    const records = shardRecords(120);
    const ranges = StoredRanges.fromKeys(keysOf(bridged(records, 25)));
    const cut = cleanPrefixLength(records, ranges, OPTIONS, 30);
    // The bridge's batches end at 25, 50, 75, 100: the last one before the end of the read.
    expect(cut).toBe(100);
    const whole = planReplay(records, ranges, OPTIONS);
    const pieces = [
      ...planReplay(records.slice(0, cut), ranges, OPTIONS).messages,
      ...planReplay(records.slice(cut), ranges, OPTIONS).messages,
    ];
    expect(keysOf(pieces).sort()).toEqual(keysOf(whole.messages).sort());
    expect(cleanPrefixLength(records.slice(0, 40), ranges, OPTIONS, 30)).toBe(0);
  });

  it("can cut anywhere in records no stored message holds", () => {
    const records = streamRecords(
      Array.from({ length: 10 }, (_, i) =>
        JSON.stringify(envelopeOf("fx.quote", { pair: "EURUSD", bid: 1.1, ask: 1.2 }, SOURCE, T0 + i)),
      ),
    );
    expect(cleanPrefixLength(records, new StoredRanges(), OPTIONS, 4)).toBe(9);
  });
});
