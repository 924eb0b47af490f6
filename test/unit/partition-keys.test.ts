import { describe, expect, it } from "vitest";
import { envelopeOf } from "../../src/core/events.ts";
import { partitionKeyOf, REQUEST_LOG_KEYS, requestLogKey } from "../../src/core/partition-keys.ts";
import { fxQuote, httpRequest, SOURCE, stockQuote } from "../support/factories.ts";

describe("partition keys", () => {
  it("are the instrument for quotes", () => {
    expect(partitionKeyOf(fxQuote(0, "USDJPY"))).toBe("USDJPY");
    expect(partitionKeyOf(stockQuote(0, "MSFT"))).toBe("MSFT");
  });

  it("spread request logs evenly over a few keys", () => {
    // Request ids as the server makes them (UUIDs), fixed so that the counts are too.
    const counts = new Map<string, number>();
    for (let i = 0; i < 16_000; i++) {
      const key = requestLogKey(`00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(
      Array.from({ length: REQUEST_LOG_KEYS }, (_, i) => `http-${i}`).sort(),
    );
    // Each key within a fifth of an even share (1,000).
    for (const count of counts.values()) expect(Math.abs(count - 1_000)).toBeLessThan(200);
  });

  it("give a request's log the key of its request id, whatever else the log says", () => {
    const log = httpRequest(0);
    if (log.type !== "http.request") throw new Error("not a request log");
    // The same request logged again (a retry of the log): another envelope, time and status.
    const again = envelopeOf("http.request", { ...log.data, status: 500, durationMs: 9 }, SOURCE, 60_000);
    const other = envelopeOf("http.request", { ...log.data, requestId: "r-2" }, SOURCE, 0);
    expect(again.id).not.toBe(log.id);
    expect(partitionKeyOf(again)).toBe(partitionKeyOf(log));
    expect(partitionKeyOf(log)).toBe(requestLogKey("r-1"));
    expect(partitionKeyOf(other)).toBe(requestLogKey("r-2"));
    expect(requestLogKey("r-1")).not.toBe(requestLogKey("r-2"));
  });
});
