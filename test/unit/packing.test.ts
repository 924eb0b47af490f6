import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { PackedMessageError } from "../../src/core/errors.ts";
import {
  compareSequenceNumbers,
  OVERSIZE_PREVIEW_CHARS,
  packRecords,
  recordText,
  unpackMessage,
} from "../../src/core/packing.ts";
import { planObjects } from "../../src/core/planning.ts";
import { fxQuote, newsArticle, stockQuote, streamRecords } from "../support/factories.ts";

const AT = Date.UTC(2026, 10, 26, 10, 0, 0);
const OPTIONS = { stream: "s", shardId: "shardId-000000000001", maxMessageBytes: 1_048_576 };

describe("packRecords", () => {
  it("packs one message per dataset, in sequence order, carrying its identity", () => {
    const texts = [fxQuote(AT), stockQuote(AT), fxQuote(AT + 1), newsArticle(AT), "oops"].map((r) =>
      typeof r === "string" ? r : JSON.stringify(r),
    );
    const records = streamRecords(texts);
    const messages = packRecords(records, OPTIONS);

    expect(messages.map((m) => [m.dataset, m.records.length])).toEqual([
      ["fx_quotes", 2],
      ["stock_quotes", 1],
      ["news", 1],
      ["_unrecognised", 1],
    ]);
    const fx = messages[0];
    expect(fx?.firstSeq).toBe(records[0]?.sequenceNumber);
    expect(fx?.lastSeq).toBe(records[2]?.sequenceNumber);
    expect(fx?.records.map(recordText)).toEqual([texts[0], texts[2]]);
    expect(fx).toMatchObject({ v: 1, stream: "s", shardId: "shardId-000000000001" });
  });

  it("is a pure function of the batch: a retry yields identical messages", () => {
    const records = streamRecords(Array.from({ length: 300 }, (_, i) => JSON.stringify(stockQuote(AT + i))));
    expect(JSON.stringify(packRecords(records, OPTIONS))).toBe(JSON.stringify(packRecords(records, OPTIONS)));
  });

  it("keeps every message body within the byte limit and loses no record", () => {
    const texts = Array.from({ length: 2_000 }, (_, i) =>
      JSON.stringify(i % 3 ? stockQuote(AT + i) : fxQuote(AT + i)),
    );
    const maxMessageBytes = 16 * 1024;
    const messages = packRecords(streamRecords(texts), { ...OPTIONS, maxMessageBytes });
    expect(messages.length).toBeGreaterThan(10);
    for (const message of messages) {
      expect(Buffer.byteLength(JSON.stringify(message))).toBeLessThanOrEqual(maxMessageBytes);
    }
    const packed = messages.flatMap((m) => m.records.map((r) => r.seq)).sort(compareSequenceNumbers);
    expect(packed).toEqual(streamRecords(texts).map((r) => r.sequenceNumber));
  });

  it("carries binary records as base64, exactly", () => {
    const bytes = new Uint8Array([0xff, 0xfe, 0x00, 0x41]);
    const [message] = packRecords(streamRecords([bytes]), OPTIONS);
    expect(message?.dataset).toBe("_unrecognised");
    const record = message?.records[0];
    expect(record && "base64" in record ? Buffer.from(record.base64, "base64") : undefined).toEqual(
      Buffer.from(bytes),
    );
  });
});

describe("oversize records", () => {
  it("packs a record too large for any message as a preview, so its shard keeps moving, and the processor quarantines it", () => {
    const huge = JSON.stringify({ ...stockQuote(AT), padding: "x".repeat(40_000) });
    const small = JSON.stringify(stockQuote(AT + 1));
    const records = streamRecords([huge, small]);
    const messages = packRecords(records, { ...OPTIONS, maxMessageBytes: 16 * 1024 });
    for (const message of messages)
      expect(Buffer.byteLength(JSON.stringify(message))).toBeLessThanOrEqual(16 * 1024);
    const oversize = messages.flatMap((m) => m.records).find((r) => "oversize" in r);
    expect(oversize).toEqual({
      seq: records[0]?.sequenceNumber,
      at: records[0]?.arrivalMs,
      oversize: {
        bytes: Buffer.byteLength(huge),
        limit: 16 * 1024,
        preview: huge.slice(0, OVERSIZE_PREVIEW_CHARS),
      },
    });
    // It round-trips through SQS, and the processor quarantines it with its size as the reason.
    const unpacked = messages.map((m) => unpackMessage(JSON.stringify(m)));
    const plans = unpacked.flatMap(planObjects);
    const quarantine = plans.find((p) => p.kind === "quarantine");
    const [entry] = gunzipSync(quarantine?.body ?? new Uint8Array())
      .toString()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(entry.violations[0].rule).toBe(
      `oversize: the record is ${Buffer.byteLength(huge)} bytes; a packed SQS message holds at most 16384`,
    );
    expect(plans.filter((p) => p.kind === "lake").map((p) => p.records)).toEqual([1]);
  });
});

describe("unpackMessage", () => {
  it("round-trips a packed message", () => {
    const [message] = packRecords(streamRecords([JSON.stringify(fxQuote(AT))]), OPTIONS);
    expect(unpackMessage(JSON.stringify(message))).toEqual(message);
  });

  it.each([
    ["not JSON", "{", /not JSON/],
    ["another shape", '{"hello":1}', /not a packed ticklake message: v: /],
    [
      "no records",
      JSON.stringify({
        v: 1,
        stream: "s",
        shardId: "x",
        dataset: "news",
        firstSeq: "1",
        lastSeq: "1",
        records: [],
      }),
      /records: /,
    ],
  ])("says why a body is %s", (_, body, reason) => {
    expect(() => unpackMessage(body)).toThrow(PackedMessageError);
    expect(() => unpackMessage(body)).toThrow(reason);
  });
});

describe("compareSequenceNumbers", () => {
  it("orders decimal strings numerically, not lexically", () => {
    expect(compareSequenceNumbers("9", "10")).toBeLessThan(0);
    expect(
      compareSequenceNumbers(
        "4959000000000000000000000000000000000000000000000000000002",
        "4959000000000000000000000000000000000000000000000000000001",
      ),
    ).toBeGreaterThan(0);
    expect(compareSequenceNumbers("12", "12")).toBe(0);
  });
});
