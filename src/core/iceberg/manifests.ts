/**
 * Iceberg v2 manifests and manifest lists, written and read from the spec's Avro schemas
 * (field ids, names and optional unions as the spec gives them). ticklake's tables have one
 * partition spec, `hour(ts)` as field 1000 `ts_hour`, so the `partition` struct is that one
 * int field.
 * @see https://iceberg.apache.org/spec/#manifests
 * @see https://iceberg.apache.org/spec/#manifest-lists
 */
import { readAvroFile, writeAvroFile } from "./avro.ts";
import { IcebergError } from "./errors.ts";
import {
  FIRST_PARTITION_FIELD_ID,
  HOUR_PARTITION,
  type IcebergSchema,
  type PartitionSpec,
} from "./schema.ts";

export const ManifestEntryStatus = { EXISTING: 0, ADDED: 1, DELETED: 2 } as const;
export type ManifestEntryStatus = (typeof ManifestEntryStatus)[keyof typeof ManifestEntryStatus];

/** A data file as a manifest describes it. Metrics are keyed by field id. */
export interface DataFile {
  filePath: string;
  /** Hours since the epoch: the file's `hour(ts)` partition value. */
  tsHour: number;
  recordCount: number;
  fileSizeInBytes: number;
  columnSizes: Record<number, number>;
  valueCounts: Record<number, number>;
  nullValueCounts: Record<number, number>;
  nanValueCounts: Record<number, number>;
  lowerBounds: Record<number, Uint8Array>;
  upperBounds: Record<number, Uint8Array>;
  splitOffsets: number[];
  sortOrderId?: number;
}

export interface ManifestEntry {
  status: ManifestEntryStatus;
  /** The snapshot that added (or deleted) the file. */
  snapshotId: bigint;
  /** Data sequence number; inherited from the manifest for ADDED entries when written. */
  sequenceNumber: number;
  fileSequenceNumber: number;
  dataFile: DataFile;
}

export interface ManifestFile {
  manifestPath: string;
  manifestLength: number;
  sequenceNumber: number;
  minSequenceNumber: number;
  addedSnapshotId: bigint;
  addedFilesCount: number;
  existingFilesCount: number;
  deletedFilesCount: number;
  addedRowsCount: number;
  existingRowsCount: number;
  deletedRowsCount: number;
  /** Hours covered by the manifest's entries (all of them, deleted ones included). */
  minHour: number | undefined;
  maxHour: number | undefined;
}

const optional = (type: unknown) => ["null", type];

function intMap(name: string, id: number, keyId: number, valueId: number, valueType: string) {
  return {
    name,
    type: optional({
      type: "array",
      logicalType: "map",
      items: {
        type: "record",
        name: `k${keyId}_v${valueId}`,
        fields: [
          { name: "key", type: "int", "field-id": keyId },
          { name: "value", type: valueType, "field-id": valueId },
        ],
      },
    }),
    default: null,
    "field-id": id,
  };
}

/** The v2 `manifest_entry` Avro schema for the `hour(ts)` spec. */
export const MANIFEST_ENTRY_SCHEMA = {
  type: "record",
  name: "manifest_entry",
  fields: [
    { name: "status", type: "int", "field-id": 0 },
    { name: "snapshot_id", type: optional("long"), default: null, "field-id": 1 },
    { name: "sequence_number", type: optional("long"), default: null, "field-id": 3 },
    { name: "file_sequence_number", type: optional("long"), default: null, "field-id": 4 },
    {
      name: "data_file",
      "field-id": 2,
      type: {
        type: "record",
        name: "r2",
        fields: [
          {
            name: "content",
            type: "int",
            "field-id": 134,
            doc: "Contents of the file: 0=data, 1=position deletes, 2=equality deletes",
          },
          { name: "file_path", type: "string", "field-id": 100 },
          { name: "file_format", type: "string", "field-id": 101 },
          {
            name: "partition",
            "field-id": 102,
            type: {
              type: "record",
              name: "r102",
              fields: [
                {
                  name: HOUR_PARTITION,
                  type: optional("int"),
                  default: null,
                  "field-id": FIRST_PARTITION_FIELD_ID,
                },
              ],
            },
          },
          { name: "record_count", type: "long", "field-id": 103 },
          { name: "file_size_in_bytes", type: "long", "field-id": 104 },
          intMap("column_sizes", 108, 117, 118, "long"),
          intMap("value_counts", 109, 119, 120, "long"),
          intMap("null_value_counts", 110, 121, 122, "long"),
          intMap("nan_value_counts", 137, 138, 139, "long"),
          intMap("lower_bounds", 125, 126, 127, "bytes"),
          intMap("upper_bounds", 128, 129, 130, "bytes"),
          { name: "key_metadata", type: optional("bytes"), default: null, "field-id": 131 },
          {
            name: "split_offsets",
            type: optional({ type: "array", items: "long", "element-id": 133 }),
            default: null,
            "field-id": 132,
          },
          {
            name: "equality_ids",
            type: optional({ type: "array", items: "int", "element-id": 136 }),
            default: null,
            "field-id": 135,
          },
          { name: "sort_order_id", type: optional("int"), default: null, "field-id": 140 },
        ],
      },
    },
  ],
};

