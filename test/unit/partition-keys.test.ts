import { describe, expect, it } from "vitest";
import { partitionKeyOf, REQUEST_LOG_KEYS, requestLogKey } from "../../src/core/partition-keys.ts";
import { fxQuote, httpRequest, stockQuote } from "../support/factories.ts";

describe("partition keys", () => {
  it("are the instrument for quotes", () => {
    expect(partitionKeyOf(fxQuote(0, "USDJPY"))).toBe("USDJPY");
    expect(partitionKeyOf(stockQuote(0, "MSFT"))).toBe("MSFT");
  });

  it("spread request logs evenly over a few keys, the same key for the same request", () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 16_000; i++) {
      const key = requestLogKey(crypto.randomUUID());
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(
      Array.from({ length: REQUEST_LOG_KEYS }, (_, i) => `http-${i}`).sort(),
    );
    for (const count of counts.values()) expect(count).toBeGreaterThan(800);
    const log = httpRequest(0);
    expect(partitionKeyOf(log)).toBe(requestLogKey((log.data as { requestId: string }).requestId));
    expect(partitionKeyOf(log)).toBe(partitionKeyOf(log));
  });
});
