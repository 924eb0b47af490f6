/**
 * Iceberg v2 table metadata (the `*.metadata.json` a catalog points at): created, parsed,
 * validated and advanced by one snapshot at a time. Snapshot ids are 64-bit, so they are
 * bigints here and the JSON is read and written with lossless-json.
 * @see https://iceberg.apache.org/spec/#table-metadata
 */
import { randomBytes, randomUUID } from "node:crypto";
import { isSafeNumber, parse, stringify } from "lossless-json";
import { z } from "zod";
import type { Dataset } from "../events.ts";
import { IcebergError } from "./errors.ts";
import {
  checkEvolution,
  FIRST_PARTITION_FIELD_ID,
  fieldIdsOf,
  hourPartitionSpec,
  type IcebergSchema,
  icebergSchemaOf,
  type PartitionSpec,
  type SortOrder,
  sortOrderOf,
} from "./schema.ts";

const snapshotId = z.union([z.bigint(), z.int()]).transform((value) => BigInt(value));

const Snapshot = z.looseObject({
  "snapshot-id": snapshotId,
  "parent-snapshot-id": snapshotId.optional(),
  "sequence-number": z.int().nonnegative(),
  "timestamp-ms": z.int(),
  "manifest-list": z.string(),
  summary: z
    .looseObject({ operation: z.enum(["append", "replace", "overwrite", "delete"]) })
    .catchall(z.string()),
  "schema-id": z.int().optional(),
});
export type Snapshot = z.output<typeof Snapshot>;

export const TableMetadata = z.looseObject({
  "format-version": z.literal(2),
  "table-uuid": z.string(),
  location: z.string(),
  "last-sequence-number": z.int().nonnegative(),
  "last-updated-ms": z.int(),
  "last-column-id": z.int(),
  schemas: z.array(z.custom<IcebergSchema>((value) => typeof value === "object" && value !== null)),
  "current-schema-id": z.int(),
  "partition-specs": z.array(z.custom<PartitionSpec>((value) => typeof value === "object" && value !== null)),
  "default-spec-id": z.int(),
  "last-partition-id": z.int(),
  properties: z.record(z.string(), z.string()).default({}),
  "current-snapshot-id": snapshotId.nullable().optional(),
  snapshots: z.array(Snapshot).default([]),
  "snapshot-log": z.array(z.object({ "snapshot-id": snapshotId, "timestamp-ms": z.int() })).default([]),
  "metadata-log": z.array(z.object({ "metadata-file": z.string(), "timestamp-ms": z.int() })).default([]),
  "sort-orders": z.array(z.custom<SortOrder>((value) => typeof value === "object" && value !== null)),
  "default-sort-order-id": z.int(),
  refs: z
    .record(z.string(), z.looseObject({ "snapshot-id": snapshotId, type: z.enum(["branch", "tag"]) }))
    .default({}),
});
export type TableMetadata = z.output<typeof TableMetadata>;

/** How many earlier metadata files the metadata log keeps (Iceberg's `write.metadata.previous-versions-max`). */
export const METADATA_LOG_LENGTH = 100;

/** Parses and validates a metadata file; the error names the field that is wrong. */
export function parseTableMetadata(text: string, where: string): TableMetadata {
  let raw: unknown;
  try {
    raw = parse(text, undefined, (value) => (isSafeNumber(value) ? Number(value) : BigInt(value)));
  } catch (cause) {
    throw new IcebergError(`${where} is not JSON`, { cause });
  }
  const result = TableMetadata.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new IcebergError(
      `${where} is not Iceberg v2 table metadata: ${issue?.path.join(".") || "$"}: ${issue?.message}`,
    );
  }
  return result.data;
}

export function serializeTableMetadata(metadata: TableMetadata): string {
  return stringify(metadata) as string;
}

/** A random positive 63-bit snapshot id, as Iceberg's writers make them. */
export function newSnapshotId(): bigint {
  return randomBytes(8).readBigUInt64BE(0) >> 1n || 1n;
}

export function currentSchema(metadata: TableMetadata): IcebergSchema {
  const schema = metadata.schemas.find(
    (candidate) => candidate["schema-id"] === metadata["current-schema-id"],
  );
  if (!schema) throw new IcebergError(`current schema ${metadata["current-schema-id"]} is not in the table`);
  return schema;
}

export function currentSnapshot(metadata: TableMetadata): Snapshot | undefined {
  const id = metadata.refs.main?.["snapshot-id"] ?? metadata["current-snapshot-id"];
  if (id === undefined || id === null || id === -1n) return undefined;
  const snapshot = metadata.snapshots.find((candidate) => candidate["snapshot-id"] === id);
  if (!snapshot) throw new IcebergError(`current snapshot ${id} is not in the table's snapshots`);
  return snapshot;
}

