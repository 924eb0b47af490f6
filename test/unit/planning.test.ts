import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { parseObjectKey } from "../../src/core/layout.ts";
import { packRecords } from "../../src/core/packing.ts";
import { manifestFor, ObjectManifest, planMalformedMessage, planObjects } from "../../src/core/planning.ts";
import { parquetEnvelopes, parquetSchema } from "../support/duckdb.ts";
import { fxQuote, streamRecords } from "../support/factories.ts";

const HOUR_09 = Date.UTC(2026, 10, 26, 9, 59, 59, 999);
const HOUR_10 = Date.UTC(2026, 10, 26, 10, 0, 0, 0);
const OPTIONS = { stream: "s", shardId: "shardId-000000000000", maxMessageBytes: 1_048_576 };

function lines(body: Uint8Array): string[] {
  return gunzipSync(body).toString("utf8").trim().split("\n");
}

describe("planObjects", () => {
  it("splits a message whose records span two hours into one object per hour partition", async () => {
    const records = streamRecords(
      [fxQuote(HOUR_09), fxQuote(HOUR_10), fxQuote(HOUR_10 + 5)].map((e) => JSON.stringify(e)),
    );
    const [message] = packRecords(records, OPTIONS);
    if (!message) throw new Error("no message");
    const plans = planObjects(message);

    expect(plans.map((p) => [p.kind, p.key, p.records])).toEqual([
      [
        "lake",
        `lake/fx_quotes/dt=2026-11-26/hour=09/shardId-000000000000-${message.firstSeq}-${message.lastSeq}.parquet`,
        1,
      ],
      [
        "lake",
        `lake/fx_quotes/dt=2026-11-26/hour=10/shardId-000000000000-${message.firstSeq}-${message.lastSeq}.parquet`,
        2,
      ],
    ]);
    expect(plans[1]?.minTime).toBe("2026-11-26T10:00:00.000Z");
    expect(plans[1]?.maxTime).toBe("2026-11-26T10:00:00.005Z");
    const early = await parquetEnvelopes("fx_quotes", plans[0]?.body ?? new Uint8Array());
    expect(early.map((e) => e.ts)).toEqual(["2026-11-26T09:59:59.999Z"]);
  });

  it("maps the same message to the same keys every time", () => {
    const [message] = packRecords(streamRecords([JSON.stringify(fxQuote(HOUR_10))]), OPTIONS);
    if (!message) throw new Error("no message");
    expect(planObjects(message).map((p) => p.key)).toEqual(planObjects(message).map((p) => p.key));
  });

  it("quarantines invalid records with their violations and source, and stores the rest", () => {
    const good = JSON.stringify(fxQuote(HOUR_10));
    const noisy = good.replace('"bid":1.08412', '"bid":1.0841200000000001');
    const records = streamRecords([good, noisy, good.replace("fx.quote", "fx.quote")], HOUR_10 + 1_000);
    const [message] = packRecords(records, OPTIONS);
    if (!message) throw new Error("no message");
    const plans = planObjects(message);

    const quarantine = plans.find((p) => p.kind === "quarantine");
    expect(plans.filter((p) => p.kind === "lake").map((p) => p.records)).toEqual([2]);
    expect(quarantine?.key).toBe(
      `quarantine/fx_quotes/dt=2026-11-26/hour=10/shardId-000000000000-${message.firstSeq}-${message.lastSeq}.jsonl.gz`,
    );
    const [entry] = lines(quarantine?.body ?? new Uint8Array()).map((l) => JSON.parse(l));
    expect(entry).toEqual({
      reason: "invalid_record",
      violations: [
        {
          field: "data.bid",
          value: Number("1.0841200000000001"),
          rule: "custom: must have at most 5 decimal places for EURUSD",
        },
      ],
      source: {
        stream: "s",
        shardId: "shardId-000000000000",
        sequenceNumber: records[1]?.sequenceNumber,
        arrivedAt: new Date(HOUR_10 + 1_001).toISOString(),
      },
      raw: { seq: records[1]?.sequenceNumber, at: HOUR_10 + 1_001, text: noisy },
    });
  });

  it("writes valid records as Parquet that DuckDB reads back exactly, with the derived schema", async () => {
    const envelopes = [fxQuote(HOUR_10), fxQuote(HOUR_10 + 1, "USDJPY"), fxQuote(HOUR_10 + 2)];
    const [message] = packRecords(streamRecords(envelopes.map((e) => ` ${JSON.stringify(e)} `)), OPTIONS);
    if (!message) throw new Error("no message");
    const [plan] = planObjects(message);
    expect(plan?.contentType).toBe("application/vnd.apache.parquet");
    expect(await parquetEnvelopes("fx_quotes", plan?.body ?? new Uint8Array())).toEqual(envelopes);
    expect(await parquetSchema(plan?.body ?? new Uint8Array())).toEqual([
      { name: "v", type: "INTEGER" },
      { name: "id", type: "VARCHAR" },
      { name: "ts", type: "TIMESTAMP WITH TIME ZONE" },
      { name: "source_service", type: "VARCHAR" },
      { name: "source_instance", type: "VARCHAR" },
      { name: "pair", type: "VARCHAR" },
      { name: "bid", type: "DECIMAL(18,5)" },
      { name: "ask", type: "DECIMAL(18,5)" },
    ]);
  });
});

