import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from "@aws-sdk/client-kinesis";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { resourceSpec } from "../../src/core/spec.ts";
import { provision } from "../../src/local/provisioner.ts";
import { awsCli, provisionedAws } from "../support/local-aws.ts";

describe("provisioner, checked with the AWS CLI as an independent client", () => {
  const spec = resourceSpec({ stage: "clitest" });
  const aws = provisionedAws("clitest");

  it("is idempotent: a second run finds the same resources", async () => {
    expect(await provision(aws.clients, spec)).toEqual(aws.resources);
    const { Shards = [] } = await aws.clients.kinesis.send(
      new ListShardsCommand({ StreamName: spec.stream.name }),
    );
    expect(Shards).toHaveLength(spec.stream.shardCount);
  });

  it("gives the queue its visibility timeout and a redrive policy to the DLQ", async () => {
    const { Attributes = {} } = await aws.clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: aws.resources.queueUrl, AttributeNames: ["All"] }),
    );
    expect(Attributes.VisibilityTimeout).toBe(String(spec.queue.visibilityTimeoutSeconds));
    const cliAttributes = JSON.parse(
      await awsCli(aws.emulators.endpoints.sqs, [
        "sqs",
        "get-queue-attributes",
        "--queue-url",
        aws.resources.queueUrl,
        "--attribute-names",
        "All",
      ]),
    ).Attributes;
    expect(Number(JSON.parse(cliAttributes.RedrivePolicy).maxReceiveCount)).toBe(spec.queue.maxReceiveCount);
    expect(JSON.parse(cliAttributes.RedrivePolicy).deadLetterTargetArn).toMatch(
      new RegExp(`:${spec.queue.dlqName}$`),
    );
  });

  it("S3: the CLI uploads, lists and downloads objects in the bucket", async () => {
    const endpoint = aws.emulators.endpoints.s3;
    await awsCli(
      endpoint,
      ["s3", "cp", "-", `s3://${aws.resources.bucket}/lake/news/dt=2026-11-26/hour=01/cli.txt`],
      "from the cli\n",
    );
    const listing = await awsCli(endpoint, ["s3", "ls", `s3://${aws.resources.bucket}/lake/`, "--recursive"]);
    expect(listing).toContain("lake/news/dt=2026-11-26/hour=01/cli.txt");
    const body = await awsCli(endpoint, [
      "s3",
      "cp",
      `s3://${aws.resources.bucket}/lake/news/dt=2026-11-26/hour=01/cli.txt`,
      "-",
    ]);
    expect(body).toBe("from the cli\n");
  });

  it("Kinesis: a record the CLI puts is read back by the SDK", async () => {
    const put = JSON.parse(
      await awsCli(aws.emulators.endpoints.kinesis, [
        "kinesis",
        "put-record",
        "--stream-name",
        spec.stream.name,
        "--partition-key",
        "cli",
        "--data",
        Buffer.from("cli-record").toString("base64"),
      ]),
    );
    const { ShardIterator } = await aws.clients.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: spec.stream.name,
        ShardId: put.ShardId,
        ShardIteratorType: "AT_SEQUENCE_NUMBER",
        StartingSequenceNumber: put.SequenceNumber,
      }),
    );
    const { Records = [] } = await aws.clients.kinesis.send(
      new GetRecordsCommand({ ShardIterator, Limit: 1 }),
    );
    expect(Buffer.from(Records[0]?.Data ?? []).toString()).toBe("cli-record");
  });

  it("SNS → SQS: a CLI publish reaches the subscriber queue once, raw, and the CLI receives it", async () => {
    await awsCli(aws.emulators.endpoints.sns, [
      "sns",
      "publish",
      "--topic-arn",
      aws.resources.topicArn,
      "--message",
      '{"hello":"lake"}',
    ]);
    const received = JSON.parse(
      await awsCli(aws.emulators.endpoints.sqs, [
        "sqs",
        "receive-message",
        "--queue-url",
        aws.resources.notificationQueueUrl,
        "--wait-time-seconds",
        "2",
        "--max-number-of-messages",
        "10",
      ]),
    );
    expect(received.Messages.map((m: { Body: string }) => m.Body)).toEqual(['{"hello":"lake"}']);
  });
});
