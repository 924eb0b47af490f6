/**
 * Errors of the command line and of the lake query runner. Every one is a `TicklakeError`:
 * the CLI prints its message as one `ticklake:` line, the dashboard answers its `code`.
 */
import { codedError, TicklakeError } from "../core/errors.ts";

/** A command cannot start: something it needs is missing (a running pipeline, an empty DLQ). */
export class PreconditionError extends codedError("PRECONDITION_FAILED") {}

/** An endpoint cannot be reached, or answers with something that is not an AWS API response. */
export class EndpointError extends TicklakeError {
  constructor(
    code: "ENDPOINT_UNREACHABLE" | "ENDPOINT_NOT_AWS" | "AWS_REFUSED",
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
  }
}

/** SQL that is not one read-only SELECT over the lake: nothing of it ran. */
export class QueryRefusedError extends codedError("QUERY_REFUSED") {}

/** A query ran past its time limit and was interrupted. */
export class QueryTimeoutError extends codedError("QUERY_TIMEOUT") {}

/** DuckDB could not parse, bind or run the SQL (the message says where and what to fix). */
export class QueryFailedError extends codedError("QUERY_FAILED") {}
