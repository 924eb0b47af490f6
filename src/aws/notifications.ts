/**
 * Reads "data available" manifests from a queue subscribed to the topic (raw delivery), the
 * way any subscriber would, deduplicating on the object key as the contract asks; and the
 * "table updated" notifications of the committer and compaction (`kind` = `table`),
 * deduplicated on the snapshot.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { fullJitterDelay, sleep } from "../core/backoff.ts";
import { TableUpdated } from "../core/iceberg/commit.ts";
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
}

/** A manifest and when this tap received it: the end of its records' journey. */
export interface ReceivedManifest {
  manifest: ObjectManifest;
  receivedAtMs: number;
}

/** How many of the newest manifests `recent` keeps. */
export const RECENT_MANIFESTS = 500;

export class NotificationTap {
  readonly #sqs: SQSClient;
  readonly #queueUrl: string;
  readonly #onManifest: ((manifest: ObjectManifest) => void) | undefined;
  /** Every distinct object announced, by key, with when its first notification arrived. */
  readonly received = new Map<string, ReceivedManifest>();
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
  };
  /** Each data file an append snapshot added, with when its "table updated" notification arrived. */
  readonly committed = new Map<string, number>();
  /** Parts of table updates received, `table/snapshotId/part`, to count each once. */
  readonly #tableParts = new Set<string>();
  readonly #snapshots = new Set<string>();
  #running = false;
  #loop: Promise<void> | undefined;

  constructor(sqs: SQSClient, queueUrl: string, onManifest?: (manifest: ObjectManifest) => void) {
    this.#sqs = sqs;
    this.#queueUrl = queueUrl;
    this.#onManifest = onManifest;
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
    if (this.received.has(manifest.key)) return;
    const entry = { manifest, receivedAtMs: Date.now() };
    this.received.set(manifest.key, entry);
    this.recent.push(entry);
    if (this.recent.length > RECENT_MANIFESTS) this.recent.splice(0, this.recent.length - RECENT_MANIFESTS);
    this.tally.objects++;
    if (manifest.kind === "lake") {
      this.tally.lakeObjects++;
      this.tally.storedRecords += manifest.records;
    } else {
      this.tally.quarantineObjects++;
      this.tally.quarantinedRecords += manifest.records;
    }
    this.#onManifest?.(manifest);
  }

  #recordTableUpdate(update: TableUpdated): void {
    const snapshot = `${update.table}/${update.snapshotId}`;
    const part = `${snapshot}/${update.part?.index ?? 1}`;
    if (this.#tableParts.has(part)) return;
    this.#tableParts.add(part);
    const receivedAtMs = Date.now();
    if (update.operation === "append") {
      for (const file of update.files)
        if (!this.committed.has(file.path)) this.committed.set(file.path, receivedAtMs);
    }
    if (this.#snapshots.has(snapshot)) return;
    this.#snapshots.add(snapshot);
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
