/**
 * Reading a table (DESIGN §9): which snapshot a reader sees — the current one, or the one that
 * was current at a time (`--as-of`, from the snapshot log) — and the data files it is made of:
 * the live entries (ADDED, EXISTING) of its manifests. DELETED entries are the tombstones
 * compaction keeps of the files it replaced (`compaction.ts`); a reader never reads them.
 * @see https://iceberg.apache.org/spec/#snapshots
 * @see https://iceberg.apache.org/spec/#scan-planning
 */
import { SnapshotNotFoundError } from "./errors.ts";
import {
  type DataFile,
  type ManifestEntry,
  ManifestEntryStatus,
  type ManifestFile,
  readManifest,
  readManifestList,
} from "./manifests.ts";
import { currentSnapshot, type Snapshot, type TableMetadata } from "./metadata.ts";
import type { Catalog, TableFileIO, TableIdentifier } from "./table-ops.ts";

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The snapshot a reader sees at `asOfMs`: the last one the snapshot log shows as current at or
 * before that time; the current snapshot when no time is given. `undefined` when the table was
 * empty then: it had no snapshot yet, and none before it was expired. Throws a
 * SnapshotNotFoundError when snapshots older than the time existed but expiry removed them
 * (the oldest snapshot kept has a parent that is gone).
 */
export function snapshotAsOf(
  metadata: TableMetadata,
  asOfMs: number | undefined,
  table: string,
): Snapshot | undefined {
  if (asOfMs === undefined) return currentSnapshot(metadata);
  const log = metadata["snapshot-log"];
  let found: bigint | undefined;
  for (const entry of log) if (entry["timestamp-ms"] <= asOfMs) found = entry["snapshot-id"];
  if (found !== undefined) {
    const snapshot = metadata.snapshots.find((candidate) => candidate["snapshot-id"] === found);
    if (!snapshot)
      throw new SnapshotNotFoundError(`${table}: snapshot ${found} of the snapshot log is not kept`);
    return snapshot;
  }
  const oldest = [...metadata.snapshots].sort((a, b) => a["timestamp-ms"] - b["timestamp-ms"])[0];
  // No snapshot yet, or the table's whole history is kept and began after that time.
  if (!oldest || oldest["parent-snapshot-id"] === undefined) return undefined;
  throw new SnapshotNotFoundError(
    `${table} keeps no snapshot as old as ${iso(asOfMs)}: the oldest snapshot kept is ${oldest["snapshot-id"]}, committed at ${iso(oldest["timestamp-ms"])} (older ones expired after the time-travel window)`,
  );
}

/** Manifests that may hold live files: a manifest of tombstones only is not read. */
export const manifestsWithLiveFiles = (manifests: readonly ManifestFile[]): ManifestFile[] =>
  manifests.filter((manifest) => manifest.addedFilesCount + manifest.existingFilesCount > 0);

/** The data files of a snapshot's manifest entries: the live ones, each once. */
export function liveDataFiles(entries: Iterable<ManifestEntry>): DataFile[] {
  const files = new Map<string, DataFile>();
  for (const entry of entries) {
    if (entry.status === ManifestEntryStatus.DELETED) continue;
    files.set(entry.dataFile.filePath, entry.dataFile);
  }
  return [...files.values()];
}

/** What a reader of one table sees. */
export interface TableScan {
  table: TableIdentifier;
  /** The table's metadata, as the catalog holds it now. */
  metadata: TableMetadata;
  /** The snapshot read; undefined when the table was empty at that time. */
  snapshot: Snapshot | undefined;
  /** The data files the snapshot lists, live entries only. */
  files: DataFile[];
}

/**
 * The snapshot of `table` current at `asOfMs` (or now) and its data files; `undefined` when the
 * table does not exist. Manifests and manifest lists are read through `io`, which may cache
 * them: their names are never reused.
 */
export async function scanTable(
  deps: { catalog: Catalog; io: Pick<TableFileIO, "read"> },
  table: TableIdentifier,
  asOfMs?: number,
): Promise<TableScan | undefined> {
  const loaded = await deps.catalog.load(table);
  if (!loaded) return undefined;
  const snapshot = snapshotAsOf(loaded.metadata, asOfMs, `${table.namespace}.${table.name}`);
  if (!snapshot) return { table, metadata: loaded.metadata, snapshot, files: [] };
  const manifests = manifestsWithLiveFiles(readManifestList(await deps.io.read(snapshot["manifest-list"])));
  const entries: ManifestEntry[] = [];
  for (let i = 0; i < manifests.length; i += 16) {
    const read = await Promise.all(
      manifests
        .slice(i, i + 16)
        .map(async (manifest) => readManifest(await deps.io.read(manifest.manifestPath), manifest)),
    );
    for (const list of read) for (const entry of list) entries.push(entry);
  }
  return { table, metadata: loaded.metadata, snapshot, files: liveDataFiles(entries) };
}

/** The earliest snapshot of the tables scanned: which table, and when (epoch ms). */
export function firstSnapshot(scans: readonly TableScan[]): { table: string; ms: number } | undefined {
  let first: { table: string; ms: number } | undefined;
  for (const scan of scans)
    for (const snapshot of scan.metadata.snapshots)
      if (!first || snapshot["timestamp-ms"] < first.ms)
        first = { table: scan.table.name, ms: snapshot["timestamp-ms"] };
  return first;
}