/** The v2 `manifest_file` Avro schema of a manifest list. */
export const MANIFEST_FILE_SCHEMA = {
  type: "record",
  name: "manifest_file",
  fields: [
    { name: "manifest_path", type: "string", "field-id": 500 },
    { name: "manifest_length", type: "long", "field-id": 501 },
    { name: "partition_spec_id", type: "int", "field-id": 502 },
    { name: "content", type: "int", "field-id": 517 },
    { name: "sequence_number", type: "long", "field-id": 515 },
    { name: "min_sequence_number", type: "long", "field-id": 516 },
    { name: "added_snapshot_id", type: "long", "field-id": 503 },
    { name: "added_files_count", type: "int", "field-id": 504 },
    { name: "existing_files_count", type: "int", "field-id": 505 },
    { name: "deleted_files_count", type: "int", "field-id": 506 },
    { name: "added_rows_count", type: "long", "field-id": 512 },
    { name: "existing_rows_count", type: "long", "field-id": 513 },
    { name: "deleted_rows_count", type: "long", "field-id": 514 },
    {
      name: "partitions",
      type: optional({
        type: "array",
        "element-id": 508,
        items: {
          type: "record",
          name: "r508",
          fields: [
            { name: "contains_null", type: "boolean", "field-id": 509 },
            { name: "contains_nan", type: optional("boolean"), default: null, "field-id": 518 },
            { name: "lower_bound", type: optional("bytes"), default: null, "field-id": 510 },
            { name: "upper_bound", type: optional("bytes"), default: null, "field-id": 511 },
          ],
        },
      }),
      default: null,
      "field-id": 507,
    },
    { name: "key_metadata", type: optional("bytes"), default: null, "field-id": 519 },
  ],
};

interface AvroMapItem<V> {
  key: number;
  value: V;
}

const toMap = <V>(record: Record<number, V>): AvroMapItem<V>[] =>
  Object.entries(record)
    .map(([key, value]) => ({ key: Number(key), value }))
    .sort((a, b) => a.key - b.key);

const fromMap = <V>(items: AvroMapItem<V>[] | null): Record<number, V> =>
  Object.fromEntries((items ?? []).map((item) => [item.key, item.value]));

const bytesMap = (items: AvroMapItem<Buffer>[] | null): Record<number, Uint8Array> =>
  Object.fromEntries((items ?? []).map((item) => [item.key, new Uint8Array(item.value)]));

const intBytes = (value: number): Buffer => {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32LE(value);
  return buffer;
};

const asBigInt = (value: unknown): bigint => BigInt(value as number | bigint);

export interface ManifestWrite {
  schema: IcebergSchema;
  spec: PartitionSpec;
  /** The snapshot writing the manifest, and its sequence number. */
  snapshotId: bigint;
  sequenceNumber: number;
  entries: readonly ManifestEntry[];
}

/**
 * A manifest file's bytes and its manifest-list entry (without path and length, which the
 * caller knows once it has stored it). ADDED entries by this snapshot leave their sequence
 * numbers to be inherited, as the spec asks; others carry theirs.
 */
