/**
 * Reads "data available" manifests from a queue subscribed to the topic (raw delivery), the
 * way any subscriber would, deduplicating on the object key as the contract asks.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { fullJitterDelay, sleep } from "../core/backoff.ts";
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
  /** Messages that were not manifests. */
  unreadable: number;
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
  };
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
    let manifest: ObjectManifest;
    try {
      manifest = ObjectManifest.parse(JSON.parse(body));
    } catch {
      this.tally.unreadable++;
      return;
    }
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
