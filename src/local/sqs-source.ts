/**
 * The local SQS event source: what Lambda's SQS event source mapping does for the processor.
 * Pollers receive up to `batchSize` messages within the batching window, invoke the function
 * with Lambda's event shape, delete what succeeded, and leave the `batchItemFailures` (or the
 * whole batch, when the invocation fails) to reappear after the visibility timeout, so that
 * the queue's redrive policy moves poison messages to the DLQ.
 */

import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { SQS_BILLING_CHUNK } from "../aws/sqs.ts";
import { fullJitterDelay, sleep } from "../core/backoff.ts";
import type { FunctionPool } from "./function-pool.ts";

export interface SqsSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  region: string;
  pool: FunctionPool;
  batchSize: number;
  maxBatchingWindowMs: number;
  /** Concurrent pollers, each with one invocation in flight: the maximum concurrency. */
  concurrency: number;
  /**
   * Gather each batch as Lambda does: until `batchSize` messages or the whole window, one
   * batch at a time (invocations still overlap up to `concurrency`). The committer needs it:
   * its window is the commit interval. Without it a batch ends at the first empty receive,
   * which keeps the processor's latency low locally. @default false
   */
  fillWindow?: boolean;
  onError?: (error: unknown) => void;
}

export interface SqsSourceStats {
  /** ReceiveMessage calls, and the requests SQS would bill for them (64 KiB chunks). */
  receiveRequests: number;
  billedReceiveRequests: number;
  deleteRequests: number;
  messagesReceived: number;
  messagesDeleted: number;
  messagesFailed: number;
  invocations: number;
  failedInvocations: number;
}

/** A received message as Lambda's SQS event source hands it to a function. */
export function toEventRecord(
  message: Message,
  options: Pick<SqsSourceOptions, "queueArn" | "region">,
): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? "1",
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? "000000000000",
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        {
          dataType: value.DataType ?? "String",
          ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: options.queueArn,
    awsRegion: options.region,
  };
}

export class SqsSource {
  readonly #options: SqsSourceOptions;
  readonly stats: SqsSourceStats = {
    receiveRequests: 0,
    billedReceiveRequests: 0,
    deleteRequests: 0,
    messagesReceived: 0,
    messagesDeleted: 0,
    messagesFailed: 0,
    invocations: 0,
    failedInvocations: 0,
  };
  #running = false;
  /** When SQS received each message held now, by receipt handle. */
  readonly #heldSentMs = new Map<string, number>();
  #loops: Promise<void>[] = [];
  /** Settles when the batch being gathered (fillWindow) is complete. */
  #gathering: Promise<void> = Promise.resolve();

  constructor(options: SqsSourceOptions) {
    this.#options = options;
  }

  start(): void {
    this.#running = true;
    this.#loops = Array.from({ length: this.#options.concurrency }, () => this.#poll());
  }

  /** Messages received and not yet settled (deleted or left to reappear). */
  get inFlight(): number {
    return this.#heldSentMs.size;
  }

  /** When SQS received the oldest message held now (`SentTimestamp`); Infinity when none is. */
  get oldestHeldSentMs(): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const sentMs of this.#heldSentMs.values()) oldest = Math.min(oldest, sentMs);
    return oldest;
  }

  #hold(messages: readonly Message[]): void {
    for (const message of messages) {
      this.#heldSentMs.set(message.ReceiptHandle ?? "", Number(message.Attributes?.SentTimestamp ?? 0));
    }
  }

  #settle(messages: readonly Message[]): void {
    for (const message of messages) this.#heldSentMs.delete(message.ReceiptHandle ?? "");
  }

  /** Stops receiving; batches in flight finish first. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  async #receive(max: number, waitSeconds: number): Promise<Message[]> {
    const { Messages } = await this.#options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.#options.queueUrl,
        MaxNumberOfMessages: Math.min(10, max),
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ["All"],
        MessageAttributeNames: ["All"],
      }),
    );
    const bytes = (Messages ?? []).reduce((sum, message) => sum + Buffer.byteLength(message.Body ?? ""), 0);
    this.stats.receiveRequests++;
    this.stats.billedReceiveRequests += Math.max(1, Math.ceil(bytes / SQS_BILLING_CHUNK));
    return Messages ?? [];
  }

  /** Receives one batch, or none when nothing arrived within a long poll. */
  async #gather(): Promise<Message[]> {
    const batch = await this.#receive(this.#options.batchSize, 1);
    if (batch.length === 0) return batch;
    this.#hold(batch);
    const deadline = Date.now() + this.#options.maxBatchingWindowMs;
    try {
      while (batch.length < this.#options.batchSize && this.#running) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) break;
        // Long polls of at most a second, so that a stop does not wait for one.
        const waitSeconds = this.#options.fillWindow ? Math.min(1, Math.floor(remaining / 1000)) : 0;
        const more = await this.#receive(this.#options.batchSize - batch.length, waitSeconds);
        batch.push(...more);
        this.#hold(more);
        if (more.length === 0) {
          if (!this.#options.fillWindow) break;
          if (waitSeconds === 0) await sleep(Math.min(remaining, 100));
        }
      }
    } catch (error) {
      // What was received reappears after the visibility timeout.
      this.#settle(batch);
      throw error;
    }
    return batch;
  }

  /** `#gather`, one poller at a time when batches fill their window. */
  async #nextBatch(): Promise<Message[]> {
    if (!this.#options.fillWindow) return this.#gather();
    const previous = this.#gathering;
    let done = () => {};
    this.#gathering = new Promise((resolve) => {
      done = resolve;
    });
    try {
      await previous;
      return await this.#gather();
    } finally {
      done();
    }
  }

  async #poll(): Promise<void> {
    let failures = 0;
    while (this.#running) {
      let batch: Message[] = [];
      try {
        batch = await this.#nextBatch();
        if (batch.length === 0) continue;
        this.stats.messagesReceived += batch.length;
        await this.#invoke(batch);
        failures = 0;
      } catch (error) {
        this.#options.onError?.(error);
        await sleep(fullJitterDelay(++failures, 100, 5_000));
      } finally {
        this.#settle(batch);
      }
    }
  }

  async #invoke(batch: Message[]): Promise<void> {
    const event: SQSEvent = { Records: batch.map((message) => toEventRecord(message, this.#options)) };
    this.stats.invocations++;
    let response: SQSBatchResponse | undefined;
    try {
      response = await this.#options.pool.invoke<SQSBatchResponse | undefined>(event);
    } catch (error) {
      // The whole batch reappears after the visibility timeout, as on Lambda.
      this.stats.failedInvocations++;
      this.stats.messagesFailed += batch.length;
      throw error;
    }
    const failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
    this.stats.messagesFailed += failed.size;
    const done = batch.filter((message) => !failed.has(message.MessageId ?? ""));
    for (let i = 0; i < done.length; i += 10) {
      const chunk = done.slice(i, i + 10);
      this.stats.deleteRequests++;
      const result = await this.#options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.#options.queueUrl,
          Entries: chunk.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle,
          })),
        }),
      );
      this.stats.messagesDeleted += chunk.length - (result.Failed?.length ?? 0);
    }
  }
}
