/** HTTP errors of the API: a stable code, a message naming the parameter and what is allowed. */
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
