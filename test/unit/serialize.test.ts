import { describe, expect, it } from "vitest";
import { type Envelope, envelopeOf, type NewsArticle } from "../../src/core/events.ts";
import { serializeEnvelope } from "../../src/core/serialize.ts";
import { MarketSimulator } from "../../src/core/simulator.ts";
import { httpRequest, SOURCE } from "../support/factories.ts";

describe("serializeEnvelope", () => {
  it("writes exactly what JSON.stringify writes, for every kind of simulated event", () => {
    const start = Date.UTC(2026, 10, 26, 14);
    const sim = new MarketSimulator({ seed: 5, startMs: start, newsPerMinute: 600 });
    const events: Envelope[] = [];
    for (let step = 1; step < 300; step++) {
      const tick = sim.advance(start + step * 1_000);
      for (const q of tick.fx) events.push(envelopeOf("fx.quote", q, SOURCE, tick.atMs));
      for (const q of tick.stocks) events.push(envelopeOf("stock.quote", q, SOURCE, tick.atMs));
      for (const a of tick.news) events.push(envelopeOf("news.article", a, SOURCE, tick.atMs));
      events.push(httpRequest(tick.atMs));
    }
    expect(new Set(events.map((e) => e.type)).size).toBe(4);
    for (const event of events) expect(serializeEnvelope(event)).toBe(JSON.stringify(event));
  });

  it("makes each article's JSON once, and an article cannot change after it is published", () => {
    const start = Date.UTC(2026, 10, 26, 14);
    const sim = new MarketSimulator({ seed: 6, startMs: start, newsPerMinute: 600 });
    const articles = Array.from({ length: 60 }, (_, step) => sim.advance(start + step * 1_000).news)
      .flat()
      .slice(0, 20);
    expect(articles.length).toBe(20);
    // Served again and again, in other envelopes, as a news page does: each time its own JSON.
    for (let round = 0; round < 3; round++)
      for (const article of articles.toReversed()) {
        const event = envelopeOf("news.article", article, SOURCE, start + round);
        expect(serializeEnvelope(event)).toBe(JSON.stringify(event));
      }
    const first = articles[0] as NewsArticle;
    expect(() => {
      first.headline = "changed";
    }).toThrow(TypeError);
    expect(() => first.symbols.push("XYZ")).toThrow(TypeError);
  });

  it("escapes what JSON escapes, and writes non-finite numbers as null", () => {
    const awkward = [
      'quote " and backslash \\',
      "new\nline\ttab\u0000nul\u001f",
      "emoji 😀 and ü",
      "lone \ud800 surrogate",
      "line separator \u2028 kept",
      "",
    ];
    for (const text of awkward) {
      const event = envelopeOf(
        "http.request",
        {
          requestId: "r",
          method: "GET",
          route: text,
          path: `/x?q=${text}`,
          status: 200,
          durationMs: 1.5,
          bytes: 3,
        },
        { service: text || "s", instance: "i" },
        0,
      );
      expect(serializeEnvelope(event)).toBe(JSON.stringify(event));
    }
    const odd = envelopeOf(
      "fx.quote",
      { pair: "EURUSD", bid: Number.NaN, ask: Number.POSITIVE_INFINITY },
      SOURCE,
      0,
    );
    expect(serializeEnvelope(odd)).toBe(JSON.stringify(odd));
  });
});
