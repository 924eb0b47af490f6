/**
 * The log shipper's policy, apart from Kinesis and the disk (src/aws/shipper.ts does the I/O):
 * the defaults of its options, how records are planned into one PutRecords call, and the
 * counters it reports. Which partition key a record gets is in partition-keys.ts.
 */
import { aggregate, aggregatedSize } from "./aggregation.ts";

/** How a shipper batches, buffers and aggregates; `shippingPolicy` fills in the defaults. */
export interface ShippingPolicy {
  /**
   * How long records wait for a full call before they are sent anyway (the KPL's
   * RecordMaxBufferedTime). Calls go out at once while a full call's worth is waiting, the
   * spool holds a backlog, or `flush()` waits. @default 100
   */
  flushIntervalMs: number;
  /** Records held in memory; more go to the spool. @default 50_000 */
  maxBufferedRecords: number;
  /** @default 1 GiB */
  maxSpoolBytes: number;
  /**
   * Aggregate records per partition key (KPL format). Without it, a partial failure can
   * reorder a key's records within a call. @default true
   */
  aggregate: boolean;
  /** Largest aggregated record; the KPL's default is 51,200. @default 51_200 */
  maxAggregateBytes: number;
}

export function shippingPolicy(options: Partial<ShippingPolicy> = {}): ShippingPolicy {
  return {
    flushIntervalMs: options.flushIntervalMs ?? 100,
    maxBufferedRecords: options.maxBufferedRecords ?? 50_000,
    maxSpoolBytes: options.maxSpoolBytes ?? 1024 ** 3,
    aggregate: options.aggregate ?? true,
    maxAggregateBytes: options.maxAggregateBytes ?? 51_200,
  };
}

/** PutRecords takes at most 500 records… */
const MAX_RECORDS_PER_CALL = 500;
/** …and 5 MiB; a call is planned to 64 KiB less, for the request's own framing. */
const MAX_BYTES_PER_CALL = 5 * 1024 * 1024 - 64 * 1024;
/**
 * User records that make an aggregated call worth sending without waiting for more: a call
 * holds up to 5 MiB, and some thousands of ~250-byte records fill it well.
 */
const FULL_AGGREGATED_CALL = 4_000;
/** What the aggregate's own framing adds to its records, counted once per key. */
const AGGREGATE_OVERHEAD_BYTES = 64;

/** Records in memory that make a call worth sending at once, rather than waiting for more. */
export function fullCall(policy: ShippingPolicy): number {
  return policy.aggregate ? FULL_AGGREGATED_CALL : MAX_RECORDS_PER_CALL;
}

/** A user record as the shipper holds it. */
export interface KeyedRecord {
  key: string;
  data: Uint8Array;
}

/** One Kinesis record of a call: a key's records aggregated, or one record as it is. */
export interface PlannedEntry<R extends KeyedRecord> {
  partitionKey: string;
  data: Uint8Array;
  /** The user records it carries, in order. */
  members: R[];
}

export interface PlannedCall<R extends KeyedRecord> {
  entries: PlannedEntry<R>[];
  /** How many records from the front of the queue the call takes. */
  taken: number;
}

/**
 * Plans the next PutRecords call from the front of `queue`: in order, up to the first record
 * that does not fit (nothing is taken out of order), within the call's limits. Aggregated, a
 * key gets one Kinesis record per call, so a partial failure cannot reorder its records.
 */
export function planCall<R extends KeyedRecord>(queue: readonly R[], policy: ShippingPolicy): PlannedCall<R> {
  const aggregateOn = policy.aggregate;
  const groups = new Map<string, { members: R[]; bytes: number }>();
  let callBytes = 0;
  let taken = 0;
  for (const record of queue) {
    const size = aggregateOn
      ? aggregatedSize({ partitionKey: record.key, data: record.data })
      : record.data.length;
    if (taken > 0 && callBytes + size + record.key.length > MAX_BYTES_PER_CALL) break;
    const group = aggregateOn ? groups.get(record.key) : undefined;
    if (group) {
      if (group.bytes + size > policy.maxAggregateBytes) break;
      group.members.push(record);
      group.bytes += size;
    } else {
      if (groups.size >= MAX_RECORDS_PER_CALL) break;
      groups.set(aggregateOn ? record.key : String(taken), {
        members: [record],
        bytes: size + AGGREGATE_OVERHEAD_BYTES,
      });
    }
    callBytes += size + record.key.length;
    taken++;
  }
  const entries: PlannedEntry<R>[] = [];
  for (const { members } of groups.values()) {
    const first = members[0] as R;
    entries.push({
      partitionKey: first.key,
      data: aggregateOn ? aggregate(members.map((r) => ({ partitionKey: r.key, data: r.data }))) : first.data,
      members,
    });
  }
  return { entries, taken };
}

export interface ShipperStats {
  /** Accepted by `ship`. */
  queued: number;
  /** User records acknowledged by Kinesis. */
  sent: number;
  /** User-record attempts that failed and were retried. */
  retried: number;
  /** Records written to the disk spool. */
  spooled: number;
  /** Refused by `ship` because memory (without spool) or the spool was full, or it stopped. */
  refused: number;
  /** Accepted records lost: stays 0 unless the shipper's thread dies. */
  dropped: number;
  putRecordsCalls: number;
  /** Kinesis records put (aggregates count once). */
  kinesisRecords: number;
  bytesSent: number;
  /** Records of calls with an unknown outcome that were found stored, so not sent again. */
  foundStored: number;
}

export function emptyShipperStats(): ShipperStats {
  return {
    queued: 0,
    sent: 0,
    retried: 0,
    spooled: 0,
    refused: 0,
    dropped: 0,
    putRecordsCalls: 0,
    kinesisRecords: 0,
    bytesSent: 0,
    foundStored: 0,
  };
}

/**
 * The counters a running shipper reports, once: in its JSON log line, under `shipper` (on AWS,
 * metric filters read `$.shipper.buffered` and `$.shipper.refused` from it), and as /metrics
 * gauges named `ticklake_shipper_<field in snake_case>`. `buffered` is what is accepted and
 * not yet acknowledged; the rest are ShipperStats.
 */
export const SHIPPER_REPORT_FIELDS = [
  "buffered",
  "sent",
  "retried",
  "spooled",
  "refused",
  "dropped",
  "putRecordsCalls",
] as const;
export type ShipperReportField = (typeof SHIPPER_REPORT_FIELDS)[number];
export type ShipperReport = Record<ShipperReportField, number>;

export function shipperReport(shipper: {
  readonly stats: ShipperStats;
  readonly buffered: number;
}): ShipperReport {
  const report = {} as ShipperReport;
  for (const field of SHIPPER_REPORT_FIELDS)
    report[field] = field === "buffered" ? shipper.buffered : shipper.stats[field];
  return report;
}

/** The report as one JSON log line (no newline). */
export function shipperLogLine(report: ShipperReport): string {
  return JSON.stringify({ level: "INFO", message: "shipper", shipper: report });
}

/** The report as /metrics gauges: `putRecordsCalls` is `shipper_put_records_calls`. */
export function shipperGauges(report: ShipperReport): Record<string, number> {
  const gauges: Record<string, number> = {};
  for (const field of SHIPPER_REPORT_FIELDS)
    gauges[`shipper_${field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`] = report[field];
  return gauges;
}
