/** Errors of the table layer: ticklake's one error base, a stable code each, `cause` kept. */
import { TicklakeError } from "../errors.ts";

/** A table file or a catalog entry that is not what the table layer wrote or expects. */
export class IcebergError extends TicklakeError {
  constructor(message: string, options?: ErrorOptions, code = "TABLE_INVALID") {
    super(code, message, options);
  }
}

/**
 * The catalog's current metadata is no longer the one a commit was planned on: another
 * commit won. The commit loop re-reads the table and plans again.
 */
export class CommitConflictError extends IcebergError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options, "COMMIT_CONFLICT");
  }
}

/** A file or an announcement the table layer cannot take, with the reason. */
export class DataFileError extends IcebergError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options, "DATA_FILE_INVALID");
  }
}
