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
import { DATASETS, type Dataset } from "../events.ts";
import { ObjectManifest } from "../planning.ts";
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
import type { TableUpdated } from "./table-updated.ts";

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

/** The path a table lists an announced object's file under, and "table updated" names it by. */
export function dataFilePathOf(manifest: Pick<ObjectManifest, "bucket" | "key">): string {
  return `s3://${manifest.bucket}/${manifest.key}`;
}

/** The announced file of a "data available" message; refuses quarantine objects and files without statistics. */
export function announcedFileOf(manifest: ObjectManifest): AnnouncedFile {
  const path = dataFilePathOf(manifest);
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

/** The announced file of a manifest, or why it cannot be committed. */
function fileOrReason(manifest: ObjectManifest): AnnouncedFile | string {
  try {
    const file = announcedFileOf(manifest);
    if (!(DATASETS as readonly string[]).includes(file.dataset))
      return `${file.path}: no table for dataset ${JSON.stringify(file.dataset)} (tables: ${DATASETS.join(", ")})`;
    return file;
  } catch (error) {
    if (!(error instanceof DataFileError)) throw error;
    return error.message;
  }
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
    const file = fileOrReason(manifest);
    if (typeof file === "string") {
      refused.push({ key: manifest.key, reason: file });
      continue;
    }
    const list = tables.get(file.dataset) ?? [];
    list.push(file);
    tables.set(file.dataset, list);
  }
  return { tables, refused };
}

/** An announcement as the committer's queue delivered it. */
export interface Announcement {
  messageId: string;
  body: string;
}

/** What a committer does with a batch of announcements: one commit per table, the rest refused. */
export interface CommitBatch {
  /** Per table, the files to commit and the messages that announced them. */
  tables: Map<Dataset, { files: AnnouncedFile[]; messageIds: string[] }>;
  /** Messages no retry can make committable, with the reason: not a manifest, not a table file. */
  refused: Array<{ messageId: string; key?: string; reason: string }>;
}

/**
 * Groups a batch of announcements (raw SNS deliveries of "data available" manifests) by the
 * table their files belong to. A message that is not a manifest, or announces a file the
 * table layer cannot take, is refused with the reason: it will never succeed, so it must not
 * hold back the rest.
 */
export function announcementsByTable(messages: readonly Announcement[]): CommitBatch {
  const tables: CommitBatch["tables"] = new Map();
  const refused: CommitBatch["refused"] = [];
  for (const { messageId, body } of messages) {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      refused.push({ messageId, reason: `not JSON: ${body.slice(0, 80)}` });
      continue;
    }
    const parsed = ObjectManifest.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      refused.push({
        messageId,
        reason: `not a data-available manifest: ${issue?.path.join(".") || "$"}: ${issue?.message}`,
      });
      continue;
    }
    const file = fileOrReason(parsed.data);
    if (typeof file === "string") {
      refused.push({ messageId, key: parsed.data.key, reason: file });
      continue;
    }
    const dataset = file.dataset as Dataset;
    const table = tables.get(dataset) ?? { files: [], messageIds: [] };
    table.files.push(file);
    table.messageIds.push(messageId);
    tables.set(dataset, table);
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

/** The "table updated" notification, defined in ./table-updated.ts; re-exported for the committer's imports. */
export { TableUpdated } from "./table-updated.ts";

/**
 * A notification as messages of at most `maxBytes` of JSON each: itself when it fits, else
 * parts that split its file lists, every part carrying the snapshot's other fields. SNS
 * takes 256 KiB a message; a compaction replaces thousands of small files.
 */
export function notificationParts(update: TableUpdated, maxBytes: number): TableUpdated[] {
  const whole = JSON.stringify(update);
  if (Buffer.byteLength(whole) <= maxBytes) return [update];
  const header = JSON.stringify({
    ...update,
    files: [],
    removedFiles: [],
    part: { index: 99_999, count: 99_999 },
  });
  const room = maxBytes - Buffer.byteLength(header);
  type Item = { kind: "file"; file: TableUpdated["files"][number] } | { kind: "removed"; path: string };
  const items: Item[] = [
    ...update.files.map((file) => ({ kind: "file" as const, file })),
    ...update.removedFiles.map((path) => ({ kind: "removed" as const, path })),
  ];
  const chunks: Item[][] = [];
  let chunk: Item[] = [];
  let used = 0;
  for (const item of items) {
    // The item's JSON and a comma.
    const size = Buffer.byteLength(JSON.stringify(item.kind === "file" ? item.file : item.path)) + 1;
    if (size > room) throw new DataFileError(`a file path of ${size} bytes does not fit a notification`);
    if (used + size > room && chunk.length > 0) {
      chunks.push(chunk);
      chunk = [];
      used = 0;
    }
    chunk.push(item);
    used += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks.map((items, index) => ({
    ...update,
    files: items.flatMap((item) => (item.kind === "file" ? [item.file] : [])),
    removedFiles: items.flatMap((item) => (item.kind === "removed" ? [item.path] : [])),
    part: { index: index + 1, count: chunks.length },
  }));
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

/** Summary key holding the event-time range (`min/max`, ISO-8601) of an append's records. */
export const EVENT_TIME_RANGE_KEY = "ticklake.event-time-range";

/**
 * The "table updated" notifications of the append snapshots that added `paths`, rebuilt from
 * the table as they were first published (`entriesOf` holds the manifests `manifestsToRead`
 * named, among them each such snapshot's own). A batch that finds its files committed already
 * publishes them again: the attempt that committed them may have died before it published, and
 * subscribers deduplicate on `snapshotId`. A file a compaction has replaced is no live append's
 * any more, so nothing is announced for it.
 */
export function announcementsOf(
  table: string,
  state: TableState,
  entriesOf: ReadonlyMap<string, readonly ManifestEntry[]>,
  paths: readonly string[],
): TableUpdated[] {
  const wanted = new Set(paths);
  const added = state.manifests
    .flatMap((manifest) => entriesOf.get(manifest.manifestPath) ?? [])
    .filter((entry) => entry.status === ManifestEntryStatus.ADDED);
  const snapshotIds = new Set(
    added.filter((entry) => wanted.has(entry.dataFile.filePath)).map((entry) => entry.snapshotId),
  );
  return state.metadata.snapshots.flatMap((snapshot): TableUpdated[] => {
    const id = snapshot["snapshot-id"];
    if (!snapshotIds.has(id) || snapshot.summary.operation !== "append") return [];
    const files = added.filter((entry) => entry.snapshotId === id).map((entry) => entry.dataFile);
    const [minTime, maxTime] = (snapshot.summary[EVENT_TIME_RANGE_KEY] ?? "").split("/");
    return [
      {
        v: 1,
        kind: "table",
        table,
        snapshotId: String(id),
        sequenceNumber: snapshot["sequence-number"],
        operation: "append",
        files: files.map((file) => ({ path: file.filePath, records: file.recordCount })),
        removedFiles: [],
        records: files.reduce((sum, file) => sum + file.recordCount, 0),
        ...(minTime && maxTime ? { minTime, maxTime } : {}),
        committedAt: new Date(snapshot["timestamp-ms"]).toISOString(),
      },
    ];
  });
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
    [EVENT_TIME_RANGE_KEY]: `${minTime}/${maxTime}`,
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
      kind: "table",
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
