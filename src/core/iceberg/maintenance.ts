/**
 * Table maintenance (DESIGN §9), on the same ports as committing: compaction of closed hours
 * as replace snapshots, snapshot expiry after the time-travel window, and removal of files
 * in the table's own folder that nothing references. Only expiry deletes data files: a file
 * compaction replaced stays as long as a snapshot inside the window still reads it.
 */
import { randomUUID } from "node:crypto";
import { fullJitterDelay, sleep } from "../backoff.ts";
import type { Dataset } from "../events.ts";
import { recordBatchesOf } from "../parquet.ts";
import { dataFileOf, type TableUpdated, totalFilesSizeOf, totalsOf } from "./commit.ts";
import {
  COMPACTED_ROW_GROUP_ROWS,
  COMPACTED_SORT_ORDER_ID,
  COMPACTION_READ_CONCURRENCY,
  cutIntoFiles,
  DEFAULT_MAINTENANCE,
  hoursToCompact,
  liveFilesByHour,
  type MaintenanceOptions,
  planReplace,
  snapshotsToKeep,
  withoutSnapshots,
} from "./compaction.ts";
import { CommitConflictError } from "./errors.ts";
import { HourColumns } from "./hour-columns.ts";
import {
  type DataFile,
  type ManifestEntry,
  ManifestEntryStatus,
  type ManifestFile,
  readManifestList,
} from "./manifests.ts";
import { currentSnapshot, newSnapshotId, withSnapshot } from "./metadata.ts";
import { hourOf } from "./metrics.ts";
import {
  readManifests,
  stateOf,
  type TableDeps,
  type TableIdentifier,
  writeSnapshotFiles,
} from "./table-ops.ts";

const HOUR_MS = 3_600_000;

export interface CompactionResult {
  hour: string;
  replaced: number;
  written: number;
  recordsIn: number;
  recordsOut: number;
  /** The replace snapshot's notification; absent when another compaction won the hour. */
  notification?: TableUpdated;
  /** Why the hour was left as it is (too many records for `maxHourRecords`). */
  skipped?: string;
}

/** Compacts every closed hour (within the look-back) that holds files compaction did not write. */
export async function compactTable(
  deps: TableDeps,
  table: TableIdentifier,
  dataset: Dataset,
  options: Partial<MaintenanceOptions> = {},
): Promise<CompactionResult[]> {
  const settings = { ...DEFAULT_MAINTENANCE, ...options };
  const now = deps.now ?? Date.now;
  const loaded = await deps.catalog.load(table);
  if (!loaded) return [];
  const state = await stateOf(deps.io, loaded);
  const from = hourOf(now() - settings.lookbackMs);
  const window = new Set<number>();
  for (let hour = from; hour <= hourOf(now()); hour++) window.add(hour);
  // Manifests of hours before the look-back are not read: they were compacted long ago.
  const manifests = state.manifests.filter(
    (manifest) => manifest.maxHour === undefined || manifest.maxHour >= from,
  );
  const cache = new Map<string, ManifestEntry[]>();
  await readManifests(deps.io, manifests, cache);
  const byHour = liveFilesByHour(manifests, cache);
  const results: CompactionResult[] = [];
  for (const hour of hoursToCompact(byHour, now(), settings)) {
    if (!window.has(hour)) continue;
    const live = byHour.get(hour) ?? [];
    const records = live.reduce((sum, entry) => sum + entry.dataFile.recordCount, 0);
    if (records > settings.maxHourRecords) {
      results.push({
        hour: `${new Date(hour * HOUR_MS).toISOString().slice(0, 13)}:00Z`,
        replaced: 0,
        written: 0,
        recordsIn: records,
        recordsOut: 0,
        skipped: `${records} records, more than the ${settings.maxHourRecords} this process's memory can compact`,
      });
      continue;
    }
    results.push(await compactHour(deps, table, dataset, hour, live, settings));
  }
  return results;
}