export interface NewTable {
  dataset: Dataset;
  /** The table's base location, e.g. `s3://bucket/tables/fx_quotes`. */
  location: string;
  nowMs: number;
  properties?: Record<string, string>;
  /** The schema to create with; the contract's current one by default. */
  schema?: IcebergSchema;
}

/** The metadata of a new, empty table: schema, `hour(ts)` spec, sort order by natural key. */
export function newTableMetadata(table: NewTable): TableMetadata {
  const schema = table.schema ?? icebergSchemaOf(table.dataset);
  return {
    "format-version": 2,
    "table-uuid": randomUUID(),
    location: table.location,
    "last-sequence-number": 0,
    "last-updated-ms": table.nowMs,
    "last-column-id": Math.max(...fieldIdsOf(schema)),
    schemas: [schema],
    "current-schema-id": schema["schema-id"],
    "partition-specs": [hourPartitionSpec(schema)],
    "default-spec-id": 0,
    "last-partition-id": FIRST_PARTITION_FIELD_ID,
    properties: {
      "write.format.default": "parquet",
      "write.parquet.compression-codec": "zstd",
      "write.metadata.previous-versions-max": String(METADATA_LOG_LENGTH),
      ...table.properties,
    },
    "current-snapshot-id": null,
    snapshots: [],
    "snapshot-log": [],
    "metadata-log": [],
    "sort-orders": [{ "order-id": 0, fields: [] }, sortOrderOf(table.dataset, schema)],
    "default-sort-order-id": 1,
    refs: {},
  };
}

/**
 * Iceberg schema evolution: `target` (the contract's schema for a new `v`) becomes the
 * current schema, as a new schema id, if it differs from the current one. Ids are checked
 * against every schema the table has had: never reused, new fields optional. Returns the
 * metadata unchanged when the schema is the same.
 */
export function evolveSchema(metadata: TableMetadata, target: IcebergSchema, nowMs: number): TableMetadata {
  const current = currentSchema(metadata);
  const same = JSON.stringify(current.fields) === JSON.stringify(target.fields);
  if (same) return metadata;
  checkEvolution(metadata.schemas, target);
  const schemaId = Math.max(...metadata.schemas.map((schema) => schema["schema-id"])) + 1;
  return {
    ...metadata,
    schemas: [...metadata.schemas, { ...target, "schema-id": schemaId }],
    "current-schema-id": schemaId,
    "last-column-id": Math.max(metadata["last-column-id"], ...fieldIdsOf(target)),
    "last-updated-ms": nowMs,
  };
}

export interface SnapshotCommit {
  snapshotId: bigint;
  operation: "append" | "replace";
  manifestList: string;
  summary: Record<string, string>;
  nowMs: number;
}

/**
 * The metadata after one more snapshot on `main`: sequence number, snapshot log and `refs.main`
 * advanced, and the metadata file this was planned on (`previousLocation`) added to the
 * metadata log (kept to its last METADATA_LOG_LENGTH entries).
 */
export function withSnapshot(
  metadata: TableMetadata,
  commit: SnapshotCommit,
  previousLocation: string | undefined,
): TableMetadata {
  const parent = currentSnapshot(metadata);
  const sequenceNumber = metadata["last-sequence-number"] + 1;
  const snapshot: Snapshot = {
    "snapshot-id": commit.snapshotId,
    ...(parent ? { "parent-snapshot-id": parent["snapshot-id"] } : {}),
    "sequence-number": sequenceNumber,
    "timestamp-ms": commit.nowMs,
    "manifest-list": commit.manifestList,
    summary: { operation: commit.operation, ...commit.summary },
    "schema-id": metadata["current-schema-id"],
  };
  const metadataLog = previousLocation
    ? [
        ...metadata["metadata-log"],
        { "metadata-file": previousLocation, "timestamp-ms": metadata["last-updated-ms"] },
      ]
    : metadata["metadata-log"];
  return {
    ...metadata,
    "last-sequence-number": sequenceNumber,
    "last-updated-ms": commit.nowMs,
    "current-snapshot-id": commit.snapshotId,
    snapshots: [...metadata.snapshots, snapshot],
    "snapshot-log": [
      ...metadata["snapshot-log"],
      { "snapshot-id": commit.snapshotId, "timestamp-ms": commit.nowMs },
    ],
    "metadata-log": metadataLog.slice(-METADATA_LOG_LENGTH),
    refs: { ...metadata.refs, main: { "snapshot-id": commit.snapshotId, type: "branch" } },
  };
}

/** The next sequence number a snapshot committed on `metadata` gets. */
export const nextSequenceNumber = (metadata: TableMetadata): number => metadata["last-sequence-number"] + 1;
