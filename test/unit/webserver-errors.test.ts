/**
 * The market API's client errors, pinned whole: status, JSON body, parameter naming and the
 * value each message quotes. Written before the routes moved to Fastify's validation, so that
 * it proves the move changed no answer a client gets.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "../../src/webserver/app.ts";
import { MarketFeed } from "../../src/webserver/feed.ts";

const SOURCE = { service: "test", instance: "1" };
const CURRENCIES = "one of USD, EUR, GBP, JPY, CHF, AUD, CAD, NZD";
const SYMBOLS = "a comma-separated list of up to 50 tickers or pairs";

/** The API's 400 for a parameter: its name, the value it checked, what is allowed. */
const invalid = (parameter: string, value: unknown, allowed: string) => ({
  error: {
    code: "INVALID_PARAMETER",
    message: `${parameter} must be ${allowed} (got ${JSON.stringify(value)})`,
    parameter,
    value,
    allowed,
  },
});
const unknown = (kind: string, symbol: string) => ({
  error: { code: "UNKNOWN_SYMBOL", message: `unknown ${kind} "${symbol}"`, symbol },
});

const fiftyOne = Array.from({ length: 51 }, () => "A");

const ANSWERS: Array<[url: string, status: number, body: object]> = [
  ["/v1/fx/rates?base=ABC", 400, invalid("base", "ABC", CURRENCIES)],
  // Currencies are case-sensitive; a repeated parameter is checked as the list it is.
  ["/v1/fx/rates?base=eur", 400, invalid("base", "eur", CURRENCIES)],
  ["/v1/fx/rates?base=", 400, invalid("base", "", CURRENCIES)],
  ["/v1/fx/rates?base=USD&base=EUR", 400, invalid("base", ["USD", "EUR"], CURRENCIES)],
  // Pairs and tickers are read in capitals, and quoted as read.
  ["/v1/fx/EUR", 400, invalid("pair", "EUR", "six letters, e.g. EURUSD")],
  ["/v1/fx/eur", 400, invalid("pair", "EUR", "six letters, e.g. EURUSD")],
  ["/v1/fx/EURUSD%20", 400, invalid("pair", "EURUSD ", "six letters, e.g. EURUSD")],
  ["/v1/fx/%C3%BC", 400, invalid("pair", "Ü", "six letters, e.g. EURUSD")],
  ["/v1/fx/%00", 400, invalid("pair", "\u0000", "six letters, e.g. EURUSD")],
  ["/v1/fx/", 400, invalid("pair", "", "six letters, e.g. EURUSD")],
  ["/v1/fx/XXXYYY", 404, unknown("FX pair", "XXXYYY")],
  ["/v1/fx/eurxxx", 404, unknown("FX pair", "EURXXX")],
  ["/v1/stocks/123", 400, invalid("symbol", "123", "1-5 letters, e.g. AAPL")],
  ["/v1/stocks/abc123", 400, invalid("symbol", "ABC123", "1-5 letters, e.g. AAPL")],
  ["/v1/stocks/", 400, invalid("symbol", "", "1-5 letters, e.g. AAPL")],
  ["/v1/stocks/NOPE", 404, unknown("stock symbol", "NOPE")],
  ["/v1/stocks/nope", 404, unknown("stock symbol", "NOPE")],
  ["/v1/stocks/BRK.B", 404, unknown("stock symbol", "BRK.B")],
  // "ß" in capitals is "SS": well-formed, and not listed.
  ["/v1/stocks/%C3%9F", 404, unknown("stock symbol", "SS")],
  ["/v1/stocks/AAPL/bars?limit=0", 400, invalid("limit", "0", "an integer from 1 to 120")],
  ["/v1/stocks/aapl/bars?limit=121", 400, invalid("limit", "121", "an integer from 1 to 120")],
  ["/v1/stocks/AAPL/bars?limit=abc", 400, invalid("limit", "abc", "an integer from 1 to 120")],
  ["/v1/stocks/AAPL/bars?limit=", 400, invalid("limit", "", "an integer from 1 to 120")],
  ["/v1/stocks/AAPL/bars?limit=1.5", 400, invalid("limit", "1.5", "an integer from 1 to 120")],
  ["/v1/stocks/AAPL/bars?limit=1&limit=2", 400, invalid("limit", ["1", "2"], "an integer from 1 to 120")],
  // The path is checked before the query string: an unknown stock is 404 whatever the limit.
  ["/v1/stocks/NOPE/bars?limit=0", 404, unknown("stock symbol", "NOPE")],
  ["/v1/stocks/1/bars?limit=0", 400, invalid("symbol", "1", "1-5 letters, e.g. AAPL")],
  ["/v1/news?limit=0", 400, invalid("limit", "0", "an integer from 1 to 100")],
  ["/v1/news?limit=101", 400, invalid("limit", "101", "an integer from 1 to 100")],
  ["/v1/news?limit=x", 400, invalid("limit", "x", "an integer from 1 to 100")],
  ["/v1/news?offset=-1", 400, invalid("offset", "-1", "an integer from 0 to 10000")],
  ["/v1/news?offset=10001", 400, invalid("offset", "10001", "an integer from 0 to 10000")],
  ["/v1/news?symbol=", 400, invalid("symbol", "", "1-5 letters, e.g. AAPL")],
  ["/v1/news?symbol=a1", 400, invalid("symbol", "A1", "1-5 letters, e.g. AAPL")],
  ["/v1/news?symbol=a&symbol=b", 400, invalid("symbol", "A,B", "1-5 letters, e.g. AAPL")],
  ["/v1/news?symbol=%C3%BC", 400, invalid("symbol", "Ü", "1-5 letters, e.g. AAPL")],
  // The first parameter that is wrong is named: symbol, then limit, then offset.
  ["/v1/news?symbol=1&limit=0", 400, invalid("symbol", "1", "1-5 letters, e.g. AAPL")],
  ["/v1/news?limit=0&offset=-1", 400, invalid("limit", "0", "an integer from 1 to 100")],
  ["/v1/stream?symbols=", 400, invalid("symbols", [""], SYMBOLS)],
  ["/v1/stream?symbols=aapl,,eurusd", 400, invalid("symbols", ["AAPL", "", "EURUSD"], SYMBOLS)],
  ["/v1/stream?symbols=TOOLONGX", 400, invalid("symbols", ["TOOLONGX"], SYMBOLS)],
  [`/v1/stream?symbols=${fiftyOne.join(",")}`, 400, invalid("symbols", fiftyOne, SYMBOLS)],
  ["/nowhere", 404, { error: { code: "NOT_FOUND", message: "no route GET /nowhere" } }],
];

