import { describe, expect, it } from "vitest";
import { hasAtMostPlaces } from "../../src/core/decimal.ts";
import { envelopeOf, validateRecord } from "../../src/core/events.ts";
import { fxPrecision } from "../../src/core/instruments.ts";
import { MarketSimulator } from "../../src/core/simulator.ts";

const START = Date.UTC(2026, 10, 26, 14, 30);

describe("MarketSimulator", () => {
  it("gives the same market for the same seed, and another for another seed", () => {
    const run = (seed: number) => {
      const sim = new MarketSimulator({ seed, startMs: START });
      return Array.from({ length: 200 }, (_, i) => sim.advance(START + (i + 1) * 1_000));
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it("keeps bid < ask, prices > 0, quoting precision, and triangular consistency over 10,000 steps", () => {
    const sim = new MarketSimulator({ seed: 1, startMs: START });
    for (let step = 1; step <= 10_000; step++) {
      const tick = sim.advance(START + step * 1_000);
      for (const quote of tick.fx) {
        expect(quote.bid).toBeGreaterThan(0);
        expect(quote.bid).toBeLessThan(quote.ask);
        expect(hasAtMostPlaces(quote.bid, fxPrecision(quote.pair))).toBe(true);
      }
      for (const quote of tick.stocks) {
        expect(quote.bid).toBeGreaterThan(0);
        expect(quote.bid).toBeLessThan(quote.ask);
        expect(hasAtMostPlaces(quote.last, 2)).toBe(true);
      }
      // EURGBP mid = EURUSD mid / GBPUSD mid, within one pip
      const cross = sim.fxMid("EURGBP");
      expect(Math.abs(cross - sim.fxMid("EURUSD") / sim.fxMid("GBPUSD"))).toBeLessThan(0.0001);
    }
  });

  it("produces quotes and news that pass the event contract", () => {
    const sim = new MarketSimulator({ seed: 3, startMs: START });
    let articles = 0;
    for (let step = 1; step <= 600; step++) {
      const tick = sim.advance(START + step * 10_000);
      const source = { service: "t", instance: "1" };
      const envelopes = [
        ...tick.fx.map((q) => envelopeOf("fx.quote", q, source, tick.atMs)),
        ...tick.stocks.map((q) => envelopeOf("stock.quote", q, source, tick.atMs)),
        ...tick.news.map((a) => envelopeOf("news.article", a, source, tick.atMs)),
      ];
      articles += tick.news.length;
      for (const envelope of envelopes) expect(validateRecord(JSON.stringify(envelope)).ok).toBe(true);
    }
    // About one article a simulated minute: 100 minutes here
    expect(articles).toBeGreaterThan(50);
    expect(articles).toBeLessThan(150);
  });
});
