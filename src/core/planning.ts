/**
 * What the processor writes for one packed message: one Parquet lake object per dataset and
 * hour partition of its valid records, and one gzip NDJSON quarantine object for the rest.
 * Pure: no I/O.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { z } from "zod";
import {
  type Dataset,
  type Envelope,
  eventTimeViolation,
  SCHEMA_VERSION,
  UNRECOGNISED_DATASET,
  type Violation,
  validateRecord,
} from "./events.ts";
import { DataFileStats } from "./iceberg/metrics.ts";
import { type HourPartition, hourPartitionOf, lakeKeyFor, objectIdOf, quarantineKeyFor } from "./layout.ts";
import { type PackedMessage, type PackedRecord, recordText } from "./packing.ts";
import { encodeDataFile, PARQUET_CONTENT_TYPE } from "./parquet.ts";

export interface ObjectPlan {
  kind: "lake" | "quarantine";
  key: string;
  dataset: string;
  partition: HourPartition;
  body: Uint8Array;
  contentType: string;
  /** `gzip` for quarantine objects; Parquet compresses inside the file. */
  contentEncoding?: string;
  records: number;
  /** Event time (lake) or arrival time (quarantine) bounds, ISO-8601. */
  minTime: string;
  maxTime: string;
  /** Lake objects: what the table layer's manifest entry for the file needs (DESIGN §9). */
  stats?: DataFileStats;
}

/** One line of a quarantine object: the raw record, why it was refused, and where it came from. */
export interface QuarantineEntry {
  reason: "invalid_record";
  violations: Violation[];
  source: { stream: string; shardId: string; sequenceNumber: string; arrivedAt: string };
  raw: PackedRecord;
}

function gzipLines(lines: readonly string[]): Uint8Array {
  return gzipSync(`${lines.join("\n")}\n`, { level: 6 });
}

const HOUR_MS = 3_600_000;

interface Group {
  dataset: Dataset;
  partition: HourPartition;
  events: Envelope[];
  minMs: number;
  maxMs: number;
}

/** Plans the objects for one packed message. Valid records are written re-serialised. */
export function planObjects(message: PackedMessage): ObjectPlan[] {
  const groups = new Map<string, Group>();
  const rejected: QuarantineEntry[] = [];

  for (const record of message.records) {
    const verdict: ReturnType<typeof validateRecord> =
      "oversize" in record
        ? {
            ok: false,
            violations: [
              {
                field: "$",
                value: `${record.oversize.preview}…`,
                rule: `oversize: the record is ${record.oversize.bytes} bytes; a packed SQS message holds at most ${record.oversize.limit}`,
              },
            ],
          }
        : validateRecord(recordText(record));
    const late = verdict.ok ? eventTimeViolation(Date.parse(verdict.event.ts), record.at) : undefined;
    if (!verdict.ok || late) {
      rejected.push({
        reason: "invalid_record",
        violations: verdict.ok ? [late as Violation] : verdict.violations,
        source: {
          stream: message.stream,
          shardId: message.shardId,
          sequenceNumber: record.seq,
          arrivedAt: new Date(record.at).toISOString(),
        },
        raw: record,
      });
      continue;
    }
    const eventMs = Date.parse(verdict.event.ts);
    // Whole UTC hours since the epoch name the partition; the strings are made once a group.
    const groupKey = `${verdict.dataset}/${Math.floor(eventMs / HOUR_MS)}`;
    let group = groups.get(groupKey);
    if (!group) {
      group = {
        dataset: verdict.dataset,
        partition: hourPartitionOf(eventMs),
        events: [],
        minMs: eventMs,
        maxMs: eventMs,
      };
      groups.set(groupKey, group);
    }
    group.events.push(verdict.event);
    group.minMs = Math.min(group.minMs, eventMs);
    group.maxMs = Math.max(group.maxMs, eventMs);
  }

  const plans: ObjectPlan[] = [...groups.values()].map((group) => {
    const file = encodeDataFile(group.dataset, group.events, group.minMs);
    return {
      kind: "lake",
      key: lakeKeyFor(group.dataset, group.partition, message),
      dataset: group.dataset,
      partition: group.partition,
      body: file.body,
      contentType: PARQUET_CONTENT_TYPE,
      records: group.events.length,
      minTime: new Date(group.minMs).toISOString(),
      maxTime: new Date(group.maxMs).toISOString(),
      stats: file.stats,
    };
  });

  if (rejected.length > 0) {
    const arrivals = rejected.map((entry) => Date.parse(entry.source.arrivedAt));
    const firstArrival = Math.min(...arrivals);
    // Arrival time, not processing time: a redelivered message must map to the same key.
    const partition = hourPartitionOf(firstArrival);
    plans.push({
      kind: "quarantine",
      key: quarantineKeyFor(message.dataset, partition, objectIdOf(message)),
      dataset: message.dataset,
      partition,
      body: gzipLines(rejected.map((entry) => JSON.stringify(entry))),
      contentType: "application/x-ndjson",
      contentEncoding: "gzip",
      records: rejected.length,
      minTime: new Date(firstArrival).toISOString(),
      maxTime: new Date(Math.max(...arrivals)).toISOString(),
    });
  }
  return plans;
}

