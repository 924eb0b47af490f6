/**
 * Mirrors the lake's tables to a local folder by following their "table updated"
 * notifications (`TableUpdated`, DESIGN §1): a queue of its own is subscribed to the topic
 * (raw delivery, filtered on `kind` = `table`); each committed data file is fetched once, under
 * `<dir>/<table>/<key>`, and the files a compaction replaced are removed, so that each table's
 * folder holds the files of its current snapshot. A message that is not a notification is set
 * aside with the reason; it never stops the sync.
 *
 * Notifications may repeat and arrive out of order (standard SNS and SQS): a file is fetched
 * only if it is not there, and a file a compaction replaced is not fetched again when its
 * append's notification arrives late (within one run; a backfill puts any folder right).
 */
import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { S3ServiceException } from "@aws-sdk/client-s3";
import { scanTable } from "../core/iceberg/scan.ts";
import type { Catalog } from "../core/iceberg/table-ops.ts";
import { parseTableUpdated, type TableUpdated } from "../core/iceberg/table-updated.ts";
import { SubscriptionError } from "./errors.ts";
import { parseS3Uri, S3TableFileIO } from "./iceberg-s3.ts";
import { downloadObject, localPathOf } from "./lake-mirror.ts";
import { receiveBatch, type SubscriptionOptions, subscribeQueue } from "./object-sync.ts";

export interface TableSyncOptions extends Omit<SubscriptionOptions, "kinds"> {
  dir: string;
  /** Seconds a receive waits; SQS allows up to 20. */
  waitSeconds: number;
  /**
   * First make each folder hold its table's current snapshot: fetch its files, remove the
   * others. Needs the tables' catalog and namespace; no backfill without.
   */
  backfill?: { catalog: Catalog; namespace: string; tables: readonly string[] };
  /** A committed file was fetched (`downloaded`) or was there already. */
  onFile?: (table: string, path: string, downloaded: boolean) => void;
  /** A file no longer in the table (compaction replaced it) was removed from the folder: its local path. */
  onRemoved?: (table: string, path: string) => void;
  /** A message was set aside: not a notification, or a file no longer in the bucket. */
  onSkipped?: (reason: string) => void;
}

export interface TableSyncStats {
  notifications: number;
  downloaded: number;
  /** Files announced again (or fetched by the backfill) that were there already. */
  present: number;
  removed: number;
  bytes: number;
  /** Messages set aside, each with its reason through `onSkipped`. */
  skipped: number;
  backfilled: number;
}

const isNotFound = (error: unknown) =>
  (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404) ||
  (error as { name?: string }).name === "NoSuchKey";

export class TableSync {
  readonly #options: TableSyncOptions;
  readonly stats: TableSyncStats = {
    notifications: 0,
    downloaded: 0,
    present: 0,
    removed: 0,
    bytes: 0,
    skipped: 0,
    backfilled: 0,
  };
  /** Files replaced by a compaction this run: a late append's notification does not bring them back. */
  readonly #replaced = new Set<string>();
  #queueUrl: string | undefined;

  constructor(options: TableSyncOptions) {
    this.#options = options;
  }

  /** Where a table's file is mirrored: `<dir>/<table>/<key>`. */
  localPathOf(table: string, uri: string): string {
    return localPathOf(this.#options.dir, `${table}/${parseS3Uri(uri).key}`);
  }

  async start(): Promise<void> {
    this.#queueUrl = await subscribeQueue({ ...this.#options, kinds: ["table"] });
    const backfill = this.#options.backfill;
    if (!backfill) return;
    for (const name of backfill.tables) {
      const scan = await scanTable(
        { catalog: backfill.catalog, io: new S3TableFileIO(this.#options.clients.s3) },
        { namespace: backfill.namespace, name },
      );
      const current = new Set<string>();
      for (const file of scan?.files ?? []) {
        current.add(this.localPathOf(name, file.filePath));
        if (await this.#fetch(name, file.filePath)) this.stats.backfilled++;
      }
      await this.#removeAllBut(name, current);
    }
  }

  /** Receives once and applies what arrived; returns how many messages came. */
  async receiveOnce(): Promise<number> {
    if (!this.#queueUrl)
      throw new SubscriptionError("TableSync.receiveOnce() before start(): there is no queue yet");
    return receiveBatch(this.#options.clients, this.#queueUrl, this.#options.waitSeconds, async (body) => {
      const parsed = parseTableUpdated(body);
      if (!parsed.ok) return this.#skip(parsed.reason);
      this.stats.notifications++;
      await this.#apply(parsed.update);
    });
  }

  async #apply(update: TableUpdated): Promise<void> {
    for (const path of update.removedFiles) this.#replaced.add(path);
    for (const file of update.files) {
      if (this.#replaced.has(file.path)) continue;
      await this.#fetch(update.table, file.path);
    }
    for (const path of update.removedFiles) {
      const local = this.localPathOf(update.table, path);
      if (await stat(local).catch(() => undefined)) {
        await rm(local);
        this.stats.removed++;
        this.#options.onRemoved?.(update.table, local);
      }
    }
  }

  /** Fetches a table's file unless it is there; whether it was fetched now. */
  async #fetch(table: string, uri: string): Promise<boolean> {
    const local = this.localPathOf(table, uri);
    // Downloads land under their final name only when complete.
    if (await stat(local).catch(() => undefined)) {
      this.stats.present++;
      this.#options.onFile?.(table, uri, false);
      return false;
    }
    const { bucket, key } = parseS3Uri(uri);
    try {
      this.stats.bytes += await downloadObject(
        this.#options.clients.s3,
        bucket,
        key,
        join(this.#options.dir, table),
      );
    } catch (error) {
      // Expiry deleted it: a later snapshot replaced it, and that snapshot's files come with it.
      if (isNotFound(error)) {
        this.#skip(`${uri} of table ${table} is no longer in the bucket (replaced, then expired)`);
        return false;
      }
      throw error;
    }
    this.stats.downloaded++;
    this.#options.onFile?.(table, uri, true);
    return true;
  }

  /** Removes the Parquet files of a table's folder that its current snapshot does not list. */
  async #removeAllBut(table: string, keep: ReadonlySet<string>): Promise<void> {
    const root = join(this.#options.dir, table);
    const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const path = join(entry.parentPath, entry.name);
      if (!entry.isFile() || !entry.name.endsWith(".parquet") || keep.has(path)) continue;
      await rm(path);
      this.stats.removed++;
      this.#options.onRemoved?.(table, path);
    }
  }

  #skip(reason: string): void {
    this.stats.skipped++;
    this.#options.onSkipped?.(reason);
  }
}