/** Rewrites one hour's live files into sorted, deduplicated files and commits them as a replace snapshot. */
export async function compactHour(
  deps: TableDeps,
  table: TableIdentifier,
  dataset: Dataset,
  hour: number,
  live: readonly ManifestEntry[],
  settings: MaintenanceOptions,
): Promise<CompactionResult> {
  const now = deps.now ?? Date.now;
  const hourColumns = new HourColumns(
    dataset,
    live.map((entry) => entry.dataFile.recordCount),
  );
  // A bounded number of reads at a time; each file is decoded as it arrives, into its place.
  let next = 0;
  const reader = async () => {
    for (let index = next++; index < live.length; index = next++) {
      const path = (live[index] as ManifestEntry).dataFile.filePath;
      hourColumns.add(index, [...recordBatchesOf(await deps.io.read(path))], path);
    }
  };
  await Promise.all(Array.from({ length: Math.min(COMPACTION_READ_CONCURRENCY, live.length) }, reader));
  const inputBytes = live.reduce((sum, entry) => sum + entry.dataFile.fileSizeInBytes, 0);
  const { rows, duplicates } = hourColumns.order();
  // Sorted rows in large row groups do not take the small files' bytes a record (their
  // dictionaries overflow): an hour that may come near the target is measured on a row group.
  const bytesPerRecord =
    inputBytes * 4 >= settings.targetFileBytes
      ? await hourColumns.encodedBytesPerRecord(rows.subarray(0, COMPACTED_ROW_GROUP_ROWS))
      : inputBytes / Math.max(1, hourColumns.records);
  const files = cutIntoFiles(rows, bytesPerRecord, settings.targetFileBytes);
  const loaded = await deps.catalog.load(table);
  if (!loaded) throw new CommitConflictError(`table ${table.namespace}.${table.name} disappeared`);
  const hourIso = new Date(hour * HOUR_MS).toISOString().slice(0, 13);
  const attempt = randomUUID();
  const outputs: DataFile[] = [];
  for (const [index, fileRows] of files.entries()) {
    const { body, stats } = await hourColumns.encodeDataFile(
      fileRows,
      hour * HOUR_MS,
      COMPACTED_ROW_GROUP_ROWS,
    );
    const filePath = `${loaded.metadata.location}/data/ts_hour=${hourIso}/${attempt}-${index}.parquet`;
    await deps.io.write(filePath, body);
    outputs.push({
      ...dataFileOf({
        path: filePath,
        dataset,
        bytes: body.byteLength,
        records: fileRows.length,
        minTime: "",
        maxTime: "",
        source: null,
        stats,
      }),
      sortOrderId: COMPACTED_SORT_ORDER_ID,
    });
  }
  const result = {
    hour: `${hourIso}:00Z`,
    replaced: live.length,
    written: outputs.length,
    recordsIn: hourColumns.records,
    recordsOut: hourColumns.records - duplicates,
  };
  const cache = new Map<string, ManifestEntry[]>();
  for (let tries = 1; ; tries++) {
    const current = await deps.catalog.load(table);
    if (!current) throw new CommitConflictError(`table ${table.namespace}.${table.name} disappeared`);
    const state = await stateOf(deps.io, current);
    await readManifests(
      deps.io,
      state.manifests.filter(
        (manifest) =>
          manifest.minHour === undefined || (manifest.minHour <= hour && hour <= (manifest.maxHour ?? hour)),
      ),
      cache,
    );
    const snapshotId = (deps.newSnapshotId ?? newSnapshotId)();
    const plan = planReplace({
      table: table.name,
      state,
      entriesOf: cache,
      hour,
      replaced: live.map((entry) => entry.dataFile.filePath),
      outputs,
      snapshotId,
      nowMs: now(),
      ledgerRetentionMs: settings.ledgerRetentionMs,
    });
    if (plan.kind === "stale") {
      // Another compaction replaced these files first; ours were never referenced.
      await deps.io.delete(outputs.map((output) => output.filePath));
      return { ...result, written: 0, recordsOut: 0 };
    }
    const parent = currentSnapshot(current.metadata);
    const written = await writeSnapshotFiles(
      deps.io,
      current.metadata,
      { snapshotId, sequenceNumber: plan.sequenceNumber, parentSnapshotId: parent?.["snapshot-id"] },
      plan.manifests,
      plan.carried,
    );
    const size =
      totalFilesSizeOf(current.metadata) +
      Number(plan.summary["added-files-size"]) -
      Number(plan.summary["removed-files-size"]);
    const next = withSnapshot(
      current.metadata,
      {
        snapshotId,
        operation: "replace",
        manifestList: written.manifestList,
        summary: { ...plan.summary, ...totalsOf(written.manifests, size) },
        nowMs: now(),
      },
      current.metadataLocation,
    );
    try {
      await deps.catalog.commit(table, current, next);
      return { ...result, notification: plan.notification };
    } catch (error) {
      if (!(error instanceof CommitConflictError)) throw error;
      const after = await deps.catalog.load(table);
      if (after?.metadata.snapshots.some((snapshot) => snapshot["snapshot-id"] === snapshotId)) {
        return { ...result, notification: plan.notification };
      }
      if (tries >= (deps.maxAttempts ?? 10)) throw error;
      await sleep(fullJitterDelay(tries));
    }
  }
}

