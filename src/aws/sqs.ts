/** SQS adapter: sends packed messages in batches and retries only the entries that failed. */
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { fullJitterDelay, sleep } from "../core/backoff.ts";
import type { PackedMessage } from "../core/packing.ts";
import { SqsSendError } from "./errors.ts";

/** SendMessageBatch takes at most 10 entries and 1 MiB in all. */
const MAX_BATCH_ENTRIES = 10;
const MAX_BATCH_BYTES = 1_048_576;

/**
 * Room kept in every message for its attributes, which SQS counts in the message's size:
 * five names and types (65 bytes), a stream name (≤ 128), a shard id (≤ 128), a dataset (≤ 20)
 * and two sequence numbers with sub-sequence (≤ 71 each): at most 483 bytes.
 */
export const MESSAGE_ATTRIBUTES_ALLOWANCE = 512;

/** The largest packed body that keeps a message, attributes included, within `maxMessageBytes`. */
export function packedBodyLimit(maxMessageBytes: number): number {
  return maxMessageBytes - MESSAGE_ATTRIBUTES_ALLOWANCE;
}

/** SQS bills every 64 KiB of a request's payload as one request. */
export const SQS_BILLING_CHUNK = 64 * 1024;

/** What sending cost: SendMessageBatch calls, the requests SQS bills for them, payload bytes. */
export interface SendStats {
  requests: number;
  billedRequests: number;
  bytes: number;
}

function entryFor(message: PackedMessage, index: number): SendMessageBatchRequestEntry {
  const text = (value: string) => ({ DataType: "String", StringValue: value });
  return {
    Id: String(index),
    MessageBody: JSON.stringify(message),
    MessageAttributes: {
      stream: text(message.stream),
      shardId: text(message.shardId),
      dataset: text(message.dataset),
      firstSeq: text(message.firstSeq),
      lastSeq: text(message.lastSeq),
    },
  };
}

function entryBytes(entry: SendMessageBatchRequestEntry): number {
  let bytes = Buffer.byteLength(entry.MessageBody ?? "");
  for (const [name, value] of Object.entries(entry.MessageAttributes ?? {})) {
    bytes +=
      Buffer.byteLength(name) +
      Buffer.byteLength(value.DataType ?? "") +
      Buffer.byteLength(value.StringValue ?? "");
  }
  return bytes;
}

/** Splits entries into SendMessageBatch calls within the count and size limits, in order. */
export function batchEntries(entries: SendMessageBatchRequestEntry[]): SendMessageBatchRequestEntry[][] {
  const batches: SendMessageBatchRequestEntry[][] = [];
  let current: SendMessageBatchRequestEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = entryBytes(entry);
    if (current.length > 0 && (current.length === MAX_BATCH_ENTRIES || bytes + size > MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Sends every message or throws. Entries that fail with a sender fault are retried; a failure
 * that is the sender's fault (too large, invalid) is thrown at once, since retrying cannot help.
 */
export async function sendPackedMessages(
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly PackedMessage[],
  attempts = 5,
): Promise<SendStats> {
  const stats: SendStats = { requests: 0, billedRequests: 0, bytes: 0 };
  let pending = messages.map(entryFor);
  for (const entry of pending) {
    // SQS would refuse it on every retry: say so once, clearly.
    if (entryBytes(entry) > MAX_BATCH_BYTES) {
      throw new SqsSendError(
        `a packed message of ${entryBytes(entry)} bytes (attributes included) exceeds SQS's ${MAX_BATCH_BYTES}: pack bodies to at most packedBodyLimit(${MAX_BATCH_BYTES})`,
      );
    }
  }
  for (let attempt = 1; pending.length > 0; attempt++) {
    const failed: SendMessageBatchRequestEntry[] = [];
    for (const batch of batchEntries(pending)) {
      const bytes = batch.reduce((sum, entry) => sum + entryBytes(entry), 0);
      stats.requests++;
      stats.billedRequests += Math.max(1, Math.ceil(bytes / SQS_BILLING_CHUNK));
      stats.bytes += bytes;
      const result = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch }));
      for (const failure of result.Failed ?? []) {
        const entry = batch.find((candidate) => candidate.Id === failure.Id);
        if (!entry) continue;
        if (failure.SenderFault) {
          throw new SqsSendError(
            `SQS refused a packed message of ${entryBytes(entry)} bytes: ${failure.Code}: ${failure.Message}`,
          );
        }
        failed.push(entry);
      }
    }
    if (failed.length > 0 && attempt >= attempts) {
      throw new SqsSendError(`${failed.length} packed messages still failing after ${attempts} attempts`);
    }
    if (failed.length > 0) await sleep(fullJitterDelay(attempt));
    pending = failed;
  }
  return stats;
}
