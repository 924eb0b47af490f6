/**
 * The dashboard chart's price axis (src/dashboard/public/chart.js): round ticks that an axis
 * can always label, whatever the price range a few ticks of a quote happen to span.
 */
import { describe, expect, it } from "vitest";
// @ts-expect-error: the dashboard's browser module is plain JavaScript, without types.
import { priceTicks } from "../../src/dashboard/public/chart.js";

const ticksOf = priceTicks as (low: number, high: number, count: number) => number[];

describe("price axis ticks", () => {
  it("gives at least three round, evenly spaced ticks inside the range, for narrow and wide ranges", () => {
    // GIVEN ranges from a hundred-thousandth of a price to thousands, seeded
    let seed = 7;
    const next = () => {
      seed = (seed * 16_807) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    for (let i = 0; i < 5_000; i++) {
      const low = 0.5 + next() * 500;
      const high = low + low * 10 ** (-5 + next() * 5);
      const count = 2 + Math.floor(next() * 6);
      // WHEN ticked
      const ticks = ticksOf(low, high, count);
      // THEN three or more, within [low, high], one round step apart
      expect(ticks.length, `${low}..${high} / ${count}`).toBeGreaterThanOrEqual(3);
      expect(ticks[0]).toBeGreaterThanOrEqual(low - 1e-9);
      expect(ticks.at(-1)).toBeLessThanOrEqual(high + 1e-9);
      const step = (ticks[1] as number) - (ticks[0] as number);
      const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
      expect(
        [1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-6),
        `step ${step}`,
      ).toBe(true);
      for (let k = 1; k < ticks.length; k++) {
        expect((ticks[k] as number) - (ticks[k - 1] as number)).toBeCloseTo(step, 9);
      }
    }
  });

  it("keeps the step the requested count asks for when it already gives three ticks", () => {
    expect(ticksOf(0, 100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
  });
});
