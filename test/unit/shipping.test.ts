/** The shipper's policy in the core: planning a PutRecords call, and the counters it reports. */
import { describe, expect, it } from "vitest";
import { deaggregate } from "../../src/core/aggregation.ts";
import {
  emptyShipperStats,
  planCall,
  SHIPPER_REPORT_FIELDS,
  shipperGauges,
  shipperLogLine,
  shipperReport,
  shippingPolicy,
} from "../../src/core/shipping.ts";

const record = (key: string, i: number, bytes = 100) => ({
  key,
  data: Buffer.from(`${i}:`.padEnd(bytes, "x")),
});

describe("planning a PutRecords call", () => {
  it("aggregates each key's records, in order, into one Kinesis record", () => {
    const queue = [record("A", 0), record("B", 1), record("A", 2), record("C", 3), record("B", 4)];
    const call = planCall(queue, shippingPolicy());
    expect(call.taken).toBe(5);
    expect(call.entries.map((entry) => entry.partitionKey)).toEqual(["A", "B", "C"]);
    expect(call.entries.map((entry) => entry.members)).toEqual([
      [queue[0], queue[2]],
      [queue[1], queue[4]],
      [queue[3]],
    ]);
    const first = call.entries[0];
    const users = deaggregate({
      sequenceNumber: "1",
      partitionKey: "A",
      data: first?.data ?? new Uint8Array(),
      arrivalMs: 0,
    });
    expect(users.map((user) => Buffer.from(user.data).toString())).toEqual(
      [queue[0], queue[2]].map((r) => r?.data.toString()),
    );
  });

  it("stops at the first record that does not fit its key's aggregate: nothing is taken out of order", () => {
    // GIVEN aggregates of at most ~2 records of 1,000 bytes, and a key with three in a row
    const policy = shippingPolicy({ maxAggregateBytes: 2_100 });
    const queue = [
      record("A", 0, 1_000),
      record("A", 1, 1_000),
      record("B", 2),
      record("A", 3, 1_000),
      record("B", 4),
    ];
    const call = planCall(queue, policy);
    // THEN the call ends before A's third, though B's next would have fitted
    expect(call.taken).toBe(3);
    expect(call.entries.flatMap((entry) => entry.members)).toEqual(queue.slice(0, 3));
  });

  it("without aggregation, sends each record as it is, at most 500 a call", () => {
    const queue = Array.from({ length: 600 }, (_, i) => record(`k${i % 7}`, i));
    const call = planCall(queue, shippingPolicy({ aggregate: false }));
    expect(call.taken).toBe(500);
    expect(call.entries.map((entry) => entry.data)).toEqual(queue.slice(0, 500).map((r) => r.data));
  });
});

describe("what a shipper reports", () => {
  it("derives the log line and the gauges from the one list of fields", () => {
    const stats = { ...emptyShipperStats(), sent: 5, retried: 1, refused: 2, putRecordsCalls: 3 };
    const report = shipperReport({ stats, buffered: 7 });
    expect(Object.keys(report)).toEqual([...SHIPPER_REPORT_FIELDS]);
    expect(JSON.parse(shipperLogLine(report))).toEqual({
      level: "INFO",
      message: "shipper",
      shipper: { buffered: 7, sent: 5, retried: 1, spooled: 0, refused: 2, dropped: 0, putRecordsCalls: 3 },
    });
    expect(shipperGauges(report)).toEqual({
      shipper_buffered: 7,
      shipper_sent: 5,
      shipper_retried: 1,
      shipper_spooled: 0,
      shipper_refused: 2,
      shipper_dropped: 0,
      shipper_put_records_calls: 3,
    });
  });
});
