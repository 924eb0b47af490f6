/** Event factories for tests: valid envelopes of every type, and stream records. */
import { type Envelope, envelopeOf } from "../../src/core/events.ts";
import type { StreamRecord } from "../../src/core/packing.ts";

export const SOURCE = { service: "test", instance: "t1" };

export function fxQuote(atMs: number, pair: "EURUSD" | "USDJPY" = "EURUSD"): Envelope {
  return pair === "EURUSD"
    ? envelopeOf("fx.quote", { pair, bid: 1.08412, ask: 1.08421 }, SOURCE, atMs)
    : envelopeOf("fx.quote", { pair, bid: 151.482, ask: 151.497 }, SOURCE, atMs);
}

export function stockQuote(atMs: number, symbol = "AAPL"): Envelope {
  return envelopeOf(
    "stock.quote",
    { symbol, bid: 189.45, ask: 189.47, last: 189.46, volume: 300 },
    SOURCE,
    atMs,
  );
}

export function newsArticle(atMs: number): Envelope {
  return envelopeOf(
    "news.article",
    {
      articleId: "a-1",
      headline: "AAPL beats earnings estimates",
      summary: "AAPL: simulated earnings news.",
      category: "earnings",
      symbols: ["AAPL"],
      sentiment: 0.62,
    },
    SOURCE,
    atMs,
  );
}

export function httpRequest(atMs: number): Envelope {
  return envelopeOf(
    "http.request",
    {
      requestId: "r-1",
      method: "GET",
      route: "/v1/stocks/:symbol",
      path: "/v1/stocks/AAPL",
      status: 200,
      durationMs: 0.8,
      bytes: 80,
    },
    SOURCE,
    atMs,
  );
}

/** Stream records with increasing sequence numbers of Kinesis's shape (56 digits). */
export function streamRecords(
  texts: readonly (string | Uint8Array)[],
  arrivalMs = Date.UTC(2026, 10, 26, 10, 0, 0),
): StreamRecord[] {
  return texts.map((text, index) => ({
    sequenceNumber: `4959${String(index + 1).padStart(52, "0")}`,
    partitionKey: "k",
    arrivalMs: arrivalMs + index,
    data: typeof text === "string" ? Buffer.from(text) : text,
  }));
}

/** An SQS event record as Lambda delivers it. */
export function sqsRecord(
  body: string,
  messageId: string,
  sentMs = Date.UTC(2026, 10, 26, 10, 0, 0),
): import("aws-lambda").SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: "1",
      SentTimestamp: String(sentMs),
      SenderId: "000000000000",
      ApproximateFirstReceiveTimestamp: String(sentMs),
    },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:q",
    awsRegion: "us-east-1",
  };
}

/** A Kinesis event as Lambda delivers it, for the records of one shard. */
export function kinesisEvent(
  records: readonly StreamRecord[],
  streamName: string,
  shardId = "shardId-000000000000",
): import("aws-lambda").KinesisStreamEvent {
  return {
    Records: records.map((r) => ({
      kinesis: {
        kinesisSchemaVersion: "1.0",
        partitionKey: r.partitionKey,
        sequenceNumber: r.sequenceNumber,
        data: Buffer.from(r.data).toString("base64"),
        approximateArrivalTimestamp: r.arrivalMs / 1000,
      },
      eventSource: "aws:kinesis",
      eventVersion: "1.0",
      eventID: `${shardId}:${r.sequenceNumber}`,
      eventName: "aws:kinesis:record",
      invokeIdentityArn: "arn:aws:iam::000000000000:role/r",
      awsRegion: "us-east-1",
      eventSourceARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${streamName}`,
    })),
  };
}