describe("market API client errors", () => {
  let app: Awaited<ReturnType<typeof build>>;

  beforeAll(async () => {
    const feed = new MarketFeed({ seed: 1, source: SOURCE, sink: { ship: () => {} } });
    app = await build({ feed, source: SOURCE });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  it.each(ANSWERS)("answers %s with %i and the same JSON error", async (url, status, body) => {
    const response = await app.inject({ url });
    expect(response.statusCode).toBe(status);
    expect(response.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(response.json()).toEqual(body);
  });

  it("answers what Fastify refuses before routing in the same JSON shape, and a long parameter as any other", async () => {
    // Changed with the move, as the API fuzzer found (test/integration/api-fuzz.test.ts): both
    // were Fastify's `{"error":"Bad Request","code":"FST_ERR_…","statusCode":…}`, and a path
    // parameter over 64 characters was 414.
    const badEscape = await app.inject({ url: "/v1/fx/%E0%A4%A" });
    expect(badEscape.statusCode).toBe(400);
    expect(badEscape.json()).toEqual({
      error: { code: "BAD_URL", message: "'/v1/fx/%E0%A4%A' is not a valid url component" },
    });
    const tooLong = await app.inject({ url: `/v1/fx/${"a".repeat(80)}` });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json()).toEqual(invalid("pair", "A".repeat(80), "six letters, e.g. EURUSD"));
    const post = await app.inject({ method: "POST", url: "/v1/fx/rates" });
    expect(post.statusCode).toBe(404);
    expect(post.json()).toEqual({ error: { code: "NOT_FOUND", message: "no route POST /v1/fx/rates" } });
  });

  it("answers over the rate limit with 429, a JSON error and when to retry", async () => {
    const feed = new MarketFeed({ seed: 1, source: SOURCE, sink: { ship: () => {} } });
    const limited = await build({ feed, source: SOURCE, rateLimitPerMinute: 1 });
    try {
      expect((await limited.inject({ url: "/v1/stocks/AAPL" })).statusCode).toBe(200);
      const response = await limited.inject({ url: "/v1/stocks/AAPL" });
      expect(response.statusCode).toBe(429);
      expect(response.headers["retry-after"]).toBe("60");
      expect(response.json()).toEqual({
        statusCode: 429,
        error: { code: "RATE_LIMITED", message: "over 1 requests a minute; retry after 1 minute" },
      });
    } finally {
      await limited.close();
    }
  });
});
