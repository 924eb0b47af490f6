/**
 * Reads "data available" manifests from a queue subscribed to the topic (raw delivery), the
 * way any subscriber would, deduplicating on the object key as the contract asks; and the
 * "table updated" notifications of the committer and compaction (`kind` = `table`),
 * deduplicated on the snapshot.
 *
 * The tap runs as long as the pipeline does, so it keeps counts, not history: its dedup
 * windows hold the newest DEDUP_WINDOW keys, and whoever needs every notification (a benchmark,
 * an audit) listens and keeps what it needs.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { fullJitterDelay, sleep } from "../core/backoff.ts";
import { dataFilePathOf, TableUpdated } from "../core/iceberg/commit.ts";
import { ObjectManifest } from "../core/planning.ts";

export interface NotificationTally {
  /** SNS messages received, duplicates included. */
  messages: number;
  /** Distinct objects announced. */
  objects: number;
  lakeObjects: number;
  quarantineObjects: number;
  storedRecords: number;
  quarantinedRecords: number;
  /** Messages that were neither manifests nor table updates. */
  unreadable: number;
  /** Append snapshots announced ("table updated", operation append), distinct. */
  commits: number;
  /** Records those snapshots added. */
  committedRecords: number;
  /** Replace snapshots (compactions) announced, distinct. */
  compactions: number;
  /** Per table: append snapshots and the records they added. */
  tables: Record<string, { commits: number; records: number }>;
  /** Records of the announced lake objects whose append was announced too. */
  storedRecordsCommitted: number;
}

/** A manifest and when this tap received it: the end of its records' journey. */
export interface ReceivedManifest {
  manifest: ObjectManifest;
  receivedAtMs: number;
}

/** How many of the newest manifests `recent` keeps. */
export const RECENT_MANIFESTS = 500;

/**
 * How many of the newest object keys, and of the newest snapshot parts, the tap remembers to
 * drop copies: SNS delivers a copy within seconds to minutes of the first, and the committer's
 * re-announcements come with the next batch. About 10 MB at most; 4 hours of objects at
 * 5,000 events/s.
 */
export const DEDUP_WINDOW = 50_000;

/** What a tap tells its listeners, each once per distinct notification. */
export interface TapListener {
  /** A distinct object's first "data available" notification. */
  manifest?(entry: ReceivedManifest): void;
  /** The data files a distinct part of an append snapshot's "table updated" notification added. */
  committedFiles?(paths: readonly string[], receivedAtMs: number): void;
}

/** Forgets the oldest entries (by insertion) of `collection` beyond `capacity`. */
function capped(collection: Map<string, unknown> | Set<string>, capacity = DEDUP_WINDOW): void {
  while (collection.size > capacity) {
    const oldest = collection.keys().next();
    if (oldest.done) return;
    collection.delete(oldest.value);
  }
}

