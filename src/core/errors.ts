/** Base class of every error ticklake raises on purpose; `code` is stable and safe to show. */
export class TicklakeError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * The base of a TicklakeError whose instances all carry one code:
 * `class QueryTimeoutError extends codedError("QUERY_TIMEOUT") {}`; its name is the subclass's.
 */
export function codedError<Code extends string>(code: Code) {
  return class extends TicklakeError {
    declare readonly code: Code;

    constructor(message: string, options?: ErrorOptions) {
      super(code, message, options);
    }
  };
}

/** A setting (environment variable, CLI option, resource spec) is missing or out of range. */
export class ConfigError extends codedError("CONFIG_INVALID") {}

/** An SQS message body that is not a packed ticklake message. */
export class PackedMessageError extends codedError("PACKED_MESSAGE_INVALID") {}

/** A partition key Kinesis would not take. */
export class PartitionKeyError extends codedError("PARTITION_KEY_INVALID") {}
