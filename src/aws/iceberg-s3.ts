/**
 * The table layer's storage on S3 and the local catalog (DESIGN §9).
 *
 * `S3TableFileIO` reads, writes (only new keys, `If-None-Match: *`), lists and deletes table
 * files addressed as `s3://bucket/key`.
 *
 * `S3VersionCatalog` keeps each table's metadata files as `<location>/metadata/v<N>.metadata.json`
 * and commits by creating version N+1 with `If-None-Match: *`: of two commits planned on
 * version N, S3 lets exactly one create N+1, which is the compare-and-swap. A
 * `metadata/version-hint.text` holding N is written after each commit, as Iceberg's Hadoop
 * layout does; it may lag, so loading probes the versions after it. pyiceberg opens such a
 * table with `StaticTable.from_metadata("<location>")`. It needs nothing beyond the S3 API
 * (ticklake's local S3 enforces conditional writes, and so does S3).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { CommitConflictError, IcebergError } from "../core/iceberg/errors.ts";
import { parseTableMetadata, serializeTableMetadata, type TableMetadata } from "../core/iceberg/metadata.ts";
import type { Catalog, LoadedTable, TableFileIO, TableIdentifier } from "../core/iceberg/table-ops.ts";

/** Bucket and key of an `s3://bucket/key` URI. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3a?:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new IcebergError(`not an S3 URI: ${uri} (expected s3://bucket/key)`);
  return { bucket: match[1] as string, key: match[2] as string };
}

const statusOf = (error: unknown): number | undefined =>
  error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;

export class S3TableFileIO implements TableFileIO {
  readonly #s3: S3Client;

  constructor(s3: S3Client) {
    this.#s3 = s3;
  }

  async read(path: string): Promise<Uint8Array> {
    const { bucket, key } = parseS3Uri(path);
    const object = await this.#s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!object.Body) throw new IcebergError(`${path} has no body`);
    return object.Body.transformToByteArray();
  }

  /** Reads a file, or undefined when there is none. */
  async readIfExists(path: string): Promise<Uint8Array | undefined> {
    try {
      return await this.read(path);
    } catch (error) {
      if (statusOf(error) === 404 || (error as { name?: string }).name === "NoSuchKey") return undefined;
      throw error;
    }
  }

  async exists(path: string): Promise<boolean> {
    const { bucket, key } = parseS3Uri(path);
    try {
      await this.#s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (error) {
      if (statusOf(error) === 404 || (error as { name?: string }).name === "NotFound") return false;
      throw error;
    }
  }

  /**
   * Writes a new file; `false` when the key exists already (412) or another conditional write
   * of it is in flight (409 ConditionalRequestConflict, which S3 answers the loser of a race):
   * either way another writer has the key, and a commit re-reads the table and plans again.
   * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
   */
  async writeIfAbsent(
    path: string,
    bytes: Uint8Array,
    contentType = "application/octet-stream",
  ): Promise<boolean> {
    const { bucket, key } = parseS3Uri(path);
    try {
      await this.#s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: bytes,
          ContentType: contentType,
          IfNoneMatch: "*",
        }),
      );
      return true;
    } catch (error) {
      const status = statusOf(error);
      if (status === 412 || status === 409) return false;
      throw error;
    }
  }

  async write(path: string, bytes: Uint8Array): Promise<void> {
    if (!(await this.writeIfAbsent(path, bytes)))
      throw new IcebergError(`${path} exists already; table files are never overwritten`);
  }

  /** Overwrites a file (the version hint only). */
  async overwrite(path: string, bytes: Uint8Array, contentType: string): Promise<void> {
    const { bucket, key } = parseS3Uri(path);
    await this.#s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: contentType }),
    );
  }

  async delete(paths: readonly string[]): Promise<void> {
    for (let i = 0; i < paths.length; i += 32) {
      await Promise.all(
        paths.slice(i, i + 32).map((path) => {
          const { bucket, key } = parseS3Uri(path);
          return this.#s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
        }),
      );
    }
  }

  async list(prefix: string): Promise<Array<{ path: string; lastModifiedMs: number }>> {
    const { bucket, key } = parseS3Uri(prefix);
    const out: Array<{ path: string; lastModifiedMs: number }> = [];
    let token: string | undefined;
    do {
      const page = await this.#s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: key, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key)
          out.push({
            path: `s3://${bucket}/${object.Key}`,
            lastModifiedMs: object.LastModified?.getTime() ?? 0,
          });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }
}

