/**
 * Request validation with zod, for routes typed by fastify-type-provider-zod: one schema per
 * request part validates it, types the handler and documents the route (OpenAPI). A part that
 * fails is answered as the API always has: 400 naming the first parameter that is wrong, the
 * value as the API read it and what is allowed (the parameter's description), or 404 for an
 * instrument that is well-formed but not listed (a refinement with `params: { unlisted }`).
 *
 * Why a compiler of our own and not the library's `validatorCompiler`: the answer quotes the
 * value that failed, and only zod's `reportInput` keeps it in the issue.
 */
import type { FastifySchemaCompiler } from "fastify";
import { z } from "zod";
import { badParameter, type HttpError, unknownSymbol } from "./errors.ts";

/** What a refinement puts in `params` for an instrument the market does not list. */
export interface UnlistedParams {
  /** What kind of instrument, e.g. "stock symbol", for the 404's message. */
  unlisted: string;
}

/** The answer to the first issue of a request part: what a client is told is wrong. */
function answerFor(issue: z.core.$ZodIssue, part: z.ZodObject, data: unknown): HttpError {
  const name = String(issue.path[0] ?? "");
  const unlisted = issue.code === "custom" ? (issue.params as Partial<UnlistedParams>)?.unlisted : undefined;
  if (unlisted !== undefined) return unknownSymbol(unlisted, String(issue.input));
  // A number is quoted as it was sent ("0"), not as zod coerced it (0); anything else as the
  // check saw it, which for instruments is in capitals.
  const sent = (data as Record<string, unknown> | undefined)?.[name];
  const value = typeof issue.input === "number" ? sent : issue.input;
  return badParameter(name, value, part.shape[name]?.description ?? "");
}

/** Fastify's validator compiler for zod object schemas (params, querystring, body). */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, method, url, httpPart }) => {
  if (!(schema instanceof z.ZodObject)) {
    throw new TypeError(`${method} ${url}: the ${httpPart} schema must be a zod object`);
  }
  // A parameter's description is what a client is told is allowed: a URL parameter needs one.
  if (httpPart === "params" || httpPart === "querystring") {
    for (const [name, parameter] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
      if (!parameter.description)
        throw new TypeError(
          `${method} ${url}: ${httpPart} parameter ${name} has no description of what is allowed`,
        );
    }
  }
  return (data) => {
    const result = schema.safeParse(data, { reportInput: true });
    if (result.success) return { value: result.data };
    return { error: answerFor(result.error.issues[0] as z.core.$ZodIssue, schema, data) };
  };
};
