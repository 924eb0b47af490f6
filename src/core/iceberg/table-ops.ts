/**
 * Committing to an Iceberg table with optimistic concurrency (DESIGN §9): read the current
 * metadata, plan, write the new manifests under fresh names, then ask the catalog to swap the
 * current metadata location from the one planned on to the new one. When another commit won
 * (CommitConflictError), read again and plan again: the plan may now be "nothing new".
 *
 * Storage and catalog are ports (`TableFileIO`, `Catalog`); the adapters live in `src/aws/`.
 */
import { randomUUID } from "node:crypto";
import { fullJitterDelay, sleep } from "../backoff.ts";
import type { Dataset } from "../events.ts";
import type { ObjectManifest } from "../planning.ts";
import {
  type AnnouncedFile,
  type AppendPlan,
  announcementsOf,
  filesByTable,
  manifestsToRead,
  planAppend,
  type TableState,
  type TableUpdated,
  totalFilesSizeOf,
  totalsOf,
} from "./commit.ts";
import { CommitConflictError } from "./errors.ts";
import {
  type ManifestEntry,
  type ManifestFile,
  readManifest,
  readManifestList,
  writeManifest,
  writeManifestList,
} from "./manifests.ts";
import {
  currentSchema,
  currentSnapshot,
  evolveSchema,
  newSnapshotId,
  newTableMetadata,
  type TableMetadata,
  withSnapshot,
} from "./metadata.ts";
import { type IcebergSchema, icebergSchemaOf } from "./schema.ts";

/** Files of a table's storage, addressed by URI (`s3://bucket/key`). */
export interface TableFileIO {
  read(path: string): Promise<Uint8Array>;
  /** Writes a file that must not exist yet. */
  write(path: string, bytes: Uint8Array): Promise<void>;
  delete(paths: readonly string[]): Promise<void>;
  /** Files under a prefix, with their last-modified time (orphan removal). */
  list(prefix: string): Promise<Array<{ path: string; lastModifiedMs: number }>>;
}

export interface TableIdentifier {
  /** The Glue database, or the local catalog's namespace. */
  namespace: string;
  name: string;
}

export interface LoadedTable {
  metadata: TableMetadata;
  metadataLocation: string;
}

/**
 * Where a table's current metadata is, and an atomic compare-and-swap to move it.
 * `commit` succeeds only if the table still points at `base.metadataLocation`, and throws
 * CommitConflictError otherwise; it never overwrites a metadata file.
 */
export interface Catalog {
  load(table: TableIdentifier): Promise<LoadedTable | undefined>;
  /** Creates the table; CommitConflictError if it exists already. */
  create(table: TableIdentifier, metadata: TableMetadata): Promise<LoadedTable>;
  commit(table: TableIdentifier, base: LoadedTable, next: TableMetadata): Promise<LoadedTable>;
}

export interface TableDeps {
  catalog: Catalog;
  io: TableFileIO;
  /** @default Date.now */
  now?: () => number;
  /** Attempts before a commit that keeps losing races gives up. @default 10 */
  maxAttempts?: number;
  newSnapshotId?: () => bigint;
}

export const metadataDirOf = (metadata: TableMetadata): string => `${metadata.location}/metadata`;

/** The current state of a loaded table: its metadata and its current snapshot's manifest list. */
export async function stateOf(io: TableFileIO, loaded: LoadedTable): Promise<TableState> {
  const snapshot = currentSnapshot(loaded.metadata);
  const manifests = snapshot ? readManifestList(await io.read(snapshot["manifest-list"])) : [];
  return { metadata: loaded.metadata, metadataLocation: loaded.metadataLocation, manifests };
}

/** Reads manifests (immutable, so cached across attempts) into `cache`. */
export async function readManifests(
  io: TableFileIO,
  manifests: readonly ManifestFile[],
  cache: Map<string, ManifestEntry[]>,
): Promise<void> {
  const missing = manifests.filter((manifest) => !cache.has(manifest.manifestPath));
  for (let i = 0; i < missing.length; i += 16) {
    await Promise.all(
      missing.slice(i, i + 16).map(async (manifest) => {
        cache.set(manifest.manifestPath, readManifest(await io.read(manifest.manifestPath), manifest));
      }),
    );
  }
}

