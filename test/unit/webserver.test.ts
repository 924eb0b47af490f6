import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Envelope, validateRecord } from "../../src/core/events.ts";
import { build } from "../../src/webserver/app.ts";
import { MarketFeed } from "../../src/webserver/feed.ts";

const SOURCE = { service: "test", instance: "1" };

describe("market API", () => {
  let logged: Envelope[];
  let feed: MarketFeed;
  let app: ReturnType<typeof build>;

  beforeEach(async () => {
    logged = [];
    let now = Date.UTC(2026, 10, 26, 15, 0);
    feed = new MarketFeed({
      seed: 1,
      source: SOURCE,
      sink: { ship: (e) => logged.push(e) },
      now: () => (now += 1_000),
    });
    app = build({ feed, source: SOURCE });
    await app.ready();
  });
  afterEach(async () => {
    await app.close();
  });

  it("serves a stock quote and logs it with the request", async () => {
    const response = await app.inject({ method: "GET", url: "/v1/stocks/aapl" });
    expect(response.statusCode).toBe(200);
    const quote = response.json();
    expect(quote).toMatchObject({ symbol: "AAPL" });
    expect(quote.bid).toBeLessThan(quote.ask);
    expect(logged.map((e) => e.type)).toEqual(["stock.quote", "http.request"]);
    expect(logged[0]?.data).toEqual(quote);
    expect(logged[1]?.data).toMatchObject({
      method: "GET",
      route: "/v1/stocks/:symbol",
      path: "/v1/stocks/aapl",
      status: 200,
    });
  });

  it("serves FX rates for a base currency consistent with the pair quotes", async () => {
    const response = await app.inject({ method: "GET", url: "/v1/fx/rates?base=EUR" });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(Object.keys(body.rates).sort()).toEqual(["CHF", "GBP", "JPY", "USD"]);
    const eurusd = logged.find((e) => e.type === "fx.quote" && e.data.pair === "EURUSD");
    if (eurusd?.type !== "fx.quote") throw new Error("EURUSD not logged");
    expect(body.rates.USD).toBeCloseTo((eurusd.data.bid + eurusd.data.ask) / 2, 6);
  });

  it("pages the news feed filtered by symbol", async () => {
    for (let i = 0; i < 400; i++) feed.tick(false);
    const all = (await app.inject({ url: "/v1/news?limit=100" })).json().articles;
    expect(all.length).toBeGreaterThan(0);
    const symbol = all[0].symbols[0];
    const filtered = (await app.inject({ url: `/v1/news?symbol=${symbol}&limit=5` })).json().articles;
    expect(filtered.length).toBeGreaterThan(0);
    for (const article of filtered) expect(article.symbols).toContain(symbol);
  });

  it.each([
    ["/v1/fx/rates?base=ABC", 400, "INVALID_PARAMETER", "base must be one of USD"],
    ["/v1/news?limit=0", 400, "INVALID_PARAMETER", 'limit must be an integer from 1 to 100 (got "0")'],
    ["/v1/news?offset=-1", 400, "INVALID_PARAMETER", "offset must be"],
    ["/v1/fx/EUR", 400, "INVALID_PARAMETER", 'pair must be six letters, e.g. EURUSD (got "EUR")'],
    ["/v1/fx/XXXYYY", 404, "UNKNOWN_SYMBOL", 'unknown FX pair "XXXYYY"'],
    ["/v1/stocks/NOPE", 404, "UNKNOWN_SYMBOL", 'unknown stock symbol "NOPE"'],
    ["/v1/stocks/123", 400, "INVALID_PARAMETER", "symbol must be 1-5 letters"],
    ["/nowhere", 404, "NOT_FOUND", "no route GET /nowhere"],
  ])("answers %s with %i %s naming what is wrong", async (url, status, code, message) => {
    const response = await app.inject({ url });
    expect(response.statusCode).toBe(status);
    expect(response.json().error.code).toBe(code);
    expect(response.json().error.message).toContain(message);
  });

  it("never answers random or malformed parameters with a 5xx, and logs only valid envelopes", async () => {
    const junk = [
      "",
      "%",
      "%00",
      "a".repeat(80),
      "../..",
      "EURUSD%20",
      "-1",
      "1e9",
      "[]",
      "{}",
      "null",
      "ü",
      "%E0%A4%A",
    ];
    const paths = [
      "/v1/fx/",
      "/v1/stocks/",
      "/v1/news?limit=",
      "/v1/news?symbol=",
      "/v1/fx/rates?base=",
      "/v1/news?offset=",
    ];
    for (const path of paths) {
      for (const value of junk) {
        const response = await app.inject({ url: `${path}${value}` });
        expect(response.statusCode, `${path}${value}`).toBeLessThan(500);
        expect(response.headers["content-type"]).toContain("application/json");
      }
    }
    for (const envelope of logged)
      expect(validateRecord(JSON.stringify(envelope)).ok, JSON.stringify(envelope)).toBe(true);
  });
});
