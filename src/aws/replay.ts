/**
 * `ticklake replay`: re-reads the stream from a time and sends the records to the packed-
 * message queue again, planned against the keys the lake holds (src/core/replay.ts) so that
 * the processor's conditional writes leave no duplicate behind.
 */
import { LAKE_PREFIX, QUARANTINE_PREFIX } from "../core/layout.ts";
import { compareSequenceNumbers, type PackOptions, type StreamRecord } from "../core/packing.ts";
import { cleanPrefixLength, planReplay, StoredRanges, storedRangeOf } from "../core/replay.ts";
import type { AwsClients } from "./clients.ts";
import { listObjectPages } from "./lake-mirror.ts";
import { packedBodyLimit, sendPackedMessages } from "./sqs.ts";
import { type ShardStart, shardIds, shardPages, userRecords } from "./stream-reader.ts";

/** Where each shard's replay starts: at a time, or just after a sequence number per shard. */
export type ReplayStart = { atMs: number } | { afterSequence: Readonly<Record<string, string | undefined>> };
/** Where it ends: before a time, or at (and including) a sequence number per shard. */
export type ReplayEnd =
  | { beforeMs: number }
  | { throughSequence: Readonly<Record<string, string | undefined>> };

export interface ReplayOptions {
  streamName: string;
  bucket: string;
  queueUrl: string;
  from: ReplayStart;
  to: ReplayEnd;
  /** Largest SQS message, attributes included, as the bridge sends them. */
  maxMessageBytes: number;
  /** Called as reading advances: the share of the shards read, 0 to 1. */
  onProgress?: (progress: { done: number; records: number }) => void;
}

export interface ReplayReport {
  shards: number;
  storedObjects: number;
  /** User records read from the stream in the span (after deaggregation). */
  read: number;
  restated: number;
  missing: number;
  skipped: number;
  messages: number;
}

/** Records planned in pieces of about this many, so memory stays bounded on long spans. */
const PIECE_RECORDS = 20_000;

/** Every object key under lake/ and quarantine/, as the ranges of the messages stored. */
async function storedRanges(
  clients: AwsClients,
  bucket: string,
): Promise<{ ranges: StoredRanges; objects: number }> {
  const ranges = new StoredRanges();
  let objects = 0;
  for (const prefix of [LAKE_PREFIX, QUARANTINE_PREFIX]) {
    for await (const page of listObjectPages(clients.s3, bucket, prefix)) {
      objects += page.length;
      for (const { key } of page) {
        const range = storedRangeOf(key);
        if (range) ranges.add(range);
      }
    }
  }
  return { ranges, objects };
}

export async function replay(clients: AwsClients, options: ReplayOptions): Promise<ReplayReport> {
  const { ranges, objects } = await storedRanges(clients, options.bucket);
  const shards = await shardIds(clients.kinesis, options.streamName);
  const report: ReplayReport = {
    shards: shards.length,
    storedObjects: objects,
    read: 0,
    restated: 0,
    missing: 0,
    skipped: 0,
    messages: 0,
  };
  const { from, to } = options;
  const span = "atMs" in from && "beforeMs" in to ? Math.max(1, to.beforeMs - from.atMs) : undefined;
  const shardDone = new Map<string, number>();
  const progress = () =>
    options.onProgress?.({
      done: [...shardDone.values()].reduce((sum, d) => sum + d, 0) / Math.max(1, shards.length),
      records: report.read,
    });

  const send = async (records: StreamRecord[], pack: PackOptions) => {
    const plan = planReplay(records, ranges, pack);
    await sendPackedMessages(clients.sqs, options.queueUrl, plan.messages);
    report.restated += plan.restated;
    report.missing += plan.missing;
    report.skipped += plan.skipped;
    report.messages += plan.messages.length;
  };

  for (const shardId of shards) {
    const pack: PackOptions = {
      stream: options.streamName,
      shardId,
      maxMessageBytes: packedBodyLimit(options.maxMessageBytes),
    };
    shardDone.set(shardId, 0);
    const through = "throughSequence" in to ? to.throughSequence[shardId] : undefined;
    // Nothing of this shard lies before its end: it was never read.
    if ("throughSequence" in to && through === undefined) {
      shardDone.set(shardId, 1);
      continue;
    }
    const after = "afterSequence" in from ? from.afterSequence[shardId] : undefined;
    const start: ShardStart =
      "atMs" in from
        ? { ShardIteratorType: "AT_TIMESTAMP", Timestamp: new Date(from.atMs) }
        : after
          ? { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: after }
          : { ShardIteratorType: "TRIM_HORIZON" };
    let buffer: StreamRecord[] = [];
    let reachedEnd = false;
    for await (const page of shardPages(clients.kinesis, options.streamName, shardId, start)) {
      for (const record of page) {
        const arrivalMs = record.ApproximateArrivalTimestamp?.getTime() ?? 0;
        const sequenceNumber = record.SequenceNumber ?? "";
        if (
          ("beforeMs" in to && arrivalMs >= to.beforeMs) ||
          (through !== undefined && compareSequenceNumbers(sequenceNumber, through) > 0)
        ) {
          reachedEnd = true;
          break;
        }
        const user = userRecords(record);
        buffer.push(...user);
        report.read += user.length;
        if (span !== undefined && "atMs" in from) {
          shardDone.set(shardId, Math.min(1, Math.max(0, (arrivalMs - from.atMs) / span)));
        }
        if (through !== undefined && sequenceNumber === through) reachedEnd = true;
      }
      if (buffer.length >= PIECE_RECORDS) {
        const cut = cleanPrefixLength(buffer, ranges, pack, PIECE_RECORDS);
        if (cut > 0) {
          await send(buffer.slice(0, cut), pack);
          buffer = buffer.slice(cut);
        }
      }
      progress();
      if (reachedEnd) break;
    }
    if (buffer.length > 0) await send(buffer, pack);
    shardDone.set(shardId, 1);
    progress();
  }
  return report;
}
