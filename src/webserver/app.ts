/**
 * The market-data HTTP API. `build(deps)` makes the app without listening, so tests drive it
 * with `inject()`. Every response is logged as an `http.request` envelope together with the
 * data it served.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import { z } from "zod";
import { type Envelope, type EnvelopeSource, envelopeOf } from "../core/events.ts";
import { CURRENCIES, FX_PAIRS, STOCK_SYMBOLS } from "../core/instruments.ts";
import { badParameter, HttpError, unknownSymbol } from "./errors.ts";
import type { MarketFeed } from "./feed.ts";

export interface AppDeps {
  feed: MarketFeed;
  source: EnvelopeSource;
  /** Log every response and the data it served. @default true */
  logRequests?: boolean;
}

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
const Limit = z.coerce.number().int().min(1).max(100);
const Offset = z.coerce.number().int().min(0).max(10_000);

export function build(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: 16 * 1024,
    routerOptions: { maxParamLength: 64 },
    requestIdHeader: "x-request-id",
    genReqId: () => crypto.randomUUID(),
  });
  const { feed, source } = deps;

  app.decorateRequest("served", null as unknown as Envelope[]);
  app.addHook("onRequest", async (request, reply) => {
    request.served = [];
    reply.header("x-request-id", request.id);
    reply.header("x-content-type-options", "nosniff");
    reply.header("cache-control", "no-store");
  });

  if (deps.logRequests ?? true) {
    app.addHook("onResponse", async (request, reply) => {
      const atMs = feed.now();
      for (const envelope of request.served) feed.log(envelope);
      feed.log(
        envelopeOf(
          "http.request",
          {
            requestId: request.id,
            method: request.method,
            route: request.routeOptions.url ?? "unmatched",
            path: request.url.slice(0, 2_048),
            status: reply.statusCode,
            durationMs: Math.round(reply.elapsedTime * 1000) / 1000,
            bytes: Number(reply.getHeader("content-length") ?? 0),
          },
          source,
          atMs,
        ),
      );
    });
  }

  app.setErrorHandler(async (error, request, reply) => {
    if (error instanceof HttpError) {
      return reply
        .status(error.statusCode)
        .send({ error: { code: error.code, message: error.message, ...error.details } });
    }
    const status = (error as { statusCode?: number }).statusCode;
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

  /** Records what a response serves, so it is logged with the request; returns its data. */
  const serve = <E extends Envelope>(request: FastifyRequest, envelope: E): E["data"] => {
    request.served.push(envelope);
    return envelope.data;
  };
  const at = () => feed.now();

  app.get("/health", async () => ({ status: "ok" }));

  app.get("/v1/fx/rates", async (request) => {
    const query = request.query as Record<string, unknown>;
    const base = parameter("base", query.base ?? "USD", Currency, `one of ${CURRENCIES.join(", ")}`);
    const rates: Record<string, number> = {};
    for (const pair of FX_PAIRS) {
      if (!pair.startsWith(base) && !pair.endsWith(base)) continue;
      const quote = serve(request, envelopeOf("fx.quote", feed.simulator.fxQuote(pair), source, at()));
      const mid = (quote.bid + quote.ask) / 2;
      if (pair.startsWith(base)) rates[pair.slice(3)] = Number(mid.toPrecision(8));
      else rates[pair.slice(0, 3)] = Number((1 / mid).toPrecision(8));
    }
    return { base, at: new Date(feed.now()).toISOString(), rates };
  });

  app.get("/v1/fx/:pair", async (request) => {
    const { pair: raw } = request.params as { pair: string };
    const pair = parameter(
      "pair",
      raw.toUpperCase(),
      z.string().regex(/^[A-Z]{6}$/),
      "six letters, e.g. EURUSD",
    );
    const known = Pair.safeParse(pair);
    if (!known.success) throw unknownSymbol("FX pair", pair);
    return serve(request, envelopeOf("fx.quote", feed.simulator.fxQuote(known.data), source, at()));
  });

  app.get("/v1/stocks/:symbol", async (request) => {
    const { symbol: raw } = request.params as { symbol: string };
    const symbol = parameter("symbol", raw.toUpperCase(), Ticker, "1-5 letters, e.g. AAPL");
    if (!STOCK_SYMBOLS.includes(symbol)) throw unknownSymbol("stock symbol", symbol);
    return serve(request, envelopeOf("stock.quote", feed.simulator.stockQuote(symbol), source, at()));
  });

  app.get("/v1/news", async (request) => {
    const query = request.query as Record<string, unknown>;
    const symbol =
      query.symbol === undefined
        ? undefined
        : parameter("symbol", String(query.symbol).toUpperCase(), Ticker, "1-5 letters, e.g. AAPL");
    const limit = parameter("limit", query.limit ?? 20, Limit, "an integer from 1 to 100");
    const offset = parameter("offset", query.offset ?? 0, Offset, "an integer from 0 to 10000");
    const articles = feed.news({ ...(symbol ? { symbol } : {}), limit, offset });
    for (const article of articles) serve(request, envelopeOf("news.article", article, source, at()));
    return { articles, limit, offset };
  });

  return app;
}
