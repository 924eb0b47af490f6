/**
 * Decodes S3's `aws-chunked` content encoding as a stream: the framing the SDKs put around a
 * streamed upload (`<hex size>[;chunk-signature=…]\r\n<bytes>\r\n` …, a zero-size chunk, then
 * optional trailers such as `x-amz-checksum-crc32:…` and an empty line).
 * s3rver stored this framing inside objects (DESIGN §5); the local S3 strips it before the body
 * reaches the disk. Signatures are not checked: the local endpoints accept any credentials.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 */
import { Transform, type TransformCallback } from "node:stream";
import { S3ApiError } from "./errors.ts";

/** The longest chunk header or trailer line accepted: hex size plus a 64-hex-digit signature. */
const MAX_LINE = 4_096;

type State = "header" | "data" | "data-end" | "trailers" | "done";

export class AwsChunkedDecoder extends Transform {
  #state: State = "header";
  #line = "";
  #remaining = 0;
  /** Bytes of payload written out, for the caller's check against x-amz-decoded-content-length. */
  decodedBytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#consume(chunk);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    callback(
      this.#state === "done"
        ? undefined
        : new S3ApiError("IncompleteBody", 400, "The aws-chunked body ended before its final chunk"),
    );
  }

  #consume(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.#state === "data") {
        const take = Math.min(this.#remaining, chunk.length - at);
        this.push(chunk.subarray(at, at + take));
        this.decodedBytes += take;
        this.#remaining -= take;
        at += take;
        if (this.#remaining === 0) this.#state = "data-end";
        continue;
      }
      if (this.#state === "done") return;
      // Header, the CRLF after a chunk's data, and trailers are lines.
      const newline = chunk.indexOf(0x0a, at);
      const end = newline === -1 ? chunk.length : newline;
      this.#line += chunk.toString("latin1", at, end);
      at = end;
      if (this.#line.length > MAX_LINE) throw this.#malformed("a line longer than 4,096 bytes");
      if (newline === -1) return;
      at++;
      const line = this.#line.endsWith("\r") ? this.#line.slice(0, -1) : this.#line;
      this.#line = "";
      this.#onLine(line);
    }
  }

  #onLine(line: string): void {
    if (this.#state === "data-end") {
      if (line !== "") throw this.#malformed(`data after a chunk's declared size (${JSON.stringify(line)})`);
      this.#state = "header";
    } else if (this.#state === "header") {
      const size = line.split(";", 1)[0] ?? "";
      if (!/^[0-9a-fA-F]{1,16}$/.test(size)) throw this.#malformed(`chunk header ${JSON.stringify(line)}`);
      this.#remaining = Number.parseInt(size, 16);
      this.#state = this.#remaining === 0 ? "trailers" : "data";
    } else if (this.#state === "trailers" && line === "") {
      this.#state = "done";
    }
  }

  #malformed(what: string): S3ApiError {
    return new S3ApiError("InvalidRequest", 400, `Malformed aws-chunked body: ${what}`);
  }
}
