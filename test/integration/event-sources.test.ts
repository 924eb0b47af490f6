/**
 * The local event sources against the real emulators: partial batch failures and the
 * redrive policy for SQS; retry-before-read-on and checkpoints for Kinesis.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  PutRecordsCommand,
} from "@aws-sdk/client-kinesis";
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AwsClients } from "../../src/aws/clients.ts";
import { sleep } from "../../src/core/backoff.ts";
import { CheckpointStore } from "../../src/local/checkpoints.ts";
import type { RunningEmulators } from "../../src/local/emulators.ts";
import { FunctionPool } from "../../src/local/function-pool.ts";
import { KinesisSource, type KinesisSourceOptions } from "../../src/local/kinesis-source.ts";
import { localClients } from "../../src/local/pipeline.ts";
import { ensureStream } from "../../src/local/provisioner.ts";
import { SqsSource } from "../../src/local/sqs-source.ts";
import { emulatorsIn, eventually, tempStateDir } from "../support/local-aws.ts";

const FIXTURES = new URL("../fixtures/functions.ts", import.meta.url);

describe("local event sources", () => {
  let state: Awaited<ReturnType<typeof tempStateDir>>;
  let emulators: RunningEmulators;
  let clients: AwsClients;

  beforeAll(async () => {
    state = await tempStateDir();
    emulators = await emulatorsIn(state.dir);
    clients = localClients(emulators.endpoints);
  });
  afterAll(async () => {
    clients.destroy();
    await emulators.stop();
    await state.remove();
  });

  const depth = async (queueUrl: string) => {
    const { Attributes = {} } = await clients.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    return (
      Number(Attributes.ApproximateNumberOfMessages) +
      Number(Attributes.ApproximateNumberOfMessagesNotVisible)
    );
  };

  it("SQS: deletes what succeeded, and a message failed on every receive ends in the DLQ", async () => {
    const dlq = await clients.sqs.send(new CreateQueueCommand({ QueueName: "es-dlq" }));
    const dlqArn = "arn:aws:sqs:us-east-1:000000000000:es-dlq";
    const queue = await clients.sqs.send(
      new CreateQueueCommand({
        QueueName: "es-main",
        Attributes: {
          VisibilityTimeout: "1",
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }),
        },
      }),
    );
    const queueUrl = queue.QueueUrl ?? "";
    await clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: ["a", "b", "poison", "c"].map((body, i) => ({ Id: String(i), MessageBody: body })),
      }),
    );
    const pool = new FunctionPool({
      functionName: "p",
      moduleUrl: FIXTURES,
      exportName: "rejectPoison",
      env: {},
      size: 2,
      timeoutMs: 5_000,
    });
    const source = new SqsSource({
      sqs: clients.sqs,
      queueUrl,
      queueArn: "arn:aws:sqs:us-east-1:000000000000:es-main",
      region: "us-east-1",
      pool,
      batchSize: 10,
      maxBatchingWindowMs: 200,
      concurrency: 2,
    });
    source.start();
    try {
      await eventually(
        async () => ((await depth(dlq.QueueUrl ?? "")) === 1 ? true : undefined),
        20_000,
        "the poison message in the DLQ",
      );
      expect(await depth(queueUrl)).toBe(0);
      expect(source.stats.messagesDeleted).toBe(3);
      // Received once per allowed receive, failed each time.
      expect(source.stats.messagesFailed).toBe(2);
    } finally {
      await source.stop();
      await pool.close();
    }
  });

  it("Kinesis: retries a failed batch before reading on, and resumes after its checkpoint", async () => {
    await clients.kinesis.send(new CreateStreamCommand({ StreamName: "es-stream", ShardCount: 1 }));
    const { StreamDescriptionSummary: summary } = await clients.kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: "es-stream" }),
    );
    const put = (from: number, count: number) =>
      clients.kinesis.send(
        new PutRecordsCommand({
          StreamName: "es-stream",
          Records: Array.from({ length: count }, (_, i) => ({
            PartitionKey: "k",
            Data: Buffer.from(String(from + i)),
          })),
        }),
      );
    const first = await put(0, 30);
    const logFile = join(state.dir, "batches.log");
    const checkpoints = new CheckpointStore(join(state.dir, "es-checkpoints.json"));
    await checkpoints.load();
    const run = async (expectedRecords: number) => {
      const pool = new FunctionPool({
        functionName: "b",
        moduleUrl: FIXTURES,
        exportName: "failOnceThenRecord",
        env: { LOG_FILE: logFile },
        size: 1,
        timeoutMs: 5_000,
      });
      const source = new KinesisSource({
        kinesis: clients.kinesis,
        streamName: "es-stream",
        streamArn: summary?.StreamARN ?? "",
        region: "us-east-1",
        pool,
        checkpoints,
        batchSize: 10,
        maxBatchingWindowMs: 0,
        idlePollMs: 50,
      });
      const startedAt = Date.now();
      await source.start();
      await eventually(
        async () =>
          source.stats.recordsDelivered === expectedRecords && source.caughtUpSince(startedAt)
            ? true
            : undefined,
        20_000,
        "delivery",
      );
      await source.stop();
      await pool.close();
      return source.stats;
    };

    const stats = await run(30);
    expect(stats.failedInvocations).toBe(1);
    const delivered = () =>
      readFileSync(logFile, "utf8")
        .trim()
        .split("\n")
        .flatMap((line) => JSON.parse(line) as string[]);
    expect(delivered()).toEqual(first.Records?.map((r) => r.SequenceNumber));

    // A new source with the same checkpoint store delivers only what came after.
    const second = await put(30, 5);
    const restarted = await run(5);
    expect(restarted.recordsRead).toBe(5);
    expect(delivered()).toEqual(
      [...(first.Records ?? []), ...(second.Records ?? [])].map((r) => r.SequenceNumber),
    );
  });

  /**
   * A one-shard stream holding `records` records, and a source over it that invokes the
   * `countRecords` fixture, with `options` for its window.
   */
  async function windowedSource(
    name: string,
    records: number,
    options: Pick<KinesisSourceOptions, "maxBatchingWindowMs" | "idlePollMs" | "now">,
  ) {
    await ensureStream(clients.kinesis, name, 1);
    await clients.kinesis.send(
      new PutRecordsCommand({
        StreamName: name,
        Records: Array.from({ length: records }, (_, i) => ({
          PartitionKey: "k",
          Data: Buffer.from(String(i)),
        })),
      }),
    );
    const pool = new FunctionPool({
      functionName: name,
      moduleUrl: FIXTURES,
      exportName: "countRecords",
      env: {},
      size: 1,
      timeoutMs: 5_000,
    });
    const checkpoints = new CheckpointStore(join(state.dir, `${name}-checkpoints.json`));
    await checkpoints.load();
    const source = new KinesisSource({
      kinesis: clients.kinesis,
      streamName: name,
      streamArn: `arn:aws:kinesis:us-east-1:000000000000:stream/${name}`,
      region: "us-east-1",
      pool,
      checkpoints,
      batchSize: 100,
      ...options,
    });
    await source.start();
    const close = async () => {
      await source.stop();
      await pool.close();
    };
    return { source, close };
  }

  /** Waits for the source to deliver `count` records, and checks that it took one invocation. */
  async function deliveredInOneInvocation(source: KinesisSource, count: number): Promise<void> {
    await eventually(
      async () => (source.stats.recordsDelivered === count ? true : undefined),
      20_000,
      `the ${count} records delivered`,
    );
    expect(source.stats.invocations).toBe(1);
  }

  it("Kinesis: times the window from a record's arrival in the stream, not from its read", async () => {
    const windowMs = 60_000;
    const { source, close } = await windowedSource("es-arrival", 2, {
      maxBatchingWindowMs: windowMs,
      // The source's clock runs a window ahead of the stream's: the records, put just now,
      // have waited a whole window by it when they are first read.
      now: () => Date.now() + windowMs,
    });
    try {
      // Timed from the read, the window would hold them for another minute.
      await deliveredInOneInvocation(source, 2);
    } finally {
      await close();
    }
  });

  it("Kinesis: delivers a partial batch when its window closes, not at the next idle poll", async () => {
    const { source, close } = await windowedSource("es-window", 3, {
      maxBatchingWindowMs: 300,
      // An idle pause three times longer than the test waits for the delivery, which must not
      // wait for it (the stop at the end ends the pause).
      idlePollMs: 60_000,
    });
    try {
      await deliveredInOneInvocation(source, 3);
      // The stop does not wait out the idle pause either.
      const stop = await Promise.race([
        source.stop().then(() => "stopped"),
        sleep(20_000).then(() => "still pausing"),
      ]);
      expect(stop).toBe("stopped");
    } finally {
      await close();
    }
  });
});