/** The newest `capacity` distinct keys, by insertion: older ones are forgotten. */
export class RecentKeys {
  readonly #capacity: number;
  readonly #keys = new Set<string>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Adds `key`; false when it is already among the newest. */
  add(key: string): boolean {
    if (this.#keys.has(key)) return false;
    capped(this.#keys.add(key), this.#capacity);
    return true;
  }

  get size(): number {
    return this.#keys.size;
  }
}

export class NotificationTap {
  readonly #sqs: SQSClient;
  readonly #queueUrl: string;
  readonly #listeners = new Set<TapListener>();
  readonly #objects = new RecentKeys(DEDUP_WINDOW);
  /** The newest distinct manifests, oldest first, at most RECENT_MANIFESTS. */
  readonly recent: ReceivedManifest[] = [];
  readonly tally: NotificationTally = {
    messages: 0,
    objects: 0,
    lakeObjects: 0,
    quarantineObjects: 0,
    storedRecords: 0,
    quarantinedRecords: 0,
    unreadable: 0,
    commits: 0,
    committedRecords: 0,
    compactions: 0,
    tables: {},
    storedRecordsCommitted: 0,
  };
  /**
   * Announced lake objects whose append is not announced yet, by `s3://` path: as many as are
   * in flight, not as the run is long. What `ticklake up` checks against the tables at the end.
   * At most DEDUP_WINDOW: beyond that, commits have stalled for hours and the oldest are left
   * out of the check, which then finds their records in no table.
   */
  readonly #uncommitted = new Map<string, ObjectManifest>();
  /**
   * Files whose append was announced before the object itself, until it is; at most
   * DEDUP_WINDOW (a backlog committed from before the tap started is never announced to it).
   */
  readonly #committedFirst = new Set<string>();
  /** Parts of table updates received, `table/snapshotId/part`, to count each once. */
  readonly #tableParts = new RecentKeys(DEDUP_WINDOW);
  readonly #snapshots = new RecentKeys(DEDUP_WINDOW);
  #running = false;
  #loop: Promise<void> | undefined;

  constructor(sqs: SQSClient, queueUrl: string) {
    this.#sqs = sqs;
    this.#queueUrl = queueUrl;
  }

  /** The announced lake objects no "table updated" notification has listed yet. */
  uncommitted(): ObjectManifest[] {
    return [...this.#uncommitted.values()];
  }

  /** Tells `listener` of every distinct notification from now on; returns how to stop. */
  listen(listener: TapListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    this.#running = true;
    this.#loop = this.#poll();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  /** Receives once; returns how many messages arrived. */
  async receiveOnce(waitSeconds = 1): Promise<number> {
    const { Messages = [] } = await this.#sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.#queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: waitSeconds,
      }),
    );
    for (const message of Messages) this.#record(message.Body ?? "");
    if (Messages.length > 0) {
      await this.#sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.#queueUrl,
          Entries: Messages.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle,
          })),
        }),
      );
    }
    return Messages.length;
  }

  #record(body: string): void {
    this.tally.messages++;
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      this.tally.unreadable++;
      return;
    }
    if ((json as { kind?: unknown })?.kind === "table") {
      const update = TableUpdated.safeParse(json);
      if (update.success) this.#recordTableUpdate(update.data);
      else this.tally.unreadable++;
      return;
    }
    const parsed = ObjectManifest.safeParse(json);
    if (!parsed.success) {
      this.tally.unreadable++;
      return;
    }
    const manifest = parsed.data;
    if (!this.#objects.add(manifest.key)) return;
    const entry = { manifest, receivedAtMs: Date.now() };
    this.recent.push(entry);
    if (this.recent.length > RECENT_MANIFESTS) this.recent.splice(0, this.recent.length - RECENT_MANIFESTS);
    this.tally.objects++;
    if (manifest.kind === "lake") {
      this.tally.lakeObjects++;
      this.tally.storedRecords += manifest.records;
      const path = dataFilePathOf(manifest);
      if (this.#committedFirst.delete(path)) this.tally.storedRecordsCommitted += manifest.records;
      else capped(this.#uncommitted.set(path, manifest));
    } else {
      this.tally.quarantineObjects++;
      this.tally.quarantinedRecords += manifest.records;
    }
    for (const listener of this.#listeners) listener.manifest?.(entry);
  }

  #recordTableUpdate(update: TableUpdated): void {
    const snapshot = `${update.table}/${update.snapshotId}`;
    const part = `${snapshot}/${update.part?.index ?? 1}`;
    if (!this.#tableParts.add(part)) return;
    if (update.operation === "append") {
      const paths = update.files.map((file) => file.path);
      for (const path of paths) {
        const manifest = this.#uncommitted.get(path);
        if (!manifest) capped(this.#committedFirst.add(path));
        else {
          this.#uncommitted.delete(path);
          this.tally.storedRecordsCommitted += manifest.records;
        }
      }
      const receivedAtMs = Date.now();
      for (const listener of this.#listeners) listener.committedFiles?.(paths, receivedAtMs);
    }
    if (!this.#snapshots.add(snapshot)) return;
    if (update.operation === "replace") {
      this.tally.compactions++;
      return;
    }
    const table = this.tally.tables[update.table] ?? { commits: 0, records: 0 };
    this.tally.tables[update.table] = table;
    table.commits++;
    table.records += update.records;
    this.tally.commits++;
    this.tally.committedRecords += update.records;
  }

  async #poll(): Promise<void> {
    let failures = 0;
    while (this.#running) {
      try {
        await this.receiveOnce(1);
        failures = 0;
      } catch {
        await sleep(fullJitterDelay(++failures, 100, 2_000));
      }
    }
  }
}
