/**
 * KPL record aggregation (the Kinesis Aggregated Record Format), through the maintained
 * aws-kinesis-agg library: many small user records in one Kinesis record, so that they are
 * not billed 1 KiB each, and deaggregation on the way out.
 * @see https://github.com/awslabs/amazon-kinesis-producer/blob/master/aggregation-format.md
 */
import agg from "aws-kinesis-agg";
import type { StreamRecord } from "./packing.ts";

/** What the KPL writes first in an aggregated record. */
const MAGIC = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);

export function isAggregated(data: Uint8Array): boolean {
  return data.length > MAGIC.length + 16 && Buffer.from(data.buffer, data.byteOffset, 4).equals(MAGIC);
}

/** A Buffer over the same bytes: no copy on the per-record path. */
function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export interface UserRecord {
  partitionKey: string;
  data: Uint8Array;
}

/** Aggregates user records of one partition key, in order, into one Kinesis record's data. */
export function aggregate(records: readonly UserRecord[]): Uint8Array {
  const aggregator = new agg.RecordAggregator();
  for (const record of records)
    aggregator.addUserRecord({ partitionKey: record.partitionKey, data: asBuffer(record.data) });
  return aggregator.build().data;
}

/** Sizes records without adding them: the aggregator is only read, so one serves all calls. */
const sizer = new agg.RecordAggregator();

/** The size a user record adds to an aggregate, as the library counts it. */
export function aggregatedSize(record: UserRecord): number {
  return sizer.calculateUserRecordSize({ partitionKey: record.partitionKey, data: asBuffer(record.data) });
}

/**
 * The user records of a Kinesis record: itself when not aggregated, or each sub-record, whose
 * sequence number gets its sub-sequence number as a suffix (`<seq>.<sub>`, 6 digits), so that
 * sub-records keep their order and their own identity downstream.
 */
export function deaggregate(record: StreamRecord): StreamRecord[] {
  if (!isAggregated(record.data)) return [record];
  let result: StreamRecord[] = [];
  agg.deaggregateSync(
    {
      kinesisSchemaVersion: "1.0",
      partitionKey: record.partitionKey,
      sequenceNumber: record.sequenceNumber,
      data: asBuffer(record.data).toString("base64"),
      approximateArrivalTimestamp: record.arrivalMs / 1000,
    },
    true,
    (error, userRecords) => {
      if (error)
        throw new Error(`cannot deaggregate record ${record.sequenceNumber}: ${error.message}`, {
          cause: error,
        });
      result = (userRecords ?? []).map((user) => ({
        sequenceNumber: `${record.sequenceNumber}.${String(user.subSequenceNumber).padStart(6, "0")}`,
        partitionKey: user.partitionKey,
        arrivalMs: record.arrivalMs,
        data: Buffer.from(user.data, "base64"),
      }));
    },
  );
  return result;
}
