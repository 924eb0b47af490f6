/** Errors of the table layer: one base class, `name` set, `cause` kept. */
export class IcebergError extends Error {
  override name = "IcebergError";
}

/**
 * The catalog's current metadata is no longer the one a commit was planned on: another
 * commit won. The commit loop re-reads the table and plans again.
 */
export class CommitConflictError extends IcebergError {
  override name = "CommitConflictError";
}

/** A file or an announcement the table layer cannot take, with the reason. */
export class DataFileError extends IcebergError {
  override name = "DataFileError";
}
