import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { retime } from "../../src/cli/send.ts";
import { validateRecord } from "../../src/core/events.ts";
import { hourPartitionOf } from "../../src/core/layout.ts";

describe("examples/sample-events.ndjson", () => {
  const lines = readFileSync(new URL("../../examples/sample-events.ndjson", import.meta.url), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "");
  const verdicts = lines.map(validateRecord);

  it("holds 24 valid envelopes, 6 of each type, spanning two hour partitions", () => {
    const valid = verdicts.flatMap((v) => (v.ok ? [v] : []));
    expect(valid).toHaveLength(24);
    const perDataset: Record<string, number> = {};
    for (const verdict of valid) perDataset[verdict.dataset] = (perDataset[verdict.dataset] ?? 0) + 1;
    expect(perDataset).toEqual({
      fx_quotes: 6,
      stock_quotes: 6,
      news: 6,
      http_requests: 6,
    });
    const hours = new Set(valid.map((v) => hourPartitionOf(Date.parse(v.event.ts)).hour));
    expect([...hours].sort()).toEqual(["13", "14"]);
  });

  it("holds 4 malformed records, each refused for a stated reason", () => {
    const reasons = verdicts.flatMap((v) =>
      v.ok ? [] : [v.violations.map((x) => `${x.field}: ${x.rule}`).join("; ")],
    );
    expect(reasons).toHaveLength(4);
    expect(reasons[0]).toContain("data.bid: custom: must have at most 2 decimal places");
    expect(reasons[1]).toContain("type:");
    expect(reasons[2]).toMatch(/^\$: must be JSON/);
    expect(reasons[3]).toMatch(/^\$: must be JSON/);
  });
});

describe("retime", () => {
  it("shifts every ts so the latest is now, keeping the spacing, and leaves other lines alone", () => {
    const lines = [
      JSON.stringify({ id: "a", ts: "2026-01-01T10:00:00.000Z" }),
      "{not json",
      JSON.stringify({ id: "b", ts: "2026-01-01T10:00:02.500Z", data: { x: 1 } }),
      JSON.stringify({ id: "c" }),
    ];
    const now = Date.UTC(2026, 10, 26, 9, 0, 0);
    const out = retime(lines, now);
    expect(JSON.parse(out[0] ?? "")).toEqual({ id: "a", ts: "2026-11-26T08:59:57.500Z" });
    expect(out[1]).toBe("{not json");
    expect(JSON.parse(out[2] ?? "")).toEqual({ id: "b", ts: "2026-11-26T09:00:00.000Z", data: { x: 1 } });
    expect(out[3]).toBe(lines[3]);
    expect(retime(["{not json"], now)).toEqual(["{not json"]);
  });
});
