import { describe, expect, it } from "vitest";
import { quantile, spreadLatencies, weightedQuantile } from "../../src/core/stats.ts";

describe("quantiles", () => {
  it("gives the nearest-rank quantile of plain samples", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(quantile(values, 0.5)).toBe(50);
    expect(quantile(values, 0.99)).toBe(99);
    expect(quantile(values, 1)).toBe(100);
    expect(quantile(values, 0)).toBe(1);
    expect(quantile([], 0.5)).toBeUndefined();
    expect(() => quantile(values, 1.5)).toThrow(/q must be within/);
  });

  it("weighs samples: a heavy value pulls the median", () => {
    const samples = [
      { value: 10, weight: 1 },
      { value: 20, weight: 8 },
      { value: 30, weight: 1 },
      { value: 40, weight: 0 },
    ];
    expect(weightedQuantile(samples, 0.5)).toBe(20);
    expect(weightedQuantile(samples, 0.95)).toBe(30);
    expect(weightedQuantile(samples, 0.05)).toBe(10);
  });
});

describe("spreadLatencies", () => {
  it("spreads an object's records evenly from its newest record's latency to its oldest's", () => {
    const samples = spreadLatencies({
      minTimeMs: 1_000,
      maxTimeMs: 2_000,
      records: 300,
      receivedAtMs: 3_000,
    });
    expect(samples).toHaveLength(16);
    expect(samples[0]?.value).toBe(1_000);
    expect(samples.at(-1)?.value).toBe(2_000);
    expect(samples.reduce((sum, s) => sum + s.weight, 0)).toBeCloseTo(300);
    expect(weightedQuantile(samples, 0.5)).toBeCloseTo(1_466.7, 0);
  });

  it("gives one point per record when there are few, and none for an empty object", () => {
    expect(spreadLatencies({ minTimeMs: 0, maxTimeMs: 0, records: 1, receivedAtMs: 50 })).toEqual([
      { value: 50, weight: 1 },
    ]);
    expect(spreadLatencies({ minTimeMs: 0, maxTimeMs: 10, records: 3, receivedAtMs: 10 })).toEqual([
      { value: 0, weight: 1 },
      { value: 5, weight: 1 },
      { value: 10, weight: 1 },
    ]);
    expect(spreadLatencies({ minTimeMs: 0, maxTimeMs: 10, records: 0, receivedAtMs: 10 })).toEqual([]);
  });
});