export interface ExpiryResult {
  expiredSnapshots: number;
  deletedDataFiles: string[];
  deletedMetadataFiles: number;
}

/** A manifest list that must be there: what a kept snapshot reads decides what is deleted. */
async function manifestList(deps: TableDeps, path: string): Promise<ManifestFile[]> {
  return readManifestList(await deps.io.read(path));
}

/** An expired snapshot's manifest list, or nothing when an earlier run removed it already. */
async function expiredManifestList(deps: TableDeps, path: string): Promise<ManifestFile[]> {
  try {
    return await manifestList(deps, path);
  } catch {
    return [];
  }
}

/**
 * Expires snapshots older than the time-travel window (never the current one), then deletes
 * what only they referenced: their manifest lists, manifests no kept snapshot lists, and data
 * files live in those manifests, or tombstoned by an expired snapshot, that no kept snapshot
 * reads. A file a kept snapshot still reads is never deleted.
 */
export async function expireSnapshots(
  deps: TableDeps,
  table: TableIdentifier,
  options: Partial<MaintenanceOptions> = {},
): Promise<ExpiryResult> {
  const settings = { ...DEFAULT_MAINTENANCE, ...options };
  const now = deps.now ?? Date.now;
  for (let tries = 1; ; tries++) {
    const loaded = await deps.catalog.load(table);
    if (!loaded) return { expiredSnapshots: 0, deletedDataFiles: [], deletedMetadataFiles: 0 };
    const keep = snapshotsToKeep(loaded.metadata, now(), settings.timeTravelMs);
    const expired = loaded.metadata.snapshots.filter((snapshot) => !keep.has(snapshot["snapshot-id"]));
    const kept = loaded.metadata.snapshots.filter((snapshot) => keep.has(snapshot["snapshot-id"]));
    if (expired.length > 0) {
      try {
        await deps.catalog.commit(table, loaded, withoutSnapshots(loaded.metadata, keep, now()));
      } catch (error) {
        if (!(error instanceof CommitConflictError) || tries >= (deps.maxAttempts ?? 10)) throw error;
        await sleep(fullJitterDelay(tries));
        continue;
      }
    }
    // What the kept snapshots read.
    const cache = new Map<string, ManifestEntry[]>();
    const keptManifests = new Map<string, ManifestFile>();
    for (const snapshot of kept) {
      for (const manifest of await manifestList(deps, snapshot["manifest-list"])) {
        keptManifests.set(manifest.manifestPath, manifest);
      }
    }
    await readManifests(deps.io, [...keptManifests.values()], cache);
    const liveKept = new Set<string>();
    const tombstones: ManifestEntry[] = [];
    for (const manifest of keptManifests.values()) {
      for (const entry of cache.get(manifest.manifestPath) ?? []) {
        if (entry.status === ManifestEntryStatus.DELETED) tombstones.push(entry);
        else liveKept.add(entry.dataFile.filePath);
      }
    }
    // What only the expired ones read.
    const metadataFiles: string[] = [];
    const candidates = new Set<string>();
    for (const snapshot of expired) {
      metadataFiles.push(snapshot["manifest-list"]);
      const manifests = await expiredManifestList(deps, snapshot["manifest-list"]);
      const gone = manifests.filter((manifest) => !keptManifests.has(manifest.manifestPath));
      await readManifests(deps.io, gone, cache).catch(() => undefined);
      for (const manifest of gone) {
        metadataFiles.push(manifest.manifestPath);
        for (const entry of cache.get(manifest.manifestPath) ?? []) {
          if (entry.status !== ManifestEntryStatus.DELETED) candidates.add(entry.dataFile.filePath);
        }
      }
    }
    // Tombstones of the replace snapshots expired now: their replaced files are read by no kept
    // snapshot (also when the manifests that listed them live are gone already).
    const expiredIds = new Set(expired.map((snapshot) => snapshot["snapshot-id"]));
    for (const entry of tombstones)
      if (expiredIds.has(entry.snapshotId)) candidates.add(entry.dataFile.filePath);
    const deletedDataFiles = [...candidates].filter((path) => !liveKept.has(path)).sort();
    await deps.io.delete([...new Set(metadataFiles)]);
    await deps.io.delete(deletedDataFiles);
    return {
      expiredSnapshots: expired.length,
      deletedDataFiles,
      deletedMetadataFiles: new Set(metadataFiles).size,
    };
  }
}

