import { gunzipSync } from "node:zlib";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { describe, expect, it } from "vitest";
import { publishManifest, putObjectIfAbsent } from "../../src/aws/lake.ts";
import { NotificationTap } from "../../src/aws/notifications.ts";
import { packRecords } from "../../src/core/packing.ts";
import type { ObjectPlan } from "../../src/core/planning.ts";
import { makeProcessorHandler } from "../../src/functions/processor.ts";
import { parquetEnvelopes } from "../support/duckdb.ts";
import { fxQuote, sqsRecord, stockQuote, streamRecords } from "../support/factories.ts";
import { getBytes, listKeys, provisionedAws } from "../support/local-aws.ts";
import { NotificationTimes } from "../support/notification-times.ts";

const AT = Date.UTC(2026, 10, 26, 10, 15);

describe("processor against the local S3 and SNS", () => {
  const aws = provisionedAws("proctest");
  const logger = new Logger({ serviceName: "test", logLevel: "CRITICAL" });

  const handlerWith = (
    put = (plan: ObjectPlan) => putObjectIfAbsent(aws.clients.s3, aws.resources.bucket, plan),
  ) =>
    makeProcessorHandler({
      bucket: aws.resources.bucket,
      putObjectIfAbsent: put,
      publish: (manifest) => publishManifest(aws.clients.sns, aws.resources.topicArn, manifest),
      logger,
      metrics: new Metrics({ namespace: "ticklake-test" }),
    });

  const packed = (shardId: string, texts: string[]) => {
    const messages = packRecords(streamRecords(texts, AT), {
      stream: "s",
      shardId,
      maxMessageBytes: 1_048_576,
    });
    return messages.map((message) => JSON.stringify(message));
  };

  it("turns a message delivered three times into one object, its records once, and notifies each delivery", async () => {
    const envelopes = Array.from({ length: 50 }, (_, i) => fxQuote(AT + i));
    const [body] = packed(
      "shardId-000000000001",
      envelopes.map((e) => JSON.stringify(e)),
    );
    const handler = handlerWith();
    const tap = new NotificationTap(aws.clients.sqs, aws.resources.notificationQueueUrl);
    const received = new NotificationTimes({ keepManifests: true }).follow(tap).manifests;

    for (let delivery = 0; delivery < 3; delivery++) {
      const response = await handler({ Records: [sqsRecord(body ?? "", "m-dup")] });
      expect(response.batchItemFailures).toEqual([]);
    }

    const keys = await listKeys(aws.clients.s3, aws.resources.bucket, "lake/fx_quotes/");
    expect(keys).toHaveLength(1);
    const stored = await parquetEnvelopes(
      "fx_quotes",
      await getBytes(aws.clients.s3, aws.resources.bucket, keys[0] ?? ""),
    );
    expect(stored).toEqual(envelopes);

    while ((await tap.receiveOnce(0)) > 0) {}
    expect(tap.tally.messages).toBe(3);
    expect(tap.tally.objects).toBe(1);
    expect(received.get(keys[0] ?? "")?.manifest).toMatchObject({
      kind: "lake",
      records: 50,
      dataset: "fx_quotes",
    });
  });

  it("fails only the message whose S3 write fails, and stores it when redelivered", async () => {
    const [good] = packed("shardId-000000000002", [JSON.stringify(stockQuote(AT))]);
    const [bad] = packed("shardId-000000000003", [JSON.stringify(stockQuote(AT + 1))]);
    const failing = handlerWith(async (plan) => {
      if (plan.key.includes("shardId-000000000003")) throw new Error("S3 is unavailable (injected)");
      return putObjectIfAbsent(aws.clients.s3, aws.resources.bucket, plan);
    });

    const response = await failing({
      Records: [sqsRecord(good ?? "", "m-good"), sqsRecord(bad ?? "", "m-bad")],
    });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: "m-bad" }]);
    let keys = await listKeys(aws.clients.s3, aws.resources.bucket, "lake/stock_quotes/");
    expect(keys.map((k) => k.includes("shardId-000000000002"))).toEqual([true]);

    const retried = await handlerWith()({ Records: [sqsRecord(bad ?? "", "m-bad")] });
    expect(retried.batchItemFailures).toEqual([]);
    keys = await listKeys(aws.clients.s3, aws.resources.bucket, "lake/stock_quotes/");
    expect(keys).toHaveLength(2);
  });

  it("stores the 99% valid records of a batch and quarantines the 1% invalid ones with reasons, failing nothing", async () => {
    const valid = Array.from({ length: 990 }, (_, i) => stockQuote(AT + 60_000 + i, "MSFT"));
    const invalid = Array.from({ length: 10 }, (_, i) =>
      JSON.stringify({
        ...stockQuote(AT + 60_000),
        data: { symbol: "MSFT", bid: 10 + i, ask: 9, last: 9.5, volume: 1 },
      }),
    );
    const texts = valid.map((e) => JSON.stringify(e));
    for (const [i, bad] of invalid.entries()) texts.splice(i * 100 + 50, 0, bad);
    const bodies = packed("shardId-000000000009", texts);
    const response = await handlerWith()({
      Records: bodies.map((body, i) => sqsRecord(body, `m-mixed-${i}`)),
    });
    expect(response.batchItemFailures).toEqual([]);

    const lakeKeys = (await listKeys(aws.clients.s3, aws.resources.bucket, "lake/stock_quotes/")).filter(
      (k) => k.includes("shardId-000000000009"),
    );
    const stored = (
      await Promise.all(
        lakeKeys.map(async (k) =>
          parquetEnvelopes("stock_quotes", await getBytes(aws.clients.s3, aws.resources.bucket, k)),
        ),
      )
    ).flat();
    expect(stored).toEqual(valid);

    const quarantineKeys = (
      await listKeys(aws.clients.s3, aws.resources.bucket, "quarantine/stock_quotes/")
    ).filter((k) => k.includes("shardId-000000000009"));
    const entries = (
      await Promise.all(
        quarantineKeys.map(async (k) =>
          gunzipSync(await getBytes(aws.clients.s3, aws.resources.bucket, k))
            .toString()
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l)),
        ),
      )
    ).flat();
    expect(entries.map((e) => e.raw.text)).toEqual(invalid);
    for (const entry of entries) {
      expect(entry.violations).toEqual([
        { field: "data.ask", value: 9, rule: "custom: must be greater than bid" },
      ]);
    }
  });

  it("quarantines a body that is not a packed message, with the reason, without failing it", async () => {
    const response = await handlerWith()({
      Records: [sqsRecord("definitely not a packed message", "m-junk", AT)],
    });
    expect(response.batchItemFailures).toEqual([]);
    const key = "quarantine/_unrecognised/dt=2026-11-26/hour=10/sqs-m-junk.jsonl.gz";
    const entry = JSON.parse(
      gunzipSync(await getBytes(aws.clients.s3, aws.resources.bucket, key)).toString(),
    );
    expect(entry.reason).toBe("invalid_message");
    expect(entry.raw).toBe("definitely not a packed message");
    expect(entry.violations[0].rule).toMatch(/^SQS message body is not JSON/);
  });
});
