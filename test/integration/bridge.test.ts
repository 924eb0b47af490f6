/**
 * The bridge against the local SQS: a batch whose records of one dataset fill several messages
 * of the largest size is sent whole, every message within SQS's limit with its attributes.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { sendPackedMessages } from "../../src/aws/sqs.ts";
import { unpackMessage } from "../../src/core/packing.ts";
import { makeBridgeHandler } from "../../src/functions/bridge.ts";
import { kinesisEvent, stockQuote, streamRecords } from "../support/factories.ts";
import { provisionedAws } from "../support/local-aws.ts";

const MAX_MESSAGE_BYTES = 1_048_576;

describe("bridge against the local SQS", () => {
  const aws = provisionedAws("bridgetest");

  it("packs messages of the largest size that SQS takes with their attributes", async () => {
    const at = Date.UTC(2026, 10, 26, 10);
    // About 3.4 MiB of one dataset: three full messages and a partial one.
    const records = streamRecords(
      Array.from({ length: 14_000 }, (_, i) => JSON.stringify(stockQuote(at + i, "AAPL"))),
      at,
    );
    const handler = makeBridgeHandler({
      maxMessageBytes: MAX_MESSAGE_BYTES,
      send: (messages) => sendPackedMessages(aws.clients.sqs, aws.resources.queueUrl, messages),
      logger: new Logger({ logLevel: "CRITICAL" }),
    });
    const result = await handler(kinesisEvent(records, "s"));
    expect(result.records).toBe(records.length);
    expect(result.messages).toBeGreaterThanOrEqual(4);

    let received = 0;
    const seen: string[] = [];
    while (received < result.messages) {
      const { Messages = [] } = await aws.clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: aws.resources.queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ["All"],
        }),
      );
      for (const message of Messages) {
        const attributes = Object.entries(message.MessageAttributes ?? {}).reduce(
          (sum, [name, value]) =>
            sum + name.length + (value.DataType?.length ?? 0) + (value.StringValue?.length ?? 0),
          0,
        );
        expect(Buffer.byteLength(message.Body ?? "") + attributes).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
        seen.push(...unpackMessage(message.Body ?? "").records.map((r) => r.seq));
      }
      received += Messages.length;
    }
    expect(seen.sort()).toEqual(records.map((r) => r.sequenceNumber).sort());
  });

  it("refuses a message SQS could never take, with a clear error, before sending anything", async () => {
    const at = Date.UTC(2026, 10, 26, 10);
    const records = streamRecords([JSON.stringify(stockQuote(at))], at);
    const [message] = (await import("../../src/core/packing.ts")).packRecords(records, {
      stream: "s",
      shardId: "shardId-000000000000",
      maxMessageBytes: MAX_MESSAGE_BYTES,
    });
    const huge = { ...message, stream: "x".repeat(MAX_MESSAGE_BYTES) } as typeof message;
    await expect(
      sendPackedMessages(aws.clients.sqs, aws.resources.queueUrl, [huge as never]),
    ).rejects.toThrow(/exceeds SQS's 1048576/);
  });
});
