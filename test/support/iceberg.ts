/**
 * Test helpers of the table layer: lake files written the way the processor writes them, and
 * pyiceberg's reading of tables (test/support/iceberg_check.py).
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll } from "vitest";
import { S3TableFileIO, S3VersionCatalog } from "../../src/aws/iceberg-s3.ts";
import { putObjectIfAbsent } from "../../src/aws/lake.ts";
import type { Envelope } from "../../src/core/events.ts";
import { type AnnouncedFile, announcedFileOf } from "../../src/core/iceberg/commit.ts";
import { packRecords } from "../../src/core/packing.ts";
import { manifestFor, planObjects } from "../../src/core/planning.ts";
import type { RunningEmulators } from "../../src/local/emulators.ts";
import { localClients } from "../../src/local/pipeline.ts";
import { emulatorsIn, tempStateDir } from "./local-aws.ts";
import { venvTool } from "./tools.ts";

const CHECKER = fileURLToPath(new URL("./iceberg_check.py", import.meta.url));

let nextSequence = 1n;

/**
 * Writes events to the lake as the processor does (one packed message per call on `shardId`,
 * one object per dataset and hour, `If-None-Match`), and returns the announced lake files.
 */
export async function writeLakeFiles(
  s3: S3Client,
  bucket: string,
  events: readonly Envelope[],
  shardId = "shardId-000000000000",
): Promise<AnnouncedFile[]> {
  const records = events.map((event) => {
    const sequenceNumber = `4959${String(nextSequence++).padStart(52, "0")}`;
    return {
      sequenceNumber,
      partitionKey: "k",
      arrivalMs: Date.parse(event.ts),
      data: Buffer.from(JSON.stringify(event)),
    };
  });
  const files: AnnouncedFile[] = [];
  for (const message of packRecords(records, {
    stream: "ticklake-test",
    shardId,
    maxMessageBytes: 1_048_576,
  })) {
    for (const plan of planObjects(message)) {
      if (plan.kind !== "lake") continue;
      await putObjectIfAbsent(s3, bucket, plan);
      files.push(announcedFileOf(manifestFor(plan, bucket, message)));
    }
  }
  return files;
}

export interface CheckedFile {
  path: string;
  records: number;
  bytes: number;
  partition: number[];
  value_counts: Record<string, number>;
  null_value_counts: Record<string, number>;
  column_sizes: Record<string, number>;
  lower_bounds: Record<string, string>;
  upper_bounds: Record<string, string>;
  sort_order_id: number | null;
}

export interface CheckedTable {
  format_version: number;
  location: string;
  schema: Array<{ id: number; name: string; required: boolean; type: string; element_id?: number }>;
  schemas: number;
  last_column_id: number;
  partition_spec: Array<{ source_id: number; field_id: number; name: string; transform: string }>;
  sort_order: Array<{ source_id: number; direction: string }>;
  current_snapshot: string | null;
  snapshots: Array<{
    id: string;
    parent: string | null;
    sequence: number;
    operation: string;
    summary: Record<string, string>;
    ids?: string[];
  }>;
  files: CheckedFile[];
  ids: string[];
  metadata_log: number;
}

export type TableToCheck =
  | { location: string }
  | { glue: { endpoint: string; database: string; name: string } };

/** Each table as pyiceberg reads it. */
export async function checkTables(
  s3Endpoint: string,
  tables: TableToCheck[],
  options: { snapshots?: boolean } = {},
): Promise<CheckedTable[]> {
  const request = JSON.stringify({
    s3: { endpoint: s3Endpoint },
    tables,
    snapshots: options.snapshots ?? false,
  });
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = execFile(
      venvTool("python"),
      [CHECKER],
      { maxBuffer: 256 * 1024 * 1024, env: { ...process.env, AWS_EC2_METADATA_DISABLED: "true" } },
      (error, out, err) =>
        error ? reject(new Error(`pyiceberg checker failed: ${err || error.message}`)) : resolve(out),
    );
    child.stdin?.end(request);
  });
  return JSON.parse(stdout) as CheckedTable[];
}

export interface LocalTables {
  emulators: RunningEmulators;
  s3: S3Client;
  io: S3TableFileIO;
  /** The local catalog, its warehouse at `s3://<bucket>/tables`. */
  catalog: S3VersionCatalog;
}

/**
 * For a test file: the emulators in a temporary state folder, a bucket, and the local catalog
 * on it, set up before its tests and removed after them. Fields are set once `beforeAll` ran.
 */
export function localTables(bucket: string): LocalTables {
  const tables = {} as LocalTables;
  let remove = async () => {};
  beforeAll(async () => {
    const state = await tempStateDir();
    remove = state.remove;
    tables.emulators = await emulatorsIn(state.dir);
    tables.s3 = localClients(tables.emulators.endpoints).s3;
    await tables.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    tables.io = new S3TableFileIO(tables.s3);
    tables.catalog = new S3VersionCatalog(tables.io, `s3://${bucket}/tables`);
  });
  afterAll(async () => {
    tables.s3?.destroy();
    await tables.emulators?.stop();
    await remove();
  });
  return tables;
}
