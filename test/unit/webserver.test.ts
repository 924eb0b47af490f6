import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Envelope, validateRecord } from "../../src/core/events.ts";
import { build } from "../../src/webserver/app.ts";
import { MarketFeed } from "../../src/webserver/feed.ts";

const SOURCE = { service: "test", instance: "1" };

describe("market API", () => {
  let logged: Envelope[];
  let feed: MarketFeed;
  let app: Awaited<ReturnType<typeof build>>;

  beforeEach(async () => {
    logged = [];
    let now = Date.UTC(2026, 10, 26, 15, 0);
    feed = new MarketFeed({
      seed: 1,
      source: SOURCE,
      sink: { ship: (e) => logged.push(e) },
      now: () => (now += 1_000),
    });
    app = await build({ feed, source: SOURCE });
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
        const url = path.includes("%s") ? path.replace("%s", value) : `${path}${value}`;
        const response = await app.inject({ url });
        expect(response.statusCode, `${path}${value}`).toBeLessThan(500);
        // `../..` climbs to `/`, which sends a browser on to the dashboard.
        if (response.statusCode === 302) {
          expect(response.headers.location, `${path}${value}`).toBe("/dashboard/");
          continue;
        }
        expect(response.headers["content-type"], `${path}${value}`).toContain("application/json");
      }
    }
    for (const envelope of logged)
      expect(validateRecord(JSON.stringify(envelope)).ok, JSON.stringify(envelope)).toBe(true);
  });

  it("serves 1-minute OHLCV bars built from the ticks", async () => {
    for (let i = 0; i < 150; i++) feed.tick(false);
    const response = await app.inject({ url: "/v1/stocks/MSFT/bars?limit=2" });
    expect(response.statusCode).toBe(200);
    const { bars } = response.json();
    expect(bars).toHaveLength(2);
    for (const bar of bars) {
      expect(bar.low).toBeLessThanOrEqual(Math.min(bar.open, bar.close));
      expect(bar.high).toBeGreaterThanOrEqual(Math.max(bar.open, bar.close));
      expect(bar.volume).toBeGreaterThan(0);
    }
    expect(Date.parse(bars[1].minute) - Date.parse(bars[0].minute)).toBe(60_000);
  });

  it("answers an over-long URL with 414 and sets security headers", async () => {
    const response = await app.inject({ url: `/v1/news?symbol=${"A".repeat(2_100)}` });
    expect(response.statusCode).toBe(414);
    expect(response.json().error.code).toBe("URI_TOO_LONG");
    const ok = await app.inject({ url: "/health" });
    expect(ok.headers["x-content-type-options"]).toBe("nosniff");
    expect(ok.headers["strict-transport-security"]).toContain("max-age=");
    expect(ok.headers["x-frame-options"]).toBe("SAMEORIGIN");
  });

  it("rate-limits a client with 429 and a JSON error", async () => {
    const limited = await build({ feed, source: SOURCE, rateLimitPerMinute: 3 });
    try {
      // Not on /health: the load balancer's checks are exempt (test/unit/webserver-proxy.test.ts).
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await limited.inject({ url: "/metrics" })).statusCode);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      const response = await limited.inject({ url: "/metrics" });
      expect(response.json().error.code).toBe("RATE_LIMITED");
    } finally {
      await limited.close();
    }
  });

  it("exposes Prometheus metrics, including gauges it is given", async () => {
    const withGauges = await build({ feed, source: SOURCE, gauges: () => ({ shipper_buffered: 7 }) });
    try {
      await withGauges.inject({ url: "/v1/stocks/AAPL" });
      const text = (await withGauges.inject({ url: "/metrics" })).body;
      expect(text).toMatch(
        /ticklake_http_requests_total\{route="\/v1\/stocks\/:symbol",method="GET",status="200"\} 1/,
      );
      expect(text).toContain("ticklake_shipper_buffered 7");
      expect(text).toContain("ticklake_http_request_duration_seconds_bucket");
    } finally {
      await withGauges.close();
    }
  });

  it("describes every route in an OpenAPI document, with a docs page", async () => {
    const spec = (await app.inject({ url: "/docs/json" })).json();
    expect(spec.openapi).toMatch(/^3\./);
    for (const path of [
      "/v1/fx/rates",
      "/v1/fx/{pair}",
      "/v1/stocks/{symbol}",
      "/v1/stocks/{symbol}/bars",
      "/v1/news",
      "/v1/stream",
      "/metrics",
      "/health",
    ]) {
      expect(Object.keys(spec.paths)).toContain(path);
    }
    expect(spec.paths["/v1/news"].get.parameters.map((p: { name: string }) => p.name).sort()).toEqual([
      "limit",
      "offset",
      "symbol",
    ]);
    const page = await app.inject({ url: "/docs/" });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain("swagger");
  });

  it("streams live quotes and news as Server-Sent Events, filtered by symbol", async () => {
    await app.listen({ port: 0, host: "127.0.0.1" });
    const port = (app.server.address() as { port: number }).port;
    const controller = new AbortController();
    const response = await fetch(`http://127.0.0.1:${port}/v1/stream?symbols=AAPL,EURUSD`, {
      signal: controller.signal,
    });
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = "";
    feed.tick(false);
    while (!text.includes("event: stock")) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const events = text.split("\n\n").filter((chunk) => chunk.startsWith("event: "));
    const names = events.map((chunk) => chunk.split("\n")[0]);
    expect(names).toContain("event: hello");
    expect(names).toContain("event: fx");
    const instruments = events
      .filter((chunk) => !chunk.startsWith("event: hello") && !chunk.startsWith("event: news"))
      .map((chunk) => JSON.parse(chunk.split("\n")[1]?.slice(6) ?? "{}"))
      .map((data) => data.pair ?? data.symbol);
    expect(new Set(instruments)).toEqual(new Set(["EURUSD", "AAPL"]));
  });
});
