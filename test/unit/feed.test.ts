/** What the market feed does when its log sink does not take an envelope. */
import { describe, expect, it } from "vitest";
import { ShipperFullError, ShipperStoppedError } from "../../src/aws/errors.ts";
import { MarketFeed } from "../../src/webserver/feed.ts";
import { SOURCE, stockQuote } from "../support/factories.ts";

const feedWith = (ship: () => void) => new MarketFeed({ seed: 1, source: SOURCE, sink: { ship } });

describe("market feed logging", () => {
  it("counts a refusal (a full or stopped shipper) and goes on", () => {
    for (const refusal of [new ShipperFullError("spool"), new ShipperStoppedError("stopped")]) {
      const feed = feedWith(() => {
        throw refusal;
      });
      expect(() => feed.log(stockQuote(0))).not.toThrow();
      expect(feed.refused).toBe(1);
    }
  });

  it("throws any other error of the sink, a serializer's bug for one, instead of counting it as refused", () => {
    const feed = feedWith(() => {
      throw new TypeError("Cannot read properties of undefined (reading 'symbol')");
    });
    expect(() => feed.log(stockQuote(0))).toThrow(TypeError);
    expect(feed.refused).toBe(0);
  });
});
