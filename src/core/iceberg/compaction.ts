/**
 * The pure half of table maintenance (DESIGN §9): which closed hours to compact, how to
 * rewrite an hour's records (sorted by the natural key then `ts`, duplicate ids dropped, cut
 * into files of a target size), the replace snapshot that swaps the files, and which
 * snapshots and files expiry removes.
 *
 * A replace snapshot keeps a DELETED entry (a tombstone) for every file it replaced, in the
 * rewritten manifest of that hour, for `ledgerRetentionMs`: a replaced file can still be
 * announced again (a message redriven from the DLQ days later, a stream replay), and the
 * append planner must find it. Readers skip DELETED entries.
 */
import type { TableState, TableUpdated } from "./commit.ts";
import { IcebergError } from "./errors.ts";
import {
  type DataFile,
  type ManifestEntry,
  ManifestEntryStatus,
  type ManifestFile,
  mayHoldHours,
} from "./manifests.ts";
import { currentSnapshot, nextSequenceNumber, type Snapshot, type TableMetadata } from "./metadata.ts";
import { hourOf } from "./metrics.ts";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The sort order id compacted files carry (the table's `natural key, ts` order). */
export const COMPACTED_SORT_ORDER_ID = 1;

export interface MaintenanceOptions {
  /** Compacted files hold about this many bytes; an hour smaller than that becomes one file. @default 128 MiB */
  targetFileBytes: number;
  /** An hour is closed, and may be compacted, this long after it ends. @default 10 minutes */
  closeAfterMs: number;
  /** Snapshots younger than this are kept: the time-travel window. @default 3 days */
  timeTravelMs: number;
  /**
   * How long tombstones of replaced files are kept after their hour: longer than any file can
   * be announced again (stream retention + queue retention + DLQ retention + the committer's
   * own queues). @default 45 days
   */
  ledgerRetentionMs: number;
  /** Unreferenced files in the table's folder younger than this are left alone. @default 1 day */
  orphanGraceMs: number;
  /**
   * Compaction looks at hours this far back: late events are at most 7 days old when they
   * arrive (the event-time rule). @default 8 days
   */
  lookbackMs: number;
  /**
   * Hours holding more records than this are left uncompacted (and reported): compaction holds
   * an hour in memory, column by column (`COMPACTION_BYTES_PER_RECORD`), so this is what the
   * memory of whatever runs it allows (`compactableRecords`). @default Infinity
   */
  maxHourRecords: number;
}

export const DEFAULT_MAINTENANCE: MaintenanceOptions = {
  targetFileBytes: 128 * 1024 * 1024,
  closeAfterMs: 10 * 60_000,
  timeTravelMs: 3 * DAY_MS,
  ledgerRetentionMs: 45 * DAY_MS,
  orphanGraceMs: DAY_MS,
  lookbackMs: 8 * DAY_MS,
  maxHourRecords: Number.POSITIVE_INFINITY,
};

/** Memory compaction needs per record of an hour, bytes (measured: bench/results/compaction.json). */
export const COMPACTION_BYTES_PER_RECORD = 280;

/**
 * Rows per row group of a compacted file: the writer holds about two row groups at a time, so
 * this bounds its memory (about 130 MB a row group of stock quotes), not the file's size.
 */
export const COMPACTED_ROW_GROUP_ROWS = 1_000_000;

/** Input files read at the same time: S3 answers in tens of milliseconds, decoding is quicker. */
export const COMPACTION_READ_CONCURRENCY = 16;

/**
 * The most records of one hour a process with `memoryMb` of memory can compact, keeping a
 * quarter of it for the runtime, the file being written and the garbage collector's headroom.
 */
export const compactableRecords = (memoryMb: number): number =>
  Math.floor((memoryMb * 1024 * 1024 * 0.75) / COMPACTION_BYTES_PER_RECORD);

const isLive = (entry: ManifestEntry) => entry.status !== ManifestEntryStatus.DELETED;

/** Live entries of the given manifests, by hour. */
export function liveFilesByHour(
  manifests: readonly ManifestFile[],
  entriesOf: ReadonlyMap<string, readonly ManifestEntry[]>,
): Map<number, ManifestEntry[]> {
  const byHour = new Map<number, ManifestEntry[]>();
  for (const manifest of manifests) {
    for (const entry of entriesOf.get(manifest.manifestPath) ?? []) {
      if (!isLive(entry)) continue;
      const list = byHour.get(entry.dataFile.tsHour) ?? [];
      list.push(entry);
      byHour.set(entry.dataFile.tsHour, list);
    }
  }
  return byHour;
}

/**
 * Closed hours that need compacting: any with a live file that compaction did not write
 * (a fresh hour's small files, or a late file in an hour compacted before).
 */
export function hoursToCompact(
  byHour: ReadonlyMap<number, readonly ManifestEntry[]>,
  nowMs: number,
  options: Pick<MaintenanceOptions, "closeAfterMs">,
): number[] {
  const closedBefore = hourOf(nowMs - options.closeAfterMs); // hours < this one have ended long enough ago
  return [...byHour]
    .filter(
      ([hour, entries]) =>
        hour < closedBefore &&
        entries.some((entry) => entry.dataFile.sortOrderId !== COMPACTED_SORT_ORDER_ID),
    )
    .map(([hour]) => hour)
    .sort((a, b) => a - b);
}

/**
 * An hour's rows, in order, cut into files of at most `targetFileBytes` at `bytesPerRecord`
 * (estimated: `compactHour` measures the output's bytes a record on a row group when the
 * hour may come near the target), with a tenth of the target kept for row groups that
 * compress worse than the estimate's.
 */
export function cutIntoFiles(
  rows: Uint32Array,
  bytesPerRecord: number,
  targetFileBytes: number,
): Uint32Array[] {
  const perFile = Math.max(1, Math.floor((targetFileBytes * 0.9) / Math.max(1, bytesPerRecord)));
  const files: Uint32Array[] = [];
  for (let start = 0; start < rows.length; start += perFile)
    files.push(rows.subarray(start, start + perFile));
  return files;
}

export type ReplacePlan =
  | { kind: "stale"; reason: string }
  | {
      kind: "replace";
      snapshotId: bigint;
      sequenceNumber: number;
      /** New manifests: the hour's (outputs and tombstones) and, if any, the other hours' entries of rewritten manifests. */
      manifests: ManifestEntry[][];
      carried: ManifestFile[];
      summary: Record<string, string>;
      notification: TableUpdated;
    };

/**
 * The replace snapshot swapping `replaced` (live files of `hour`) for `outputs`, planned on
 * the table's current state. Every manifest that may hold the hour is rewritten: the hour's
 * replaced files become tombstones, its other live files stay, tombstones older than the
 * ledger retention are dropped, other hours' entries move to a manifest of their own. If a
 * replaced file is no longer live (another compaction won), the plan is "stale".
 */
export function planReplace(input: {
  table: string;
  state: TableState;
  entriesOf: ReadonlyMap<string, readonly ManifestEntry[]>;
  hour: number;
  replaced: readonly string[];
  outputs: readonly DataFile[];
  snapshotId: bigint;
  nowMs: number;
  ledgerRetentionMs: number;
}): ReplacePlan {
  const { state, hour } = input;
  const hours = new Set([hour]);
  const rewritten = state.manifests.filter((manifest) => mayHoldHours(manifest, hours));
  const carried = state.manifests.filter((manifest) => !mayHoldHours(manifest, hours));
  const replaced = new Set(input.replaced);
  const sequenceNumber = nextSequenceNumber(state.metadata);
  const oldestTombstoneHour = hourOf(input.nowMs - input.ledgerRetentionMs);
  const hourEntries: ManifestEntry[] = [];
  const otherEntries: ManifestEntry[] = [];
  const found = new Set<string>();
  let deletedRecords = 0;
  let removedBytes = 0;
  for (const manifest of rewritten) {
    const entries = input.entriesOf.get(manifest.manifestPath);
    if (!entries) throw new IcebergError(`manifest ${manifest.manifestPath} was not read before planning`);
    for (const entry of entries) {
      const file = entry.dataFile;
      if (!isLive(entry)) {
        if (file.tsHour >= oldestTombstoneHour)
          (file.tsHour === hour ? hourEntries : otherEntries).push(entry);
        continue;
      }
      if (file.tsHour === hour && replaced.has(file.filePath)) {
        found.add(file.filePath);
        deletedRecords += file.recordCount;
        removedBytes += file.fileSizeInBytes;
        hourEntries.push({ ...entry, status: ManifestEntryStatus.DELETED, snapshotId: input.snapshotId });
        continue;
      }
      (file.tsHour === hour ? hourEntries : otherEntries).push({
        ...entry,
        status: ManifestEntryStatus.EXISTING,
      });
    }
  }
  const missing = input.replaced.filter((path) => !found.has(path));
  if (missing.length > 0)
    return { kind: "stale", reason: `no longer live: ${missing.slice(0, 3).join(", ")}` };
  for (const output of input.outputs) {
    hourEntries.push({
      status: ManifestEntryStatus.ADDED,
      snapshotId: input.snapshotId,
      sequenceNumber,
      fileSequenceNumber: sequenceNumber,
      dataFile: { ...output, sortOrderId: COMPACTED_SORT_ORDER_ID },
    });
  }
  const addedRecords = input.outputs.reduce((sum, file) => sum + file.recordCount, 0);
  const addedBytes = input.outputs.reduce((sum, file) => sum + file.fileSizeInBytes, 0);
  const hourStart = new Date(hour * HOUR_MS).toISOString();
  return {
    kind: "replace",
    snapshotId: input.snapshotId,
    sequenceNumber,
    manifests: [hourEntries, otherEntries],
    carried,
    summary: {
      "added-data-files": String(input.outputs.length),
      "deleted-data-files": String(input.replaced.length),
      "added-records": String(addedRecords),
      "deleted-records": String(deletedRecords),
      "added-files-size": String(addedBytes),
      "removed-files-size": String(removedBytes),
      "changed-partition-count": "1",
      "ticklake.compacted-hour": hourStart,
      "ticklake.duplicates-removed": String(deletedRecords - addedRecords),
    },
    notification: {
      v: 1,
      kind: "table",
      table: input.table,
      snapshotId: String(input.snapshotId),
      sequenceNumber,
      operation: "replace",
      files: input.outputs.map((file) => ({ path: file.filePath, records: file.recordCount })),
      removedFiles: [...input.replaced],
      records: addedRecords,
      minTime: hourStart,
      maxTime: new Date((hour + 1) * HOUR_MS - 1).toISOString(),
      committedAt: new Date(input.nowMs).toISOString(),
    },
  };
}

/** Snapshots expiry keeps: those inside the time-travel window, the current one, and every ref's. */
export function snapshotsToKeep(metadata: TableMetadata, nowMs: number, timeTravelMs: number): Set<bigint> {
  const keep = new Set<bigint>();
  const current = currentSnapshot(metadata);
  if (current) keep.add(current["snapshot-id"]);
  for (const ref of Object.values(metadata.refs)) keep.add(ref["snapshot-id"]);
  for (const snapshot of metadata.snapshots) {
    if (snapshot["timestamp-ms"] >= nowMs - timeTravelMs) keep.add(snapshot["snapshot-id"]);
  }
  return keep;
}

/** The metadata without the snapshots expiry removes; the snapshot log keeps the retained ones. */
export function withoutSnapshots(
  metadata: TableMetadata,
  keep: ReadonlySet<bigint>,
  nowMs: number,
): TableMetadata {
  const snapshots: Snapshot[] = metadata.snapshots.filter((snapshot) => keep.has(snapshot["snapshot-id"]));
  return {
    ...metadata,
    "last-updated-ms": nowMs,
    snapshots,
    "snapshot-log": metadata["snapshot-log"].filter((entry) => keep.has(entry["snapshot-id"])),
  };
}
