import { describe, expect, it } from "vitest";
import { type Envelope, envelopeOf } from "../../src/core/events.ts";
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