/**
 * Writes a snapshot's new manifests and its manifest list under fresh names; returns the
 * manifest list's path and every path written (to remove if the commit loses its race).
 */
export async function writeSnapshotFiles(
  io: TableFileIO,
  metadata: TableMetadata,
  snapshot: { snapshotId: bigint; sequenceNumber: number; parentSnapshotId: bigint | undefined },
  newManifests: readonly ManifestEntry[][],
  carried: readonly ManifestFile[],
  schema: IcebergSchema = currentSchema(metadata),
): Promise<{ manifestList: string; written: string[]; manifests: ManifestFile[] }> {
  const dir = metadataDirOf(metadata);
  const attempt = randomUUID();
  const spec = metadata["partition-specs"].find(
    (candidate) => candidate["spec-id"] === metadata["default-spec-id"],
  );
  if (!spec)
    throw new CommitConflictError(`default partition spec ${metadata["default-spec-id"]} is missing`);
  const written: string[] = [];
  const manifests: ManifestFile[] = [];
  for (const [index, entries] of newManifests.entries()) {
    if (entries.length === 0) continue;
    const { bytes, summary } = writeManifest({ schema, spec, entries, ...snapshot });
    const manifestPath = `${dir}/${attempt}-m${index}.avro`;
    await io.write(manifestPath, bytes);
    written.push(manifestPath);
    manifests.push({ ...summary, manifestPath, manifestLength: bytes.byteLength });
  }
  const all = [...manifests, ...carried];
  const manifestList = `${dir}/snap-${snapshot.snapshotId}-1-${attempt}.avro`;
  await io.write(manifestList, writeManifestList(all, snapshot));
  written.push(manifestList);
  return { manifestList, written, manifests: all };
}

/**
 * Loads a table, creating it with the contract's schema if it does not exist, and evolving its
 * schema when the contract has changed (a new `v` adding fields).
 */
export async function ensureTable(
  deps: TableDeps,
  table: TableIdentifier,
  dataset: Dataset,
  location: string,
  schema: IcebergSchema = icebergSchemaOf(dataset),
): Promise<LoadedTable> {
  const now = deps.now ?? Date.now;
  for (let attempt = 0; ; attempt++) {
    try {
      const loaded = await deps.catalog.load(table);
      if (!loaded)
        return await deps.catalog.create(
          table,
          newTableMetadata({ dataset, location, nowMs: now(), schema }),
        );
      const evolved = evolveSchema(loaded.metadata, schema, now());
      if (evolved === loaded.metadata) return loaded;
      return await deps.catalog.commit(table, loaded, evolved);
    } catch (error) {
      if (!(error instanceof CommitConflictError) || attempt + 1 >= (deps.maxAttempts ?? 10)) throw error;
      await sleep(fullJitterDelay(attempt));
    }
  }
}

export type CommitOutcome = (
  | { kind: "nothing-new" }
  | { kind: "committed"; notification: TableUpdated; metadataLocation: string }
) & {
  alreadyCommitted: string[];
  /** The notifications of the snapshots that committed `alreadyCommitted`, to publish again. */
  announceAgain: TableUpdated[];
  attempts: number;
};

/**
 * Commits announced files of one table as one append snapshot, exactly once: files the table
 * holds already (or held, before compaction replaced them) are left out, and a commit that
 * loses a race is planned again on the winner's metadata.
 */