describe("manifests", () => {
  it("describes an object in the contract's shape", () => {
    const [message] = packRecords(streamRecords([JSON.stringify(fxQuote(HOUR_10))]), OPTIONS);
    if (!message) throw new Error("no message");
    const [plan] = planObjects(message);
    if (!plan) throw new Error("no plan");
    const manifest = manifestFor(plan, "bucket-1", message);
    expect(ObjectManifest.parse(manifest)).toEqual(manifest);
    expect(manifest).toMatchObject({
      kind: "lake",
      bucket: "bucket-1",
      dataset: "fx_quotes",
      dt: "2026-11-26",
      hour: "10",
      records: 1,
      bytes: plan.body.byteLength,
      source: {
        stream: "s",
        shardId: "shardId-000000000000",
        firstSeq: message.firstSeq,
        lastSeq: message.lastSeq,
      },
    });
    expect(parseObjectKey(manifest.key)).toEqual({
      area: "lake",
      dataset: "fx_quotes",
      partition: { dt: "2026-11-26", hour: "10" },
    });
    // The table layer's statistics travel with the announcement: hours since the epoch, counts by field id.
    expect(manifest.iceberg).toMatchObject({
      tsHour: HOUR_10 / 3_600_000,
      recordCount: 1,
      valueCounts: { "1": 1, "2": 1, "3": 1, "8": 1 },
    });
    expect(Object.keys(manifest.iceberg?.columnSizes ?? {})).toHaveLength(8);
  });

  it("announces quarantine objects without table statistics", () => {
    const [message] = packRecords(streamRecords(["not json"]), OPTIONS);
    if (!message) throw new Error("no message");
    const manifests = planObjects(message).map((plan) => manifestFor(plan, "b", message));
    expect(manifests.map((manifest) => [manifest.kind, manifest.iceberg])).toEqual([
      ["quarantine", undefined],
    ]);
  });

  it("quarantines a body that is no packed message under the SQS message id", () => {
    const plan = planMalformedMessage("hello", "m-1", HOUR_09, "not JSON");
    expect(plan.key).toBe("quarantine/_unrecognised/dt=2026-11-26/hour=09/sqs-m-1.jsonl.gz");
    expect(JSON.parse(lines(plan.body)[0] ?? "")).toMatchObject({ reason: "invalid_message", raw: "hello" });
    expect(manifestFor(plan, "b", undefined).source).toBeNull();
  });
});
