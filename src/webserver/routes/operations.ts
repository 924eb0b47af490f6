/** What operators and load balancers read: liveness, and the Prometheus metrics. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { ErrorBody } from "../../http/errors.ts";
import type { HttpMetrics } from "../metrics.ts";

export const operationRoutes: FastifyPluginAsyncZod<{ metrics: HttpMetrics }> = async (app, { metrics }) => {
  app.get(
    "/health",
    {
      schema: {
        summary: "Liveness",
        response: { 200: z.object({ status: z.literal("ok") }), 414: ErrorBody },
      },
      // The load balancer's health checks: they neither use a client's rate limit (past it, a
      // 429 would have the task replaced) nor belong in the lake as requests.
      config: { rateLimit: false, logged: false },
    },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/metrics",
    {
      schema: {
        summary: "Prometheus metrics",
        response: {
          200: { description: "Prometheus text format", content: { "text/plain": { schema: z.string() } } },
          414: ErrorBody,
          429: ErrorBody,
        },
      },
    },
    async (_request, reply) => reply.header("content-type", metrics.contentType).send(await metrics.render()),
  );
};
