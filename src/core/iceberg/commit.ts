/**
 * The pure half of committing (DESIGN §3, §9): from the table's current state and a set of
 * announced data files, the next append snapshot, or "nothing new". No I/O: the caller reads
 * the manifests this asks for and stores what it returns.
 *
 * Exactly once: a file is identified by its path, which the processor derives from the packed
 * message's identity (shard, first and last sequence number, hour), so every announcement of
 * a file names the same path. A file is added only if no entry of the table's current
 * manifests names it: live entries (ADDED, EXISTING) and the DELETED entries that compaction
 * keeps as tombstones of the files it replaced (`compaction.ts`). Only the manifests whose
 * partition summary covers a candidate file's hour are read, so the cost of a commit is
 * bounded by the hours it touches, not by the table's size. docs/reliability.md has the
 * whole argument.
 */
import type { ObjectManifest } from "../planning.ts";
import { DataFileError } from "./errors.ts";
import {
  type DataFile,
  type ManifestEntry,
  ManifestEntryStatus,
  type ManifestFile,
  mayHoldHours,
} from "./manifests.ts";
import { currentSnapshot, nextSequenceNumber, type TableMetadata } from "./metadata.ts";
import type { DataFileStats } from "./metrics.ts";

/** A data file as the processor announced it, ready to be committed. */
export interface AnnouncedFile {
  /** `s3://bucket/key`. */
  path: string;
  dataset: string;
  bytes: number;
  records: number;
  minTime: string;
  maxTime: string;
  source: { stream: string; shardId: string; firstSeq: string; lastSeq: string } | null;
  stats: DataFileStats;
}

/** The announced file of a "data available" message; refuses quarantine objects and files without statistics. */
export function announcedFileOf(manifest: ObjectManifest): AnnouncedFile {
  const path = `s3://${manifest.bucket}/${manifest.key}`;
  if (manifest.kind !== "lake")
    throw new DataFileError(`${path} is a ${manifest.kind} object, not a table file`);
  if (!manifest.iceberg) {
    throw new DataFileError(
      `${path} was announced without Iceberg statistics (written before the table layer; its columns carry no field ids)`,
    );
  }
  if (manifest.iceberg.recordCount !== manifest.records) {
    throw new DataFileError(
      `${path}: statistics count ${manifest.iceberg.recordCount} records, the announcement ${manifest.records}`,
    );
  }
  return {
    path,
    dataset: manifest.dataset,
    bytes: manifest.bytes,
    records: manifest.records,
    minTime: manifest.minTime,
    maxTime: manifest.maxTime,
    source: manifest.source,
    stats: manifest.iceberg,
  };
}

/**
 * The announced files of a batch of "data available" messages, by table (dataset); the
 * messages that are not committable (quarantine objects, files without statistics) apart,
 * with the reason.
 */
export function filesByTable(manifests: readonly ObjectManifest[]): {
  tables: Map<string, AnnouncedFile[]>;
  refused: Array<{ key: string; reason: string }>;
} {
  const tables = new Map<string, AnnouncedFile[]>();
  const refused: Array<{ key: string; reason: string }> = [];
  for (const manifest of manifests) {
    try {
      const file = announcedFileOf(manifest);
      const list = tables.get(file.dataset) ?? [];
      list.push(file);
      tables.set(file.dataset, list);
    } catch (error) {
      if (!(error instanceof DataFileError)) throw error;
      refused.push({ key: manifest.key, reason: error.message });
    }
  }
  return { tables, refused };
}

const numericKeys = <V>(record: Record<string, V>): Record<number, V> =>
  Object.fromEntries(Object.entries(record).map(([key, value]) => [Number(key), value]));

const bytesOf = (record: Record<string, string>): Record<number, Uint8Array> =>
  Object.fromEntries(
    Object.entries(record).map(([key, value]) => [Number(key), Buffer.from(value, "base64")]),
  );

/** The manifest entry's data file of an announced file. */
export function dataFileOf(file: AnnouncedFile): DataFile {
  return {
    filePath: file.path,
    tsHour: file.stats.tsHour,
    recordCount: file.records,
    fileSizeInBytes: file.bytes,
    columnSizes: numericKeys(file.stats.columnSizes),
    valueCounts: numericKeys(file.stats.valueCounts),
    nullValueCounts: numericKeys(file.stats.nullValueCounts),
    nanValueCounts: numericKeys(file.stats.nanValueCounts),
    lowerBounds: bytesOf(file.stats.lowerBounds),
    upperBounds: bytesOf(file.stats.upperBounds),
    splitOffsets: file.stats.splitOffsets,
  };
}

/** What a table's current snapshot is made of: its metadata and its manifest list. */
export interface TableState {
  metadata: TableMetadata;
  /** The metadata file the catalog points at. */
  metadataLocation: string;
  /** The current snapshot's manifests; empty for a table without snapshots. */
  manifests: ManifestFile[];
}

/** The manifests to read before planning a commit of `files`: those that may hold their hours. */
export function manifestsToRead(
  state: TableState,
  files: readonly { stats: { tsHour: number } }[],
): ManifestFile[] {
  const hours = new Set(files.map((file) => file.stats.tsHour));
  return state.manifests.filter((manifest) => mayHoldHours(manifest, hours));
}

/** The "table updated" notification of a commit, for subscribers (DESIGN §1). */
export interface TableUpdated {
  v: 1;
  table: string;
  snapshotId: string;
  sequenceNumber: number;
  operation: "append" | "replace";
  /** Data files the snapshot added, with their record counts. */
  files: Array<{ path: string; records: number }>;
  /** Files the snapshot removed (compaction). */
  removedFiles: string[];
  records: number;
  /** Event-time range of the added records, ISO-8601; absent when nothing was added. */
  minTime?: string;
  maxTime?: string;
  committedAt: string;
}

