/**
 * Errors of the embedded local AWS. Each is a TicklakeError: a stable `code`, a message naming
 * what went wrong, and the `cause` kept.
 */
import { codedError } from "../core/errors.ts";

/** A function invocation that failed, timed out or crashed its execution environment. */
export class FunctionError extends codedError("FUNCTION_FAILED") {}

/** A resource of the spec that could not be created or found as it should be. */
export class ProvisioningError extends codedError("PROVISIONING_FAILED") {}