/**
 * Deletes files under the table's `metadata/` and `data/` folders that nothing references
 * (the current metadata, the metadata log, kept snapshots' manifest lists and manifests, the
 * files those read) and that are older than the grace period: what commits that lost a race
 * or died left behind. Never looks outside the table's folder: raw lake objects may still be
 * waiting to be committed (a message in the DLQ for days).
 */
export async function removeOrphans(
  deps: TableDeps,
  table: TableIdentifier,
  options: Partial<MaintenanceOptions> = {},
): Promise<string[]> {
  const settings = { ...DEFAULT_MAINTENANCE, ...options };
  const now = deps.now ?? Date.now;
  const loaded = await deps.catalog.load(table);
  if (!loaded) return [];
  const { metadata } = loaded;
  const referenced = new Set<string>([
    loaded.metadataLocation,
    `${metadata.location}/metadata/version-hint.text`,
  ]);
  for (const entry of metadata["metadata-log"]) referenced.add(entry["metadata-file"]);
  const cache = new Map<string, ManifestEntry[]>();
  for (const snapshot of metadata.snapshots) {
    referenced.add(snapshot["manifest-list"]);
    const manifests = await manifestList(deps, snapshot["manifest-list"]);
    for (const manifest of manifests) referenced.add(manifest.manifestPath);
    await readManifests(deps.io, manifests, cache);
  }
  for (const entries of cache.values()) for (const entry of entries) referenced.add(entry.dataFile.filePath);
  const orphans: string[] = [];
  for (const folder of ["metadata/", "data/"]) {
    for (const file of await deps.io.list(`${metadata.location}/${folder}`)) {
      if (!referenced.has(file.path) && file.lastModifiedMs < now() - settings.orphanGraceMs)
        orphans.push(file.path);
    }
  }
  await deps.io.delete(orphans);
  return orphans.sort();
}