export function writeManifest(write: ManifestWrite): {
  bytes: Uint8Array;
  summary: Omit<ManifestFile, "manifestPath" | "manifestLength">;
} {
  const { entries } = write;
  const records = entries.map((entry) => {
    const inherit = entry.status === ManifestEntryStatus.ADDED && entry.snapshotId === write.snapshotId;
    const file = entry.dataFile;
    return {
      status: entry.status,
      snapshot_id: entry.snapshotId,
      sequence_number: inherit ? null : entry.sequenceNumber,
      file_sequence_number: inherit ? null : entry.fileSequenceNumber,
      data_file: {
        content: 0,
        file_path: file.filePath,
        file_format: "PARQUET",
        partition: { [HOUR_PARTITION]: file.tsHour },
        record_count: file.recordCount,
        file_size_in_bytes: file.fileSizeInBytes,
        column_sizes: toMap(file.columnSizes),
        value_counts: toMap(file.valueCounts),
        null_value_counts: toMap(file.nullValueCounts),
        nan_value_counts: toMap(file.nanValueCounts),
        lower_bounds: toMap(file.lowerBounds).map(({ key, value }) => ({ key, value: Buffer.from(value) })),
        upper_bounds: toMap(file.upperBounds).map(({ key, value }) => ({ key, value: Buffer.from(value) })),
        key_metadata: null,
        split_offsets: file.splitOffsets.length > 0 ? file.splitOffsets : null,
        equality_ids: null,
        sort_order_id: file.sortOrderId ?? null,
      },
    };
  });
  const bytes = writeAvroFile(MANIFEST_ENTRY_SCHEMA, records, {
    schema: JSON.stringify(write.schema),
    "schema-id": String(write.schema["schema-id"]),
    "partition-spec": JSON.stringify(write.spec.fields),
    "partition-spec-id": String(write.spec["spec-id"]),
    "format-version": "2",
    content: "data",
  });
  const count = (status: ManifestEntryStatus) => entries.filter((entry) => entry.status === status);
  const rows = (list: ManifestEntry[]) => list.reduce((sum, entry) => sum + entry.dataFile.recordCount, 0);
  const hours = entries.map((entry) => entry.dataFile.tsHour);
  const sequenceOf = (entry: ManifestEntry) =>
    entry.status === ManifestEntryStatus.ADDED && entry.snapshotId === write.snapshotId
      ? write.sequenceNumber
      : entry.sequenceNumber;
  return {
    bytes,
    summary: {
      sequenceNumber: write.sequenceNumber,
      minSequenceNumber: entries.length > 0 ? Math.min(...entries.map(sequenceOf)) : write.sequenceNumber,
      addedSnapshotId: write.snapshotId,
      addedFilesCount: count(ManifestEntryStatus.ADDED).length,
      existingFilesCount: count(ManifestEntryStatus.EXISTING).length,
      deletedFilesCount: count(ManifestEntryStatus.DELETED).length,
      addedRowsCount: rows(count(ManifestEntryStatus.ADDED)),
      existingRowsCount: rows(count(ManifestEntryStatus.EXISTING)),
      deletedRowsCount: rows(count(ManifestEntryStatus.DELETED)),
      minHour: hours.length > 0 ? Math.min(...hours) : undefined,
      maxHour: hours.length > 0 ? Math.max(...hours) : undefined,
    },
  };
}

interface ManifestEntryRecord {
  status: number;
  snapshot_id: number | bigint | null;
  sequence_number: number | null;
  file_sequence_number: number | null;
  data_file: {
    content: number;
    file_path: string;
    file_format: string;
    partition: Record<string, number | null>;
    record_count: number;
    file_size_in_bytes: number;
    column_sizes: AvroMapItem<number>[] | null;
    value_counts: AvroMapItem<number>[] | null;
    null_value_counts: AvroMapItem<number>[] | null;
    nan_value_counts?: AvroMapItem<number>[] | null;
    lower_bounds: AvroMapItem<Buffer>[] | null;
    upper_bounds: AvroMapItem<Buffer>[] | null;
    split_offsets: number[] | null;
    sort_order_id?: number | null;
  };
}

/**
 * A manifest's entries, with inherited snapshot ids and sequence numbers filled in from its
 * manifest-list entry. Throws on delete files and on a partition other than `ts_hour`.
 */
export function readManifest(bytes: Uint8Array, manifest: ManifestFile): ManifestEntry[] {
  const file = readAvroFile(bytes);
  return (file.records as ManifestEntryRecord[]).map((record) => {
    const data = record.data_file;
    if (data.content !== 0) {
      throw new IcebergError(
        `${manifest.manifestPath} holds delete files (content ${data.content}); ticklake writes none`,
      );
    }
    const hour = data.partition[HOUR_PARTITION];
    if (typeof hour !== "number") {
      throw new IcebergError(
        `${data.file_path} has no ${HOUR_PARTITION} partition value in ${manifest.manifestPath}`,
      );
    }
    const inherited = record.status === ManifestEntryStatus.ADDED;
    return {
      status: record.status as ManifestEntryStatus,
      snapshotId: record.snapshot_id === null ? manifest.addedSnapshotId : asBigInt(record.snapshot_id),
      sequenceNumber: record.sequence_number ?? (inherited ? manifest.sequenceNumber : 0),
      fileSequenceNumber: record.file_sequence_number ?? (inherited ? manifest.sequenceNumber : 0),
      dataFile: {
        filePath: data.file_path,
        tsHour: hour,
        recordCount: Number(data.record_count),
        fileSizeInBytes: Number(data.file_size_in_bytes),
        columnSizes: fromMap(data.column_sizes),
        valueCounts: fromMap(data.value_counts),
        nullValueCounts: fromMap(data.null_value_counts),
        nanValueCounts: fromMap(data.nan_value_counts ?? null),
        lowerBounds: bytesMap(data.lower_bounds),
        upperBounds: bytesMap(data.upper_bounds),
        splitOffsets: (data.split_offsets ?? []).map(Number),
        ...(typeof data.sort_order_id === "number" ? { sortOrderId: data.sort_order_id } : {}),
      },
    };
  });
}

