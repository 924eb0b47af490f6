/**
 * What a user sees when a command cannot finish: one `ticklake:` line that says what went wrong
 * and what to do, never Node's stack trace (TICKLAKE_DEBUG=1 adds it). Errors ticklake raises on
 * purpose carry their message; the others a user can cause (an endpoint that is down or is not
 * AWS, missing credentials, AWS refusing a call) are recognised here and given one.
 */
import { TicklakeError } from "../core/errors.ts";
import { EndpointError } from "./errors.ts";
import type { Target } from "./options.ts";

/** Where a command was talking to, for the message: the target and, when known, its URL. */
export interface EndpointContext {
  target: Target;
  endpoint?: string;
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
]);

interface NetworkError extends Error {
  code: string;
  address?: string;
  port?: number;
  hostname?: string;
}

/** The socket error behind an SDK error: itself, its cause, or one of an AggregateError's (IPv6 then IPv4). */
function networkError(error: unknown, depth = 0): NetworkError | undefined {
  if (!(error instanceof Error) || depth > 3) return undefined;
  const code = (error as { code?: unknown }).code;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const found = networkError(inner, depth + 1);
      if (found) return found;
    }
  }
  if (typeof code === "string" && NETWORK_CODES.has(code)) return error as NetworkError;
  return networkError(error.cause, depth + 1);
}

function describe({ target, endpoint }: Partial<EndpointContext>): string {
  const name = target
    ? { local: "the local emulators", localstack: "LocalStack", aws: "AWS" }[target]
    : "the endpoint";
  return endpoint ? `${name} at ${endpoint}` : name;
}

/** What to do when a target's endpoints do not answer as AWS does. */
function hintFor(target: Target | undefined): string {
  switch (target) {
    case undefined:
      return "check that the service runs and that its endpoint is right";
    case "local":
      return "is `ticklake up` still running? Start it with `npm start`, or pass the --state-dir it runs with";
    case "localstack":
      return "start LocalStack, or set LOCALSTACK_ENDPOINT to where it listens";
    case "aws":
      return "check the network, the region (AWS_REGION) and any AWS_ENDPOINT_URL setting";
  }
}

const excerpt = (text: string) => {
  const line = text.replace(/\s+/g, " ").trim();
  return JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line);
};

/**
 * The endpoint failure behind an error, as an EndpointError that names the target and what to
 * do; undefined for an error that is not about the endpoint.
 */
export function endpointFailure(
  error: unknown,
  context: Partial<EndpointContext> = {},
): EndpointError | undefined {
  if (error instanceof TicklakeError || !(error instanceof Error)) return undefined;
  const network = networkError(error);
  if (network) {
    const at = network.address
      ? `${network.address}${network.port ? `:${network.port}` : ""}`
      : (network.hostname ?? context.endpoint);
    const where = describe({ target: context.target, ...(at ? { endpoint: at } : {}) });
    return new EndpointError(
      "ENDPOINT_UNREACHABLE",
      `cannot reach ${where} (${network.code}): ${hintFor(context.target)}`,
      { cause: error },
    );
  }
  if (error.name === "CredentialsProviderError") {
    return new EndpointError(
      "AWS_REFUSED",
      "no AWS credentials found: configure them (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
      { cause: error },
    );
  }
  // The SDK keeps the HTTP response on errors raised while reading it; AWS's own errors have $fault.
  const response = (error as { $response?: { statusCode?: number; body?: unknown } }).$response;
  const fault = (error as { $fault?: string }).$fault;
  if (response && fault === undefined) {
    // The body, where the SDK kept it; otherwise the parser's complaint, which quotes its start.
    const body = (error as { $responseBodyText?: string }).$responseBodyText ?? response.body;
    const shown =
      typeof body === "string" && body !== ""
        ? ` (${excerpt(body)})`
        : ` (${error.name}: ${firstLine(error.message)})`;
    return new EndpointError(
      "ENDPOINT_NOT_AWS",
      `${describe(context)} answered HTTP ${response.statusCode ?? "?"} with something that is not an AWS API response${shown}: ${hintFor(context.target)}`,
      { cause: error },
    );
  }
  if (fault !== undefined) {
    const what =
      context.target === "aws"
        ? "check the credentials' permissions, the region, and that the stack is deployed (--stack)"
        : "are the pipeline's resources there? `ticklake provision` creates them";
    return new EndpointError(
      "AWS_REFUSED",
      `${describe(context)} refused the call: ${error.name}: ${firstLine(error.message)}: ${what}`,
      { cause: error },
    );
  }
  return undefined;
}

const firstLine = (text: string) => text.split("\n")[0]?.trim() ?? "";

/** The one line a failed command prints (without the `ticklake: ` prefix). */
export function failureLine(error: unknown): string {
  if (error instanceof TicklakeError) return error.message;
  const endpoint = endpointFailure(error);
  if (endpoint) return endpoint.message;
  const name = error instanceof Error ? error.name : typeof error;
  const message = error instanceof Error ? firstLine(error.message) : String(error);
  return `unexpected ${name}: ${message} (run again with TICKLAKE_DEBUG=1 for the stack trace, and report it as a bug)`;
}

/** The error's stack and causes, for TICKLAKE_DEBUG. */
export function debugDetails(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    parts.push(current instanceof Error ? (current.stack ?? String(current)) : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join("\ncaused by: ");
}
