/** Base class of every error ticklake raises on purpose; `code` is stable and safe to show. */
export class TicklakeError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A setting (environment variable, CLI option, resource spec) is missing or out of range. */
export class ConfigError extends TicklakeError {
  constructor(message: string, options?: ErrorOptions) {
    super("CONFIG_INVALID", message, options);
  }
}

/** An SQS message body that is not a packed ticklake message. */
export class PackedMessageError extends TicklakeError {
  constructor(message: string, options?: ErrorOptions) {
    super("PACKED_MESSAGE_INVALID", message, options);
  }
}

/** A partition key Kinesis would not take. */
export class PartitionKeyError extends TicklakeError {
  constructor(message: string, options?: ErrorOptions) {
    super("PARTITION_KEY_INVALID", message, options);
  }
}
