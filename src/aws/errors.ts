/**
 * Errors of the AWS adapters. Each is a TicklakeError: a stable `code`, a message naming what
 * went wrong and the value received, and the `cause` kept.
 */
import { codedError, TicklakeError } from "../core/errors.ts";

/** Packed messages SQS would still not take after every retry. */
export class SqsSendError extends codedError("SQS_SEND_FAILED") {}

/**
 * A log record the shipper did not accept. What it accepted it does not lose; what it refuses
 * is counted in `stats.refused`, which the alarms watch. Catch this, and only this, where a
 * refusal is expected.
 */
export class ShipperRefusal extends TicklakeError {}

/** The shipper's memory (without a spool), its spool, or its hand-over to its thread is full. */
export class ShipperFullError extends ShipperRefusal {
  constructor(where: string) {
    super("SHIPPER_FULL", `log shipper ${where} is full; record refused (see the shipper's alarms)`);
  }
}

/** The shipper's thread has stopped: it takes no record, and cannot flush or close. */
export class ShipperStoppedError extends ShipperRefusal {
  constructor(message: string, options?: ErrorOptions) {
    super("SHIPPER_STOPPED", message, options);
  }
}

/** A subscription of a queue to the topic could not be set up. */
export class SubscriptionError extends codedError("SUBSCRIPTION_FAILED") {}

/** An object of the lake could not be mirrored as it is: no body, a wrong checksum, a bad key. */
export class LakeObjectError extends codedError("LAKE_OBJECT_INVALID") {}
