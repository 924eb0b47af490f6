import { describe, expect, it } from "vitest";
import { type Envelope, envelopeOf, type NewsArticle } from "../../src/core/events.ts";
import { envelopeBytes, JsonWriter, OutOfRoom, writeEnvelope } from "../../src/core/serialize.ts";
import { MarketSimulator, seededRandom } from "../../src/core/simulator.ts";
import { httpRequest, SOURCE } from "../support/factories.ts";

/** The envelope's JSON as the shippers write it, as text. */
const serializeEnvelope = (envelope: Envelope): string => envelopeBytes(envelope).toString();

describe("envelopeBytes", () => {
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

/** Random text drawn from every class of UTF-16 code unit a writer treats apart. */
function randomText(random: () => number): string {
  const ranges: Array<[number, number]> = [
    [0x20, 0x7e], // printable ASCII, quote and backslash among them
    [0x00, 0x1f], // control characters
    [0x7f, 0x7ff], // two UTF-8 bytes
    [0x800, 0xd7ff], // three
    [0xd800, 0xdbff], // high surrogates: paired below, or lone
    [0xdc00, 0xdfff], // low surrogates, lone unless after a high one
    [0xe000, 0xffff],
  ];
  const units: number[] = [];
  const length = Math.floor(random() * 40);
  for (let i = 0; i < length; i++) {
    const [low, high] = ranges[Math.floor(random() * ranges.length)] as [number, number];
    const unit = low + Math.floor(random() * (high - low + 1));
    units.push(unit);
    // Half of the high surrogates get their low half: a valid pair, four UTF-8 bytes.
    if (unit >= 0xd800 && unit <= 0xdbff && random() < 0.5) units.push(0xdc00 + Math.floor(random() * 0x400));
  }
  return String.fromCharCode(...units);
}

describe("JsonWriter", () => {
  const written = (write: (out: JsonWriter) => void): Buffer => {
    const bytes = Buffer.alloc(4096);
    const out = new JsonWriter(bytes);
    write(out);
    return bytes.subarray(0, out.at);
  };

  it("writes strings as JSON.stringify does and text as Buffer.from does, for 5,000 random texts", () => {
    const random = seededRandom(21);
    for (let i = 0; i < 5_000; i++) {
      const text = randomText(random);
      expect(written((out) => out.string(text)).toString("hex")).toBe(
        Buffer.from(JSON.stringify(text)).toString("hex"),
      );
      expect(written((out) => out.utf8(text)).toString("hex")).toBe(Buffer.from(text).toString("hex"));
    }
  });

  it("writes numbers as JSON.stringify does", () => {
    const random = seededRandom(22);
    const numbers = [0, -0, 1, -1, 0.1 + 0.2, 1e21, 1e-7, 2 ** 53, Number.MAX_VALUE, Number.MIN_VALUE];
    for (let i = 0; i < 1_000; i++) numbers.push((random() - 0.5) * 10 ** Math.floor(random() * 40 - 20));
    // Prices and other decimals of up to 8 places, with up to 17 digits: the fast path and its edges.
    for (let i = 0; i < 20_000; i++) {
      const places = Math.floor(random() * 9);
      const digits = Math.floor(random() * 10 ** Math.floor(1 + random() * 17));
      numbers.push(((random() < 0.2 ? -1 : 1) * digits) / 10 ** places);
    }
    numbers.push(
      1e-6,
      1e-7,
      0.000001234,
      999999999999999,
      1e15,
      123456789012345.6,
      -0.5,
      0.1 * 3,
      2 ** 53 + 2,
    );
    numbers.push(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);
    for (const value of numbers)
      expect(written((out) => out.number(value)).toString()).toBe(JSON.stringify(value));
  });

  it("refuses what may not fit before writing any of it, so the caller can start the record again", () => {
    const bytes = Buffer.alloc(40, 0x2e);
    const out = new JsonWriter(bytes, 30);
    // "ü" may take 6 bytes escaped, so 2 + 6 × 2 > the 10 bytes left, although its JSON takes 6.
    expect(() => out.string("üü")).toThrow(OutOfRoom);
    expect(() => out.utf8("€€€€")).toThrow(OutOfRoom); // 12 bytes > 10
    expect(out.at).toBe(30);
    expect(bytes.subarray(30).toString()).toBe("..........");
    out.utf8("€€€");
    expect(out.at).toBe(39);

    const small = new JsonWriter(Buffer.alloc(64));
    expect(() => writeEnvelope(small, httpRequest(0))).toThrow(OutOfRoom);
    // Larger than envelopeBytes's scratch buffer, which then grows.
    const long = envelopeOf(
      "http.request",
      {
        requestId: "r",
        method: "GET",
        route: "/x",
        path: "/".repeat(100_000),
        status: 200,
        durationMs: 1,
        bytes: 2,
      },
      SOURCE,
      0,
    );
    expect(serializeEnvelope(long)).toBe(JSON.stringify(long));
  });
});