/** A manifest list's bytes. */
export function writeManifestList(
  manifests: readonly ManifestFile[],
  snapshot: { snapshotId: bigint; parentSnapshotId: bigint | undefined; sequenceNumber: number },
): Uint8Array {
  const records = manifests.map((manifest) => ({
    manifest_path: manifest.manifestPath,
    manifest_length: manifest.manifestLength,
    partition_spec_id: 0,
    content: 0,
    sequence_number: manifest.sequenceNumber,
    min_sequence_number: manifest.minSequenceNumber,
    added_snapshot_id: manifest.addedSnapshotId,
    added_files_count: manifest.addedFilesCount,
    existing_files_count: manifest.existingFilesCount,
    deleted_files_count: manifest.deletedFilesCount,
    added_rows_count: manifest.addedRowsCount,
    existing_rows_count: manifest.existingRowsCount,
    deleted_rows_count: manifest.deletedRowsCount,
    partitions: [
      {
        contains_null: false,
        contains_nan: false,
        lower_bound: manifest.minHour === undefined ? null : intBytes(manifest.minHour),
        upper_bound: manifest.maxHour === undefined ? null : intBytes(manifest.maxHour),
      },
    ],
    key_metadata: null,
  }));
  return writeAvroFile(MANIFEST_FILE_SCHEMA, records, {
    "snapshot-id": String(snapshot.snapshotId),
    "parent-snapshot-id":
      snapshot.parentSnapshotId === undefined ? "null" : String(snapshot.parentSnapshotId),
    "sequence-number": String(snapshot.sequenceNumber),
    "format-version": "2",
  });
}

interface ManifestFileRecord {
  manifest_path: string;
  manifest_length: number;
  partition_spec_id: number;
  content?: number;
  sequence_number?: number;
  min_sequence_number?: number;
  added_snapshot_id: number | bigint;
  added_files_count: number;
  existing_files_count: number;
  deleted_files_count: number;
  added_rows_count: number;
  existing_rows_count: number;
  deleted_rows_count: number;
  partitions: Array<{ lower_bound: Buffer | null; upper_bound: Buffer | null }> | null;
}

export function readManifestList(bytes: Uint8Array): ManifestFile[] {
  return (readAvroFile(bytes).records as ManifestFileRecord[]).map((record) => {
    if ((record.content ?? 0) !== 0) {
      throw new IcebergError(`${record.manifest_path} is a delete manifest; ticklake writes none`);
    }
    const hours = record.partitions?.[0];
    return {
      manifestPath: record.manifest_path,
      manifestLength: Number(record.manifest_length),
      sequenceNumber: Number(record.sequence_number ?? 0),
      minSequenceNumber: Number(record.min_sequence_number ?? 0),
      addedSnapshotId: asBigInt(record.added_snapshot_id),
      addedFilesCount: record.added_files_count,
      existingFilesCount: record.existing_files_count,
      deletedFilesCount: record.deleted_files_count,
      addedRowsCount: Number(record.added_rows_count),
      existingRowsCount: Number(record.existing_rows_count),
      deletedRowsCount: Number(record.deleted_rows_count),
      minHour: hours?.lower_bound ? hours.lower_bound.readInt32LE(0) : undefined,
      maxHour: hours?.upper_bound ? hours.upper_bound.readInt32LE(0) : undefined,
    };
  });
}

/** Whether a manifest may hold entries of any of `hours`, from its partition summary. */
export function mayHoldHours(manifest: ManifestFile, hours: ReadonlySet<number>): boolean {
  if (manifest.minHour === undefined || manifest.maxHour === undefined) return true;
  for (const hour of hours) if (hour >= manifest.minHour && hour <= manifest.maxHour) return true;
  return false;
}
