/**
 * The market-data HTTP API. `build(deps)` makes the app without listening, so tests drive it
 * with `inject()`. Every response is logged as an `http.request` envelope together with the
 * data it served.
 */
import helmet from "@fastify/helmet";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import { z } from "zod";
import {
  type DataOf,
  type Envelope,
  type EnvelopeSource,
  type EventType,
  envelopeOf,
} from "../core/events.ts";
import { CURRENCIES, FX_PAIRS, STOCK_SYMBOLS } from "../core/instruments.ts";
import type { MarketTick } from "../core/simulator.ts";
import { type DashboardDeps, dashboard } from "../dashboard/plugin.ts";
import { badParameter, HttpError, unknownSymbol } from "./errors.ts";
import type { MarketFeed } from "./feed.ts";
import { type HttpMetrics, httpMetrics } from "./metrics.ts";

export interface AppDeps {
  feed: MarketFeed;
  source: EnvelopeSource;
  /** Log every response and the data it served. @default true */
  logRequests?: boolean;
  /** Requests per client address per minute before 429. @default 6000 */
  rateLimitPerMinute?: number;
  /** Extra gauges for /metrics, e.g. the shipper's counters. */
  gauges?: () => Record<string, number>;
  /** What the dashboard shows beyond the market: the pipeline, the query box. */
  dashboard?: DashboardDeps;
}

/** The longest request URL served; longer ones get 414. */
export const MAX_URL_LENGTH = 2_048;

declare module "fastify" {
  interface FastifyRequest {
    /** Envelopes of the data this request served, logged with its http.request record. */
    served: Envelope[];
  }
}

/** Parses one parameter with a zod schema, or throws a 400 naming it and what is allowed. */
function parameter<T>(name: string, value: unknown, schema: z.ZodType<T>, allowed: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw badParameter(name, value, allowed);
  return result.data;
}

const Pair = z.enum(FX_PAIRS);
const Currency = z.enum(CURRENCIES);
const Ticker = z.string().regex(/^[A-Z]{1,5}(\.[A-Z])?$/);
const PairCode = z.string().regex(/^[A-Z]{6}$/);
const StreamSymbols = z
  .array(z.string().regex(/^[A-Z]{1,6}(\.[A-Z])?$/))
  .min(1)
  .max(50);
const Limit = z.coerce.number().int().min(1).max(100);
const Offset = z.coerce.number().int().min(0).max(10_000);
const BarLimit = z.coerce.number().int().min(1).max(120);

/** A stock ticker from the path: 400 when malformed, 404 when not one the market lists. */
function knownStock(raw: string): string {
  const symbol = parameter("symbol", raw.toUpperCase(), Ticker, "1-5 letters, e.g. AAPL");
  if (!STOCK_SYMBOLS.includes(symbol)) throw unknownSymbol("stock symbol", symbol);
  return symbol;
}

/** OpenAPI descriptions of a route's parameters, from the same zod schemas that validate. */
const doc = (summary: string, shape: { params?: z.ZodObject; querystring?: z.ZodObject }) => ({
  summary,
  ...(shape.params ? { params: z.toJSONSchema(shape.params, { io: "input", unrepresentable: "any" }) } : {}),
  ...(shape.querystring
    ? { querystring: z.toJSONSchema(shape.querystring, { io: "input", unrepresentable: "any" }) }
    : {}),
});

