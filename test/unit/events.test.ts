import { decodeTime, isValid } from "ulid";
import { describe, expect, it } from "vitest";
import { claimedDataset, nextId, validateRecord } from "../../src/core/events.ts";
import { fxQuote, httpRequest, newsArticle, stockQuote } from "../support/factories.ts";

const AT = Date.UTC(2026, 10, 26, 9, 30, 0, 123);

describe("validateRecord", () => {
  it.each([
    ["fx.quote", fxQuote(AT), "fx_quotes"],
    ["fx.quote JPY", fxQuote(AT, "USDJPY"), "fx_quotes"],
    ["stock.quote", stockQuote(AT), "stock_quotes"],
    ["news.article", newsArticle(AT), "news"],
    ["http.request", httpRequest(AT), "http_requests"],
  ])("accepts a valid %s envelope and names its dataset", (_, envelope, dataset) => {
    const verdict = validateRecord(JSON.stringify(envelope));
    expect(verdict).toEqual({ ok: true, event: envelope, dataset });
  });

  it("refuses float noise in a price, naming the field, the value and the rule", () => {
    const envelope = fxQuote(AT);
    const text = JSON.stringify(envelope).replace('"bid":1.08412', '"bid":1.0841200000000001');
    // Prepare: 1.0841200000000001 parses to a different double than 1.08412
    expect(JSON.parse(text).data.bid).not.toBe(1.08412);
    const verdict = validateRecord(text);
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.violations).toContainEqual({
      field: "data.bid",
      value: Number("1.0841200000000001"),
      rule: "custom: must have at most 5 decimal places for EURUSD",
    });
  });

  it("allows 3 decimals for JPY pairs but not 4", () => {
    const text = JSON.stringify(fxQuote(AT, "USDJPY")).replace('"bid":151.482', '"bid":151.4821');
    const verdict = validateRecord(text);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.violations[0]?.field).toBe("data.bid");
  });

  it("refuses a crossed quote (bid not below ask)", () => {
    const text = JSON.stringify(stockQuote(AT)).replace('"bid":189.45', '"bid":189.5');
    const verdict = validateRecord(text);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok)
      expect(verdict.violations).toEqual([
        { field: "data.ask", value: 189.47, rule: "custom: must be greater than bid" },
      ]);
  });

  it("refuses a record that is not JSON, with the parse error as the rule", () => {
    const verdict = validateRecord("{not json");
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) {
      expect(verdict.violations).toHaveLength(1);
      expect(verdict.violations[0]?.field).toBe("$");
      expect(verdict.violations[0]?.value).toBe("{not json");
      expect(verdict.violations[0]?.rule).toMatch(/^must be JSON: /);
    }
  });

  it("refuses unknown fields, unknown types, other versions and timestamps without milliseconds", () => {
    const base = stockQuote(AT);
    const cases: Array<[unknown, string]> = [
      [{ ...base, extra: 1 }, "$"],
      [{ ...base, type: "crypto.quote" }, "type"],
      [{ ...base, v: 2 }, "v"],
      [{ ...base, ts: "2026-11-26T09:30:00Z" }, "ts"],
      [{ ...base, id: "not-a-ulid" }, "id"],
    ];
    for (const [record, field] of cases) {
      const verdict = validateRecord(JSON.stringify(record));
      expect(verdict.ok, JSON.stringify(record)).toBe(false);
      if (!verdict.ok) expect(verdict.violations.map((v) => v.field)).toContain(field);
    }
  });

  it("truncates long values in violations so one record cannot bloat its reason", () => {
    const verdict = validateRecord(`"${"x".repeat(5_000)}"`);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(String(verdict.violations[0]?.value).length).toBeLessThanOrEqual(201);
  });
});

describe("claimedDataset", () => {
  it("reads the dataset from the type without validating the rest", () => {
    expect(claimedDataset('{"type":"news.article"}')).toBe("news");
    expect(claimedDataset('{"type":"nope"}')).toBe("_unrecognised");
    expect(claimedDataset("[1,2]")).toBe("_unrecognised");
    expect(claimedDataset("garbage")).toBe("_unrecognised");
  });
});

describe("nextId", () => {
  it("mints valid, strictly increasing ULIDs that carry their millisecond", () => {
    // Later than any other id this process minted: the generator is one per process.
    const start = Date.UTC(2030, 0, 1);
    const ids: string[] = [];
    const times: number[] = [];
    // Many ids per millisecond, new milliseconds, and the clock stepping back by 5 ms twice.
    for (let i = 0; i < 20_000; i++) {
      const ms = start + Math.floor(i / 97) - (i % 1_000 === 999 ? 5 : 0);
      times.push(ms);
      ids.push(nextId(ms));
    }
    for (const id of ids) expect(isValid(id)).toBe(true);
    for (let i = 1; i < ids.length; i++) expect((ids[i] as string) > (ids[i - 1] as string)).toBe(true);
    // A new millisecond starts a new time part; a step back keeps the last one, as the library does.
    let latest = -1;
    for (let i = 0; i < ids.length; i++) {
      latest = Math.max(latest, times[i] as number);
      expect(decodeTime(ids[i] as string)).toBe(latest);
    }
  });

  it("draws a fresh random part each new millisecond", () => {
    const at = Date.UTC(2031, 0, 1);
    const randoms = new Set(Array.from({ length: 200 }, (_, i) => nextId(at + i * 2).slice(10)));
    expect(randoms.size).toBe(200);
  });
});