/** The SNS "data available" message for an object (DESIGN §3): subscribers dedupe on `key`. */
export const ObjectManifest = z.strictObject({
  v: z.literal(1),
  kind: z.enum(["lake", "quarantine"]),
  bucket: z.string(),
  key: z.string(),
  dataset: z.string(),
  dt: z.string(),
  hour: z.string(),
  records: z.int().nonnegative(),
  /** Event time (lake) or arrival time (quarantine) bounds, ISO-8601. */
  minTime: z.string(),
  maxTime: z.string(),
  bytes: z.int().nonnegative(),
  /** SHA-256 of the object's bytes, hex. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  contentType: z.string(),
  schemaVersion: z.int(),
  /** The packed message the object came from; null for a malformed SQS message. */
  source: z
    .strictObject({ stream: z.string(), shardId: z.string(), firstSeq: z.string(), lastSeq: z.string() })
    .nullable(),
  /**
   * Lake objects: the file's partition, record count and column metrics by Iceberg field id,
   * so that the committer never reads a data file. Absent in announcements of files written
   * before the table layer (those files carry no field ids).
   */
  iceberg: DataFileStats.optional(),
});
export type ObjectManifest = z.infer<typeof ObjectManifest>;

export function manifestFor(
  plan: ObjectPlan,
  bucket: string,
  message: PackedMessage | undefined,
): ObjectManifest {
  return {
    v: 1,
    kind: plan.kind,
    bucket,
    key: plan.key,
    dataset: plan.dataset,
    dt: plan.partition.dt,
    hour: plan.partition.hour,
    records: plan.records,
    minTime: plan.minTime,
    maxTime: plan.maxTime,
    bytes: plan.body.byteLength,
    sha256: createHash("sha256").update(plan.body).digest("hex"),
    contentType: plan.contentType,
    schemaVersion: SCHEMA_VERSION,
    source: message
      ? {
          stream: message.stream,
          shardId: message.shardId,
          firstSeq: message.firstSeq,
          lastSeq: message.lastSeq,
        }
      : null,
    ...(plan.stats ? { iceberg: plan.stats } : {}),
  };
}

/**
 * Plans the quarantine object for an SQS message whose body is not a packed message at all.
 * The key derives from the SQS message id, which stays the same across redeliveries.
 */
export function planMalformedMessage(
  body: string,
  messageId: string,
  sentMs: number,
  reason: string,
): ObjectPlan {
  const partition = hourPartitionOf(sentMs);
  const entry = {
    reason: "invalid_message",
    violations: [{ field: "$", value: body.length > 200 ? `${body.slice(0, 200)}…` : body, rule: reason }],
    source: { sqsMessageId: messageId, sentAt: new Date(sentMs).toISOString() },
    raw: body,
  };
  const at = new Date(sentMs).toISOString();
  return {
    kind: "quarantine",
    key: quarantineKeyFor(UNRECOGNISED_DATASET, partition, `sqs-${messageId}`),
    dataset: UNRECOGNISED_DATASET,
    partition,
    body: gzipLines([JSON.stringify(entry)]),
    contentType: "application/x-ndjson",
    contentEncoding: "gzip",
    records: 1,
    minTime: at,
    maxTime: at,
  };
}
