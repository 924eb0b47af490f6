/**
 * Packing Kinesis records into SQS messages (DESIGN §3). Packing is a pure function of the
 * batch: the same records always yield the same messages, so a retried batch cannot mint
 * new message identities.
 */
import { z } from "zod";
import { PackedMessageError } from "./errors.ts";
import { claimedDataset, DATASETS, UNRECOGNISED_DATASET } from "./events.ts";

/** A record as read from a Kinesis shard, its data already decoded from base64. */
export interface StreamRecord {
  sequenceNumber: string;
  partitionKey: string;
  /** ApproximateArrivalTimestamp in epoch milliseconds. */
  arrivalMs: number;
  data: Uint8Array;
}

const PackedRecord = z.union([
  z.strictObject({ seq: z.string().min(1), at: z.int(), text: z.string() }),
  z.strictObject({ seq: z.string().min(1), at: z.int(), base64: z.base64() }),
  // A record too large for any message travels as a preview, bound for quarantine: one
  // record must not stop its shard (SQS would refuse it on every retry).
  z.strictObject({
    seq: z.string().min(1),
    at: z.int(),
    oversize: z.strictObject({ bytes: z.int(), limit: z.int(), preview: z.string() }),
  }),
]);
export type PackedRecord = z.infer<typeof PackedRecord>;

export const PACKED_MESSAGE_VERSION = 1;

export const PackedMessage = z.strictObject({
  v: z.literal(PACKED_MESSAGE_VERSION),
  stream: z.string().min(1),
  shardId: z.string().min(1),
  dataset: z.enum([...DATASETS, UNRECOGNISED_DATASET]),
  firstSeq: z.string().min(1),
  lastSeq: z.string().min(1),
  records: z.array(PackedRecord).min(1),
});
export type PackedMessage = z.infer<typeof PackedMessage>;

/** What identifies a packed message wherever it goes: the object keys derive from it. */
export type MessageIdentity = Pick<PackedMessage, "stream" | "shardId" | "dataset" | "firstSeq" | "lastSeq">;

export interface PackOptions {
  stream: string;
  shardId: string;
  /** Largest message body in bytes; SQS allows 1 MiB. */
  maxMessageBytes: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Characters of an oversize record kept for its quarantine entry. */
export const OVERSIZE_PREVIEW_CHARS = 1_024;

function toPackedRecord(record: StreamRecord): { packed: PackedRecord; text: string | undefined } {
  try {
    const text = utf8.decode(record.data);
    return { packed: { seq: record.sequenceNumber, at: record.arrivalMs, text }, text };
  } catch {
    const base64 = Buffer.from(record.data).toString("base64");
    return { packed: { seq: record.sequenceNumber, at: record.arrivalMs, base64 }, text: undefined };
  }
}

/** Bytes the message frame takes around its records, with room for the longest names. */
function frameBytes(options: PackOptions, dataset: string): number {
  const frame: PackedMessage = {
    v: PACKED_MESSAGE_VERSION,
    stream: options.stream,
    shardId: options.shardId,
    dataset: dataset as PackedMessage["dataset"],
    firstSeq: "9".repeat(64),
    lastSeq: "9".repeat(64),
    records: [],
  };
  return Buffer.byteLength(JSON.stringify(frame));
}

/**
 * How a record travels in a packed message, the dataset whose message carries it, and the
 * bytes it adds to that message. A record too large for any message becomes an `oversize`
 * preview of the unrecognised dataset.
 */
export function packedRecordOf(
  record: StreamRecord,
  options: PackOptions,
): { packed: PackedRecord; dataset: PackedMessage["dataset"]; size: number } {
  let { packed, text } = toPackedRecord(record);
  // +1 for the comma between records
  let size = Buffer.byteLength(JSON.stringify(packed)) + 1;
  if (frameBytes(options, UNRECOGNISED_DATASET) + size > options.maxMessageBytes) {
    const preview = (text ?? ("base64" in packed ? packed.base64 : "")).slice(0, OVERSIZE_PREVIEW_CHARS);
    packed = {
      seq: record.sequenceNumber,
      at: record.arrivalMs,
      oversize: { bytes: record.data.byteLength, limit: options.maxMessageBytes, preview },
    };
    text = undefined;
    size = Buffer.byteLength(JSON.stringify(packed)) + 1;
  }
  const dataset = text === undefined ? UNRECOGNISED_DATASET : claimedDataset(text);
  return { packed, dataset, size };
}

/**
 * Packs the records of one shard, in sequence order, into messages of one dataset each, every
 * body at most `maxMessageBytes`. A record too large for any message travels as an
 * `oversize` preview, which the processor quarantines with its size.
 */
export function packRecords(records: readonly StreamRecord[], options: PackOptions): PackedMessage[] {
  const open = new Map<string, { records: PackedRecord[]; bytes: number }>();
  const done: PackedMessage[] = [];

  const close = (dataset: string) => {
    const group = open.get(dataset);
    if (!group || group.records.length === 0) return;
    const first = group.records[0] as PackedRecord;
    const last = group.records[group.records.length - 1] as PackedRecord;
    done.push({
      v: PACKED_MESSAGE_VERSION,
      stream: options.stream,
      shardId: options.shardId,
      dataset: dataset as PackedMessage["dataset"],
      firstSeq: first.seq,
      lastSeq: last.seq,
      records: group.records,
    });
    open.delete(dataset);
  };

  for (const record of records) {
    const { packed, dataset, size } = packedRecordOf(record, options);
    let group = open.get(dataset);
    if (group && group.bytes + size > options.maxMessageBytes) {
      close(dataset);
      group = undefined;
    }
    if (!group) {
      group = { records: [], bytes: frameBytes(options, dataset) };
      open.set(dataset, group);
    }
    group.records.push(packed);
    group.bytes += size;
  }
  for (const dataset of [...open.keys()]) close(dataset);
  // Messages in the order of their first record keep the shard's order visible downstream.
  return done.sort((a, b) => compareSequenceNumbers(a.firstSeq, b.firstSeq));
}

/**
 * Kinesis sequence numbers are decimal strings of up to 128 bits: compare them as numbers.
 * Sub-records of an aggregated record carry `.<sub-sequence>` and sort after each other.
 */
export function compareSequenceNumbers(a: string, b: string): number {
  const [mainA = "", subA = ""] = a.split(".");
  const [mainB = "", subB = ""] = b.split(".");
  if (mainA.length !== mainB.length) return mainA.length - mainB.length;
  if (mainA !== mainB) return mainA < mainB ? -1 : 1;
  return subA === subB ? 0 : subA < subB ? -1 : 1;
}

/** Decodes an SQS message body into a packed message, or says precisely why it is not one. */
export function unpackMessage(body: string): PackedMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (cause) {
    throw new PackedMessageError(`SQS message body is not JSON: ${(cause as Error).message}`, { cause });
  }
  const result = PackedMessage.safeParse(parsed);
  if (!result.success) {
    const first = result.error.issues[0];
    const where = first && first.path.length > 0 ? first.path.join(".") : "$";
    throw new PackedMessageError(
      `SQS message body is not a packed ticklake message: ${where}: ${first?.message ?? "invalid"}`,
      { cause: result.error },
    );
  }
  return result.data;
}

/** The text of a packed record: its UTF-8 text, or the decoded bytes for binary records. */
export function recordText(record: PackedRecord): string {
  if ("text" in record) return record.text;
  if ("base64" in record) return Buffer.from(record.base64, "base64").toString("utf8");
  return record.oversize.preview;
}
