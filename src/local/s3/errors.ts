/** Errors of the local S3, answered as S3 answers them: an XML body with a stable `Code`. */
import { TicklakeError } from "../../core/errors.ts";

/**
 * An S3 error response: `code` is S3's own error code (`NoSuchKey`, `PreconditionFailed`, …).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
 */
export class S3ApiError extends TicklakeError {
  readonly status: number;
  /** The key or bucket the error is about, as S3 names it in the body. */
  readonly resource: { Key?: string; BucketName?: string; UploadId?: string };

  constructor(
    code: string,
    status: number,
    message: string,
    resource: S3ApiError["resource"] = {},
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.status = status;
    this.resource = resource;
  }
}

export const noSuchBucket = (bucket: string) =>
  new S3ApiError("NoSuchBucket", 404, "The specified bucket does not exist", { BucketName: bucket });

export const noSuchKey = (key: string) =>
  new S3ApiError("NoSuchKey", 404, "The specified key does not exist.", { Key: key });
