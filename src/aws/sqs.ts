/** SQS adapter: sends packed messages in batches and retries only the entries that failed. */
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { fullJitterDelay, sleep } from "../core/backoff.ts";
import type { PackedMessage } from "../core/packing.ts";

/** SendMessageBatch takes at most 10 entries and 1 MiB in all. */
const MAX_BATCH_ENTRIES = 10;
const MAX_BATCH_BYTES = 1_048_576;

export class SqsSendError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SqsSendError";
  }
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
): Promise<void> {
  let pending = messages.map(entryFor);
  for (let attempt = 1; pending.length > 0; attempt++) {
    const failed: SendMessageBatchRequestEntry[] = [];
    for (const batch of batchEntries(pending)) {
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
}
