import { describe, expect, it } from "vitest";
import { hasAtMostPlaces } from "../../src/core/decimal.ts";
import { envelopeOf, validateRecord } from "../../src/core/events.ts";
import { fxPrecision } from "../../src/core/instruments.ts";
import { MarketSimulator, usSessionAt } from "../../src/core/simulator.ts";

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
    // Violations are collected and asserted once: a million `expect` calls took most of a minute.
    const violations: string[] = [];
    const check = (ok: boolean, what: () => string) => {
      if (!ok) violations.push(what());
    };
    for (let step = 1; step <= 10_000; step++) {
      const tick = sim.advance(START + step * 1_000);
      for (const quote of tick.fx) {
        const at = () => `step ${step} ${quote.pair} bid ${quote.bid} ask ${quote.ask}`;
        check(quote.bid > 0, at);
        check(quote.bid < quote.ask, at);
        check(hasAtMostPlaces(quote.bid, fxPrecision(quote.pair)), at);
      }
      for (const quote of tick.stocks) {
        const at = () => `step ${step} ${quote.symbol} bid ${quote.bid} ask ${quote.ask} last ${quote.last}`;
        check(quote.bid > 0, at);
        check(quote.bid < quote.ask, at);
        check(hasAtMostPlaces(quote.last, 2), at);
      }
      // EURGBP mid = EURUSD mid / GBPUSD mid, within one pip
      const cross = sim.fxMid("EURGBP");
      const implied = sim.fxMid("EURUSD") / sim.fxMid("GBPUSD");
      check(Math.abs(cross - implied) < 0.0001, () => `step ${step} EURGBP ${cross} vs ${implied}`);
    }
    expect(violations).toEqual([]);
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

  it("moves the instrument an article names in the direction of its sentiment, in at least 90 % of 10,000 articles", () => {
    const sim = new MarketSimulator({ seed: 21, startMs: START, newsPerMinute: 60 });
    const currencies = ["EUR", "GBP", "JPY", "CHF", "AUD", "CAD", "NZD"];
    const currencyValues = () => new Map(currencies.map((c) => [c, sim.fxMid(`${c}USD`)]));
    let previousCurrencies = currencyValues();
    let previousStocks = new Map(sim.advance(START).stocks.map((q) => [q.symbol, q.last]));
    let articles = 0;
    let agreeing = 0;
    let macro = 0;
    for (let step = 1; articles < 10_000; step++) {
      const tick = sim.advance(START + step * 1_000);
      const nowCurrencies = currencyValues();
      const nowStocks = new Map(tick.stocks.map((q) => [q.symbol, q.last]));
      for (const article of tick.news) {
        const instrument = article.symbols[0] as string;
        const central = article.category === "central_bank";
        const before = (central ? previousCurrencies : previousStocks).get(instrument);
        const after = (central ? nowCurrencies : nowStocks).get(instrument);
        if (before === undefined || after === undefined) continue;
        articles++;
        if (central) macro++;
        if (Math.sign(after - before) === Math.sign(article.sentiment)) agreeing++;
      }
      previousCurrencies = nowCurrencies;
      previousStocks = nowStocks;
    }
    expect(agreeing / articles).toBeGreaterThanOrEqual(0.9);
    // Central-bank decisions about currencies are part of the feed.
    expect(macro / articles).toBeGreaterThan(0.1);
    expect(macro / articles).toBeLessThan(0.2);
  });

  it("knows the US sessions in New York time, across daylight saving", () => {
    const at = (iso: string) => usSessionAt(Date.parse(iso));
    expect(at("2026-11-24T08:59:00Z")).toBe("closed"); // 03:59 EST
    expect(at("2026-11-24T09:00:00Z")).toBe("pre-market"); // 04:00 EST
    expect(at("2026-11-24T14:29:00Z")).toBe("pre-market");
    expect(at("2026-11-24T14:30:00Z")).toBe("regular"); // 09:30 EST
    expect(at("2026-11-24T21:00:00Z")).toBe("after-hours"); // 16:00 EST
    expect(at("2026-11-25T01:00:00Z")).toBe("closed"); // 20:00 EST
    expect(at("2026-07-14T13:45:00Z")).toBe("regular"); // 09:45 EDT
    expect(at("2026-11-28T15:00:00Z")).toBe("closed"); // a Saturday
  });

  it("rests the stock market when it is closed, while FX trades on, and thins activity outside the regular session", () => {
    const saturday = Date.parse("2026-11-28T15:00:00Z");
    const sim = new MarketSimulator({ seed: 4, startMs: saturday, session: "us" });
    const before = sim.stockQuote("AAPL").last;
    const tick = sim.advance(saturday + 60_000);
    expect(tick.session).toBe("closed");
    expect(tick.stocks).toEqual([]);
    expect(tick.fx).toHaveLength(12);
    expect(sim.stockQuote("AAPL").last).toBe(before);

    const volumes = (startIso: string) => {
      const start = Date.parse(startIso);
      const s = new MarketSimulator({ seed: 4, startMs: start, session: "us" });
      let total = 0;
      for (let i = 1; i <= 100; i++) for (const q of s.advance(start + i * 1_000).stocks) total += q.volume;
      return total;
    };
    expect(volumes("2026-11-24T15:00:00Z")).toBeGreaterThan(2 * volumes("2026-11-24T22:00:00Z"));
  });

  it("widens spreads while news keeps an instrument volatile", () => {
    const sim = new MarketSimulator({ seed: 8, startMs: START, newsPerMinute: 60 });
    const spread = (pair: "EURUSD" | "GBPUSD") => {
      const q = sim.fxQuote(pair);
      return q.ask - q.bid;
    };
    const calm = spread("EURUSD");
    let widened = false;
    for (let step = 1; step < 2_000 && !widened; step++) {
      const tick = sim.advance(START + step * 1_000);
      if (tick.news.some((a) => a.symbols[0] === "EUR" && Math.abs(a.sentiment) > 0.5))
        widened = spread("EURUSD") > calm * 1.5;
    }
    expect(widened).toBe(true);
  });
});
