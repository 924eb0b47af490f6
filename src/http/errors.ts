/**
 * The errors every HTTP surface of ticklake answers with (the market API and the dashboard):
 * a stable code, a message naming what is wrong and what is allowed, one JSON shape.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { TicklakeError } from "../core/errors.ts";

export class HttpError extends TicklakeError {
  readonly statusCode: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(statusCode: number, code: string, message: string, details?: Record<string, unknown>) {
    super(code, message);
    this.statusCode = statusCode;
    this.details = details;
  }
}

export const badParameter = (parameter: string, value: unknown, allowed: string) =>
  new HttpError(400, "INVALID_PARAMETER", `${parameter} must be ${allowed} (got ${JSON.stringify(value)})`, {
    parameter,
    value,
    allowed,
  });

export const unknownSymbol = (kind: string, symbol: string) =>
  new HttpError(404, "UNKNOWN_SYMBOL", `unknown ${kind} ${JSON.stringify(symbol)}`, { symbol });

/** The body of every error answer: `{"error": {"code", "message", …details}}`. */
export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().describe("Stable, e.g. INVALID_PARAMETER, UNKNOWN_SYMBOL, RATE_LIMITED"),
      message: z.string().describe("What is wrong, the value received and what is allowed"),
      parameter: z.string().optional().describe("The parameter that is wrong"),
      value: z.unknown().optional().describe("The value it had, as the API read it"),
      allowed: z.string().optional().describe("What the parameter may be"),
      symbol: z.string().optional().describe("The instrument that is not listed"),
      requestId: z.string().optional().describe("With a 5xx: the request's id, to find it in the log"),
    }),
  })
  .meta({ id: "Error", description: "An error" });

export const errorBody = (error: HttpError) => ({
  error: { code: error.code, message: error.message, ...error.details },
});

/**
 * Fastify's error handler for ticklake's HTTP surfaces: an HttpError as its JSON error, a
 * client error from Fastify or a plugin with its own status, and anything else as a 500 that
 * names only the request id (the details go to the log).
 */
export function answerError(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply | Promise<FastifyReply> {
  if (error instanceof HttpError) return reply.status(error.statusCode).send(errorBody(error));
  const status = (error as { statusCode?: number }).statusCode;
  // The rate limiter's own answer (errorResponseBuilder), as it built it.
  if (status === 429) return reply.status(429).send(error);
  if (status !== undefined && status >= 400 && status < 500) {
    return reply.status(status).send({ error: { code: "BAD_REQUEST", message: (error as Error).message } });
  }
  request.log.error(error);
  return reply
    .status(500)
    .send({ error: { code: "INTERNAL", message: "internal error", requestId: request.id } });
}

/** Codes of what Fastify refuses before a route is found: a bad escape, a URL too long. */
const FRAMEWORK_CODES: Record<string, string> = {
  FST_ERR_BAD_URL: "BAD_URL",
  FST_ERR_MAX_PARAM_LENGTH: "URI_TOO_LONG",
};

/** Fastify's `frameworkErrors`: what it refuses before routing, in the same JSON shape. */
export function answerFrameworkError(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  return reply
    .status(error.statusCode ?? 400)
    .send({ error: { code: FRAMEWORK_CODES[error.code] ?? "BAD_REQUEST", message: error.message } });
}
