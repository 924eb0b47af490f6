import { describe, expect, it } from "vitest";
import { hasAtMostPlaces, roundTo } from "../../src/core/decimal.ts";

describe("decimals", () => {
  it("rounds float noise away", () => {
    expect(roundTo(0.1 + 0.2, 2)).toBe(0.3);
    expect(String(roundTo(1.0841249999, 5))).toBe("1.08412");
    expect(roundTo(151.4825, 3)).toBe(151.483);
  });

  it("tells a clean decimal from float noise", () => {
    expect(hasAtMostPlaces(0.3, 2)).toBe(true);
    expect(hasAtMostPlaces(0.1 + 0.2, 2)).toBe(false);
    expect(hasAtMostPlaces(189.46, 2)).toBe(true);
    expect(hasAtMostPlaces(189.465, 2)).toBe(false);
    expect(hasAtMostPlaces(Number.NaN, 2)).toBe(false);
    expect(hasAtMostPlaces(Number.POSITIVE_INFINITY, 2)).toBe(false);
  });

  it("keeps every 5-decimal price of a random walk exact", () => {
    let price = 1.0845;
    for (let i = 0; i < 10_000; i++) {
      price = roundTo(price + Math.sin(i) * 0.0003, 5);
      expect(hasAtMostPlaces(price, 5)).toBe(true);
      expect(String(price).split(".")[1]?.length ?? 0).toBeLessThanOrEqual(5);
    }
  });

  it("rejects a number of places it cannot represent", () => {
    expect(() => roundTo(1, 9)).toThrow("places must be an integer between 0 and 8 (got 9)");
  });
});
