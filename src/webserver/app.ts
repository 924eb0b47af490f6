/**
 * The market-data HTTP API. `build(deps)` makes the app without listening, so tests drive it
 * with `inject()`; the caller may register more plugins (the dashboard) before it listens.
 * Every response is logged as an `http.request` envelope together with the data it served.
 * Routes are plugins under `routes/`, each declaring its zod schemas: they validate the
 * request, type the handler and document the route at `/docs`.
 */
import helmet from "@fastify/helmet";
import { compile as trustedAddresses } from "@fastify/proxy-addr";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify from "fastify";
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import { type Envelope, type EnvelopeSource, envelopeOf } from "../core/events.ts";
import { answerError, answerFrameworkError } from "../http/errors.ts";
import { validatorCompiler } from "../http/validation.ts";
import type { MarketFeed } from "./feed.ts";
import { type HttpMetrics, httpMetrics } from "./metrics.ts";
import { fxRoutes } from "./routes/fx.ts";
import { newsRoutes } from "./routes/news.ts";
import { operationRoutes } from "./routes/operations.ts";
import type { Serve } from "./routes/options.ts";
import { stockRoutes } from "./routes/stocks.ts";
import { streamRoutes } from "./routes/stream.ts";

export interface AppDeps {
  feed: MarketFeed;
  source: EnvelopeSource;
  /** Log every response and the data it served. @default true */
  logRequests?: boolean;
  /** Requests per client address per minute before 429. @default 6000 */
  rateLimitPerMinute?: number;
  /**
   * Proxies in front of the server whose `X-Forwarded-For` is trusted, so that a client is
   * known by its own address (for its rate limit) and not the proxy's: 1 behind an AWS load
   * balancer. Each trusted hop must also have a private address (see `trustProxyHops`).
   * @default 0
   * @see https://docs.aws.amazon.com/elasticloadbalancing/latest/application/x-forwarded-headers.html
   */
  trustProxyHops?: number;
  /** Extra gauges for /metrics, e.g. the shipper's counters. */
  gauges?: () => Record<string, number>;
}

/** The longest request URL served; longer ones get 414. */
export const MAX_URL_LENGTH = 2_048;

declare module "fastify" {
  interface FastifyRequest {
    /** Envelopes of the data this request served, logged with its http.request record. */
    served: Envelope[];
  }
  interface FastifyContextConfig {
    /** Whether a response is logged into the lake as an `http.request` record. @default true */
    logged?: boolean;
  }
}

/** Addresses a proxy of ours can have: a load balancer inside the VPC, or this host. */
const privateAddress = trustedAddresses(["loopback", "linklocal", "uniquelocal"]);

/**
 * Fastify's `trustProxy` for `hops` proxies. Not the hop count itself: Fastify (5.12.1 on)
 * trusts nobody for a number, because a count alone would trust a client that reaches the
 * server directly and writes its own X-Forwarded-For. Here a hop is trusted only from a
 * private address, as the load balancer's is.
 */
export function trustProxyHops(hops: number): false | ((address: string, hop: number) => boolean) {
  return hops > 0 ? (address, hop) => hop < hops && privateAddress(address, hop) : false;
}

export async function build(deps: AppDeps) {
  const app = Fastify({
    logger: false,
    bodyLimit: 16 * 1024,
    // A parameter is bounded by the URL's length (414 past it) and checked by its schema: 400
    // naming it, not Fastify's own 414 in another shape for one longer than its default 100.
    routerOptions: { maxParamLength: MAX_URL_LENGTH },
    frameworkErrors: answerFrameworkError,
    requestIdHeader: "x-request-id",
    genReqId: () => crypto.randomUUID(),
    trustProxy: trustProxyHops(deps.trustProxyHops ?? 0),
  }).withTypeProvider<ZodTypeProvider>();
  const { feed, source } = deps;
  const metrics: HttpMetrics = httpMetrics(deps.gauges);
  app.setValidatorCompiler(validatorCompiler);
  // Answers are typed by their handlers and checked against their schemas by the API fuzzer
  // (test/integration/api-fuzz.test.ts), not validated again on the request thread for every
  // response: JSON.stringify, as Fastify serializes without a schema.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

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
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
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
    if (logRequests && request.routeOptions.config.logged !== false) {
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

  app.setErrorHandler(answerError);
  app.setNotFoundHandler(async (request, reply) =>
    reply
      .status(404)
      .send({ error: { code: "NOT_FOUND", message: `no route ${request.method} ${request.url}` } }),
  );

  /**
   * Records what a response serves, so it is logged with the request, stamped with the time it
   * was served; returns the data. With logging off no envelope is made.
   */
  const serve: Serve = (request, type, data) => {
    if (logRequests) request.served.push(envelopeOf(type, data, source, feed.now()));
    return data;
  };

  await app.register(operationRoutes, { metrics });
  await app.register(streamRoutes, { feed, serve });
  await app.register(fxRoutes, { feed, serve });
  await app.register(stockRoutes, { feed, serve });
  await app.register(newsRoutes, { feed, serve });
  return app;
}

/** The market API as `build` makes it. */
export type MarketApp = Awaited<ReturnType<typeof build>>;