export type AppendPlan =
  | { kind: "nothing-new"; alreadyCommitted: string[] }
  | {
      kind: "append";
      snapshotId: bigint;
      sequenceNumber: number;
      /** Entries of the one new manifest. */
      entries: ManifestEntry[];
      /** The current snapshot's manifests, carried into the new manifest list unchanged. */
      carried: ManifestFile[];
      summary: Record<string, string>;
      added: AnnouncedFile[];
      alreadyCommitted: string[];
      notification: TableUpdated;
    };

/** Summary key holding the per-shard sequence ranges a snapshot's files came from. */
export const SHARD_RANGES_KEY = "ticklake.shard-ranges";

/**
 * Per shard, the lowest first and highest last sequence number of the added files: what the
 * snapshot covers, in a few hundred bytes whatever the number of files (every snapshot's
 * summary is repeated in each metadata file). The exact set is the snapshot's manifest.
 */
export function shardRangesOf(files: readonly AnnouncedFile[]): Record<string, [string, string]> {
  const ranges: Record<string, [string, string]> = {};
  const less = (a: string, b: string) => a.length < b.length || (a.length === b.length && a < b);
  for (const file of files) {
    if (!file.source) continue;
    const key = `${file.source.stream}/${file.source.shardId}`;
    const range = ranges[key];
    if (!range) ranges[key] = [file.source.firstSeq, file.source.lastSeq];
    else {
      if (less(file.source.firstSeq, range[0])) range[0] = file.source.firstSeq;
      if (less(range[1], file.source.lastSeq)) range[1] = file.source.lastSeq;
    }
  }
  return Object.fromEntries(Object.entries(ranges).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Iceberg's standard totals, from the manifests a snapshot lists. */
export function totalsOf(manifests: readonly ManifestFile[], filesSize: number): Record<string, string> {
  let files = 0;
  let records = 0;
  for (const manifest of manifests) {
    files += manifest.addedFilesCount + manifest.existingFilesCount;
    records += manifest.addedRowsCount + manifest.existingRowsCount;
  }
  return {
    "total-data-files": String(files),
    "total-records": String(records),
    "total-files-size": String(filesSize),
    "total-delete-files": "0",
    "total-position-deletes": "0",
    "total-equality-deletes": "0",
  };
}

export const totalFilesSizeOf = (metadata: TableMetadata): number =>
  Number(currentSnapshot(metadata)?.summary["total-files-size"] ?? 0);

/**
 * Plans one append snapshot of `files` on the table's current state. `entriesOf` holds the
 * entries of every manifest `manifestsToRead` named. Files already in the table (live or
 * replaced by compaction) and repeats within `files` are left out; nothing left means
 * "nothing new".
 */
export function planAppend(input: {
  table: string;
  state: TableState;
  entriesOf: ReadonlyMap<string, readonly ManifestEntry[]>;
  files: readonly AnnouncedFile[];
  snapshotId: bigint;
  nowMs: number;
}): AppendPlan {
  const { state, files } = input;
  const known = new Set<string>();
  for (const manifest of manifestsToRead(state, files)) {
    const entries = input.entriesOf.get(manifest.manifestPath);
    if (!entries) throw new DataFileError(`manifest ${manifest.manifestPath} was not read before planning`);
    for (const entry of entries) known.add(entry.dataFile.filePath);
  }
  const added: AnnouncedFile[] = [];
  const alreadyCommitted: string[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    if (file.dataset !== input.table) {
      throw new DataFileError(`${file.path} belongs to ${file.dataset}, not to table ${input.table}`);
    }
    if (seen.has(file.path)) continue;
    seen.add(file.path);
    if (known.has(file.path)) alreadyCommitted.push(file.path);
    else added.push(file);
  }
  if (added.length === 0) return { kind: "nothing-new", alreadyCommitted };

  const sequenceNumber = nextSequenceNumber(state.metadata);
  const entries = added.map(
    (file): ManifestEntry => ({
      status: ManifestEntryStatus.ADDED,
      snapshotId: input.snapshotId,
      sequenceNumber,
      fileSequenceNumber: sequenceNumber,
      dataFile: dataFileOf(file),
    }),
  );
  const records = added.reduce((sum, file) => sum + file.records, 0);
  const size = added.reduce((sum, file) => sum + file.bytes, 0);
  const minTime = added.map((file) => file.minTime).sort()[0] as string;
  const maxTime = added
    .map((file) => file.maxTime)
    .sort()
    .at(-1) as string;
  const hours = new Set(added.map((file) => file.stats.tsHour));
  const summary = {
    "added-data-files": String(added.length),
    "added-records": String(records),
    "added-files-size": String(size),
    "changed-partition-count": String(hours.size),
    [SHARD_RANGES_KEY]: JSON.stringify(shardRangesOf(added)),
    "ticklake.event-time-range": `${minTime}/${maxTime}`,
  };
  return {
    kind: "append",
    snapshotId: input.snapshotId,
    sequenceNumber,
    entries,
    carried: state.manifests,
    summary,
    added,
    alreadyCommitted,
    notification: {
      v: 1,
      table: input.table,
      snapshotId: String(input.snapshotId),
      sequenceNumber,
      operation: "append",
      files: added.map((file) => ({ path: file.path, records: file.records })),
      removedFiles: [],
      records,
      minTime,
      maxTime,
      committedAt: new Date(input.nowMs).toISOString(),
    },
  };
}