const VERSION_FILE = /\/v(\d+)\.metadata\.json$/;

export class S3VersionCatalog implements Catalog {
  readonly #io: S3TableFileIO;
  readonly #warehouse: string;

  /** @param warehouse where tables live: `<warehouse>/<namespace>/<name>`, e.g. `s3://bucket/tables`. */
  constructor(io: S3TableFileIO, warehouse: string) {
    this.#io = io;
    this.#warehouse = warehouse.replace(/\/+$/, "");
  }

  /** The location of a table: its metadata files are under `<location>/metadata/`. */
  locationOf(table: TableIdentifier): string {
    return `${this.#warehouse}/${table.namespace}/${table.name}`;
  }

  #versionPath(table: TableIdentifier, version: number): string {
    return `${this.locationOf(table)}/metadata/v${version}.metadata.json`;
  }

  async #hint(table: TableIdentifier): Promise<number> {
    const bytes = await this.#io.readIfExists(`${this.locationOf(table)}/metadata/version-hint.text`);
    const hint = bytes ? Number.parseInt(Buffer.from(bytes).toString("utf8").trim(), 10) : 0;
    return Number.isSafeInteger(hint) && hint > 0 ? hint : 0;
  }

  async load(table: TableIdentifier): Promise<LoadedTable | undefined> {
    // The hint can lag behind (it is written after the commit) but never run ahead.
    let version = await this.#hint(table);
    while (await this.#io.exists(this.#versionPath(table, version + 1))) version++;
    if (version === 0) return undefined;
    const metadataLocation = this.#versionPath(table, version);
    const bytes = await this.#io.read(metadataLocation);
    return {
      metadata: parseTableMetadata(Buffer.from(bytes).toString("utf8"), metadataLocation),
      metadataLocation,
    };
  }

  async create(table: TableIdentifier, metadata: TableMetadata): Promise<LoadedTable> {
    // Old versions may have been removed (orphan removal): a table exists while its hint does.
    if (await this.#io.exists(`${this.locationOf(table)}/metadata/version-hint.text`)) {
      throw new CommitConflictError(`${table.namespace}.${table.name} exists already`);
    }
    return this.#put(table, 1, metadata);
  }

  async commit(table: TableIdentifier, base: LoadedTable, next: TableMetadata): Promise<LoadedTable> {
    const match = VERSION_FILE.exec(base.metadataLocation);
    if (!match || base.metadataLocation !== this.#versionPath(table, Number(match[1]))) {
      throw new IcebergError(
        `${base.metadataLocation} is not a metadata file of ${table.namespace}.${table.name}`,
      );
    }
    return this.#put(table, Number(match[1]) + 1, next);
  }

  async #put(table: TableIdentifier, version: number, metadata: TableMetadata): Promise<LoadedTable> {
    const metadataLocation = this.#versionPath(table, version);
    const body = Buffer.from(serializeTableMetadata(metadata));
    if (!(await this.#io.writeIfAbsent(metadataLocation, body, "application/json"))) {
      throw new CommitConflictError(
        `${table.namespace}.${table.name}: version ${version} was committed by another writer`,
      );
    }
    await this.#io.overwrite(
      `${this.locationOf(table)}/metadata/version-hint.text`,
      Buffer.from(String(version)),
      "text/plain",
    );
    return { metadata, metadataLocation };
  }
}