export async function commitFiles(
  deps: TableDeps,
  table: TableIdentifier,
  files: readonly AnnouncedFile[],
): Promise<CommitOutcome> {
  const now = deps.now ?? Date.now;
  const maxAttempts = deps.maxAttempts ?? 10;
  const cache = new Map<string, ManifestEntry[]>();
  for (let attempt = 1; ; attempt++) {
    const loaded = await deps.catalog.load(table);
    if (!loaded) throw new CommitConflictError(`table ${table.namespace}.${table.name} does not exist`);
    const state = await stateOf(deps.io, loaded);
    await readManifests(deps.io, manifestsToRead(state, files), cache);
    const plan: AppendPlan = planAppend({
      table: table.name,
      state,
      entriesOf: cache,
      files,
      snapshotId: (deps.newSnapshotId ?? newSnapshotId)(),
      nowMs: now(),
    });
    const announceAgain = announcementsOf(table.name, state, cache, plan.alreadyCommitted);
    if (plan.kind === "nothing-new")
      return {
        kind: "nothing-new",
        alreadyCommitted: plan.alreadyCommitted,
        announceAgain,
        attempts: attempt,
      };
    const parent = currentSnapshot(loaded.metadata);
    const written = await writeSnapshotFiles(
      deps.io,
      loaded.metadata,
      {
        snapshotId: plan.snapshotId,
        sequenceNumber: plan.sequenceNumber,
        parentSnapshotId: parent?.["snapshot-id"],
      },
      [plan.entries],
      plan.carried,
    );
    const size = totalFilesSizeOf(loaded.metadata) + Number(plan.summary["added-files-size"]);
    const next = withSnapshot(
      loaded.metadata,
      {
        snapshotId: plan.snapshotId,
        operation: "append",
        manifestList: written.manifestList,
        summary: { ...plan.summary, ...totalsOf(written.manifests, size) },
        nowMs: Date.parse(plan.notification.committedAt),
      },
      loaded.metadataLocation,
    );
    try {
      const committed = await deps.catalog.commit(table, loaded, next);
      return {
        kind: "committed",
        notification: plan.notification,
        alreadyCommitted: plan.alreadyCommitted,
        announceAgain,
        metadataLocation: committed.metadataLocation,
        attempts: attempt,
      };
    } catch (error) {
      if (!(error instanceof CommitConflictError)) throw error;
      // A conflict can also be our own commit whose answer was lost and whose retry found the
      // metadata there: then the snapshot is in the table, and committing again would add
      // the files twice.
      const after = await deps.catalog.load(table);
      if (after?.metadata.snapshots.some((snapshot) => snapshot["snapshot-id"] === plan.snapshotId)) {
        return {
          kind: "committed",
          notification: plan.notification,
          alreadyCommitted: plan.alreadyCommitted,
          announceAgain,
          metadataLocation: after.metadataLocation,
          attempts: attempt,
        };
      }
      // The lost attempt's manifests are referenced by nothing; orphan removal deletes them
      // (not done here: an answer lost in the other direction would make them referenced).
      if (attempt >= maxAttempts) {
        throw new CommitConflictError(
          `${table.namespace}.${table.name}: gave up after ${attempt} commits lost their race`,
          { cause: error },
        );
      }
      await sleep(fullJitterDelay(attempt));
    }
  }
}

/**
 * Of `files` (all of one table), those the table does not hold, live or replaced by
 * compaction: the append planner's answer, without committing.
 */
export async function filesNotInTable(
  deps: TableDeps,
  table: TableIdentifier,
  files: readonly AnnouncedFile[],
): Promise<AnnouncedFile[]> {
  const loaded = await deps.catalog.load(table);
  if (!loaded) return [...files];
  const state = await stateOf(deps.io, loaded);
  const cache = new Map<string, ManifestEntry[]>();
  await readManifests(deps.io, manifestsToRead(state, files), cache);
  const plan = planAppend({ table: table.name, state, entriesOf: cache, files, snapshotId: 0n, nowMs: 0 });
  return plan.kind === "nothing-new" ? [] : plan.added;
}

/**
 * Whether the lake objects `manifests` announced are in their tables: the records of those
 * that are, and the keys of those that are not (with why). Quarantine objects are skipped.
 */
export async function lakeRecordsInTables(
  deps: TableDeps,
  namespace: string,
  manifests: readonly ObjectManifest[],
): Promise<{ records: number; missing: Array<{ key: string; reason: string }> }> {
  const lake = manifests.filter((manifest) => manifest.kind === "lake");
  const { tables, refused } = filesByTable(lake);
  const missing = [...refused];
  let records = 0;
  for (const [name, files] of tables) {
    const absent = new Set(
      (await filesNotInTable(deps, { namespace, name }, files)).map((file) => file.path),
    );
    for (const file of files) {
      if (absent.has(file.path)) missing.push({ key: file.path, reason: `not in table ${name}` });
      else records += file.records;
    }
  }
  return { records, missing };
}
