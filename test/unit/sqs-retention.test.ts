/**
 * The emulator host's message expiry, against fauxqs's own store: what SQS's
 * MessageRetentionPeriod does, which fauxqs leaves undone.
 */
import { describe, expect, it } from "vitest";
import { SqsStore } from "../../node_modules/fauxqs/dist/sqs/sqsStore.js";
import { expireMessages, fauxqsStores } from "../../src/local/sqs-retention.ts";

function queueWith(store: SqsStore, name: string, retentionSeconds: number) {
  const arn = `arn:aws:sqs:us-east-1:000000000000:${name}`;
  return store.createQueue(name, `http://127.0.0.1/000000000000/${name}`, arn, {
    MessageRetentionPeriod: String(retentionSeconds),
    ...(name.endsWith(".fifo") ? { FifoQueue: "true" } : {}),
  });
}

describe("expireMessages", () => {
  it("drops the waiting messages older than each queue's retention and keeps the rest", () => {
    const { sqsStore: store } = fauxqsStores();
    const short = queueWith(store, "short", 60);
    const long = queueWith(store, "long", 3_600);
    const fifo = queueWith(store, "short.fifo", 60);
    const sentAt = Date.now();
    for (const body of ["a", "b"]) short.enqueue(SqsStore.createMessage(body));
    long.enqueue(SqsStore.createMessage("kept"));
    fifo.enqueue(SqsStore.createMessage("f", {}, undefined, "group-1", "d-1"));
    // Received and not deleted: in flight, its receiver's until it comes back.
    const [inFlight] = short.dequeue(1);

    expect(expireMessages(store, sentAt + 59_000)).toBe(0);
    expect(expireMessages(store, sentAt + 61_000)).toBe(2);
    expect(short.inspectMessages().ready).toEqual([]);
    expect(short.inspectMessages().inflight.map((entry) => entry.message.body)).toEqual([inFlight?.Body]);
    expect(fifo.inspectMessages().ready).toEqual([]);
    expect(long.inspectMessages().ready.map((message) => message.body)).toEqual(["kept"]);
    expect(expireMessages(store, sentAt + 3_601_000)).toBe(1);
  });
});