export async function build(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: 16 * 1024,
    routerOptions: { maxParamLength: 64 },
    requestIdHeader: "x-request-id",
    genReqId: () => crypto.randomUUID(),
  });
  const { feed, source } = deps;
  const metrics: HttpMetrics = httpMetrics(deps.gauges);
  // Parameters are validated by zod in the handlers (errors name the parameter); the JSON
  // Schemas on the routes only document them.
  app.setValidatorCompiler(() => () => true);

  await app.register(helmet, { contentSecurityPolicy: false });
  await app.register(rateLimit, {
    max: deps.rateLimitPerMinute ?? 6_000,
    timeWindow: 60_000,
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      error: {
        code: "RATE_LIMITED",
        message: `over ${context.max} requests a minute; retry after ${context.after}`,
      },
    }),
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: "ticklake market API",
        version: "1",
        description: "Simulated FX rates, stock quotes and news.",
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs", staticCSP: true });

  app.decorateRequest("served", null as unknown as Envelope[]);
  app.addHook("onRequest", async (request, reply) => {
    request.served = [];
    reply.header("x-request-id", request.id);
    reply.header("cache-control", "no-store");
    if (request.url.length > MAX_URL_LENGTH) {
      return reply.status(414).send({
        error: {
          code: "URI_TOO_LONG",
          message: `the URL must be at most ${MAX_URL_LENGTH} characters (got ${request.url.length})`,
        },
      });
    }
  });
  const logRequests = deps.logRequests ?? true;
  // One callback hook, not an async one, and not one per concern: each hook and each promise
  // is work on the request thread for every request (bench/README.md, web server).
  app.addHook("onResponse", (request, reply, done) => {
    const route = request.routeOptions.url ?? "unmatched";
    const elapsedMs = reply.elapsedTime;
    metrics.observe(route, request.method, reply.statusCode, elapsedMs / 1000);
    if (logRequests) {
      const atMs = feed.now();
      const served = request.served;
      for (const envelope of served) feed.log(envelope);
      // Emptied once logged: V8 may have moved the array's allocation site to the old
      // generation (pretenuring), and a dead old array keeps what it points to alive through
      // every young collection until the next full one. Left full, the envelopes and the data
      // they hold survived each scavenge: 5 % of the throughput (bench/README.md).
      served.length = 0;
      feed.log(
        envelopeOf(
          "http.request",
          {
            requestId: request.id,
            method: request.method,
            route,
            path: request.url.slice(0, 2_048),
            status: reply.statusCode,
            durationMs: Math.round(elapsedMs * 1000) / 1000,
            bytes: Number(reply.getHeader("content-length") ?? 0),
          },
          source,
          atMs,
        ),
      );
    }
    done();
  });

  app.setErrorHandler(async (error, request, reply) => {
    if (error instanceof HttpError) {
      return reply
        .status(error.statusCode)
        .send({ error: { code: error.code, message: error.message, ...error.details } });
    }
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 429) return reply.status(429).send(error);
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.status(status).send({ error: { code: "BAD_REQUEST", message: (error as Error).message } });
    }
    request.log.error(error);
    return reply
      .status(500)
      .send({ error: { code: "INTERNAL", message: "internal error", requestId: request.id } });
  });
  app.setNotFoundHandler(async (request, reply) =>
    reply
      .status(404)
      .send({ error: { code: "NOT_FOUND", message: `no route ${request.method} ${request.url}` } }),
  );

  /**
   * Records what a response serves, so it is logged with the request, stamped with the time it
   * was served; returns the data. With logging off no envelope is made.
   */
  const serve = <T extends EventType>(request: FastifyRequest, type: T, data: DataOf<T>): DataOf<T> => {
    if (logRequests) request.served.push(envelopeOf(type, data, source, feed.now()));
    return data;
  };

  app.get("/health", { schema: { summary: "Liveness" } }, async () => ({ status: "ok" }));

  await dashboard(app, deps.dashboard ?? {});

  app.get("/metrics", { schema: { summary: "Prometheus metrics" } }, async (_request, reply) =>
    reply.header("content-type", metrics.contentType).send(await metrics.render()),
  );

  app.get(
    "/v1/stream",
    {
      schema: doc("Live FX and stock quotes and news as Server-Sent Events", {
        querystring: z.object({ symbols: z.string().optional() }),
      }),
    },
    async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      const wanted =
        query.symbols === undefined
          ? undefined
          : new Set(
              parameter(
                "symbols",
                String(query.symbols).toUpperCase().split(","),
                StreamSymbols,
                "a comma-separated list of up to 50 tickers or pairs",
              ),
            );
      reply.hijack();
      reply.raw.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        connection: "keep-alive",
        "x-request-id": request.id,
      });
      const send = (event: string, data: unknown) =>
        reply.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      const onTick = (tick: MarketTick) => {
        for (const quote of tick.fx)
          if (!wanted || wanted.has(quote.pair)) send("fx", { ...quote, at: tick.atMs });
        for (const quote of tick.stocks)
          if (!wanted || wanted.has(quote.symbol)) send("stock", { ...quote, at: tick.atMs });
        for (const article of tick.news) send("news", { ...article, at: tick.atMs });
      };
      const heartbeat = setInterval(() => reply.raw.write(": heartbeat\n\n"), 15_000);
      const end = () => {
        clearInterval(heartbeat);
        feed.events.off("tick", onTick);
        feed.events.off("stop", end);
        reply.raw.end();
      };
      feed.events.on("tick", onTick);
      feed.events.once("stop", end);
      request.raw.once("close", end);
      send("hello", { at: feed.now() });
    },
  );

  app.get(
    "/v1/fx/rates",
    {
      schema: doc("Mid rates of every pair with a base currency", {
        querystring: z.object({ base: Currency.optional() }),
      }),
    },
    async (request) => {
      const query = request.query as Record<string, unknown>;
      const base = parameter("base", query.base ?? "USD", Currency, `one of ${CURRENCIES.join(", ")}`);
      const rates: Record<string, number> = {};
      for (const pair of FX_PAIRS) {
        if (!pair.startsWith(base) && !pair.endsWith(base)) continue;
        const quote = serve(request, "fx.quote", feed.simulator.fxQuote(pair));
        const mid = (quote.bid + quote.ask) / 2;
        if (pair.startsWith(base)) rates[pair.slice(3)] = Number(mid.toPrecision(8));
        else rates[pair.slice(0, 3)] = Number((1 / mid).toPrecision(8));
      }
      return { base, at: new Date(feed.now()).toISOString(), rates };
    },
  );

  app.get(
    "/v1/fx/:pair",
    { schema: doc("A pair's quote", { params: z.object({ pair: z.string() }) }) },
    async (request) => {
      const { pair: raw } = request.params as { pair: string };
      const pair = parameter("pair", raw.toUpperCase(), PairCode, "six letters, e.g. EURUSD");
      const known = Pair.safeParse(pair);
      if (!known.success) throw unknownSymbol("FX pair", pair);
      return serve(request, "fx.quote", feed.simulator.fxQuote(known.data));
    },
  );

  app.get(
    "/v1/stocks/:symbol",
    { schema: doc("A stock's quote", { params: z.object({ symbol: z.string() }) }) },
    async (request) => {
      const symbol = knownStock((request.params as { symbol: string }).symbol);
      return serve(request, "stock.quote", feed.simulator.stockQuote(symbol));
    },
  );

  app.get(
    "/v1/stocks/:symbol/bars",
    {
      schema: doc("A stock's recent 1-minute OHLCV bars", {
        params: z.object({ symbol: z.string() }),
        querystring: z.object({ limit: BarLimit.optional() }),
      }),
    },
    async (request) => {
      const symbol = knownStock((request.params as { symbol: string }).symbol);
      const query = request.query as Record<string, unknown>;
      const limit = parameter("limit", query.limit ?? 30, BarLimit, "an integer from 1 to 120");
      return { symbol, bars: feed.bars(symbol, limit) };
    },
  );

  app.get(
    "/v1/news",
    {
      schema: doc("The news feed, newest first", {
        querystring: z.object({
          symbol: z.string().optional(),
          limit: Limit.optional(),
          offset: Offset.optional(),
        }),
      }),
    },
    async (request) => {
      const query = request.query as Record<string, unknown>;
      const symbol =
        query.symbol === undefined
          ? undefined
          : parameter("symbol", String(query.symbol).toUpperCase(), Ticker, "1-5 letters, e.g. AAPL");
      const limit = parameter("limit", query.limit ?? 20, Limit, "an integer from 1 to 100");
      const offset = parameter("offset", query.offset ?? 0, Offset, "an integer from 0 to 10000");
      const articles = feed.news({ ...(symbol ? { symbol } : {}), limit, offset });
      for (const article of articles) serve(request, "news.article", article);
      return { articles, limit, offset };
    },
  );

  return app;
}
