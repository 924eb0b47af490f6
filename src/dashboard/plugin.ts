/**
 * The live dashboard, a Fastify plugin that the caller registers on the market API's app
 * (`ticklake up` does; the web server on ECS does not): a static page (plain HTML, CSS and a
 * browser module; nothing to build) and the endpoints it reads. Market panels use the API's
 * own `/v1/stream`; the pipeline panel and the query box appear where a pipeline monitor and a
 * query runner are given.
 */
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { TicklakeError } from "../core/errors.ts";
import { HttpError } from "../http/errors.ts";
import { openEventStream } from "../http/sse.ts";
import type { PipelineMonitor, PipelineSnapshot } from "./monitor.ts";

export interface QueryAnswer {
  columns: string[];
  rows: unknown[][];
  /** More rows than MAX_QUERY_ROWS came back; the answer holds the first ones. */
  truncated: boolean;
}

export interface DashboardDeps {
  monitor?: PipelineMonitor;
  /**
   * Runs one read-only SELECT over the lake within `timeoutMs`. Errors that are a
   * TicklakeError (refused, timed out, bad SQL) are answered 400 with their code and message.
   */
  query?: (sql: string, limits: { timeoutMs: number }) => Promise<{ columns: string[]; rows: unknown[][] }>;
  /** How long a query from the page may run. @default QUERY_TIMEOUT_MS (10 s) */
  queryTimeoutMs?: number;
  /** Named SQL the query box offers. */
  examples?: Readonly<Record<string, string>>;
}

export const MAX_QUERY_ROWS = 500;
export const MAX_SQL_LENGTH = 10_000;
/** A query from the page is interrupted after this long, unless the caller sets `queryTimeoutMs`. */
export const QUERY_TIMEOUT_MS = 10_000;

const PUBLIC_DIR = fileURLToPath(new URL("./public/", import.meta.url));

const QueryBody = z.strictObject({ sql: z.string().trim().min(1).max(MAX_SQL_LENGTH) });

export const dashboard: FastifyPluginAsyncZod<DashboardDeps> = async (app, deps) => {
  await app.register(fastifyStatic, { root: PUBLIC_DIR, prefix: "/dashboard/", decorateReply: false });
  // Open pages hold their streams open: a stop ends them first, or closing would wait for them.
  const openStreams = new Set<() => void>();
  app.addHook("preClose", async () => {
    for (const end of openStreams) end();
  });
  // The page loads nothing from elsewhere and runs no inline script.
  app.addHook("onSend", async (request, reply) => {
    if (request.url.startsWith("/dashboard/")) {
      reply.header(
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'",
      );
    }
  });
  app.get("/", { schema: { hide: true } }, async (_request, reply) => reply.redirect("/dashboard/"));

  const noPipeline = () =>
    new HttpError(
      404,
      "NO_PIPELINE",
      "this server does not watch a pipeline: run `ticklake up` for the full view",
    );

  app.get(
    "/v1/pipeline",
    { schema: { summary: "Counts, rates and latency of the pipeline, now" } },
    async () => {
      if (!deps.monitor) throw noPipeline();
      return deps.monitor.latest ?? (await deps.monitor.sample());
    },
  );

  app.get(
    "/v1/pipeline/stream",
    { schema: { summary: "Pipeline snapshots as Server-Sent Events, one a second" } },
    async (request, reply) => {
      const monitor = deps.monitor;
      if (!monitor) throw noPipeline();
      // One `snapshot` event a second while the page is open.
      const send = (snapshot: PipelineSnapshot) => stream.send("snapshot", snapshot);
      const stream = openEventStream(request, reply, () => {
        openStreams.delete(stream.end);
        monitor.events.off("snapshot", send);
      });
      openStreams.add(stream.end);
      if (monitor.latest) send(monitor.latest);
      monitor.events.on("snapshot", send);
    },
  );

  app.get(
    "/v1/query/examples",
    { schema: { summary: "Worked SQL examples for the query box" } },
    async () => ({
      enabled: deps.query !== undefined,
      examples: deps.examples ?? {},
    }),
  );

  app.post(
    "/v1/query",
    {
      schema: {
        summary:
          "Run one read-only SELECT over the lake (DuckDB, reading only the lake's mirror, time-limited)",
        body: QueryBody,
      },
      // The handler answers a bad body itself, after what it checks first (415, 404).
      attachValidation: true,
    },
    async (request): Promise<QueryAnswer> => {
      const run = deps.query;
      if (!run)
        throw new HttpError(404, "NO_QUERY", "this server does not run queries: use `ticklake query`");
      // JSON only: a cross-site form cannot send it without a CORS preflight, which is refused.
      if (!request.headers["content-type"]?.startsWith("application/json")) {
        throw new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", 'the body must be JSON: {"sql": "SELECT …"}');
      }
      if (request.validationError) {
        throw new HttpError(
          400,
          "INVALID_PARAMETER",
          `sql must be a string of 1 to ${MAX_SQL_LENGTH} characters (got ${JSON.stringify(request.body).slice(0, 200)})`,
          { parameter: "sql", allowed: `a string of 1 to ${MAX_SQL_LENGTH} characters` },
        );
      }
      let result: { columns: string[]; rows: unknown[][] };
      try {
        result = await run(request.body.sql, { timeoutMs: deps.queryTimeoutMs ?? QUERY_TIMEOUT_MS });
      } catch (error) {
        // QUERY_REFUSED, QUERY_TIMEOUT, QUERY_FAILED: the runner's own words say what to change.
        if (error instanceof TicklakeError) throw new HttpError(400, error.code, error.message);
        throw new HttpError(400, "QUERY_FAILED", (error as Error).message.split("\n")[0] ?? "query failed");
      }
      return {
        columns: result.columns,
        rows: result.rows.slice(0, MAX_QUERY_ROWS),
        truncated: result.rows.length > MAX_QUERY_ROWS,
      };
    },
  );
};
