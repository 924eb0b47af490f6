/**
 * The committer function on the embedded emulators: the processor's announcements, delivered
 * through a real queue, committed so that each file is in its table once whatever the delivery
 * does (a batch that comes back after a crash between commit and acknowledgement, two
 * committers racing on overlapping batches), read back by pyiceberg (DESIGN §10), and each
 * commit announced by one "table updated" notification on a real topic.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { CreateTopicCommand, SubscribeCommand } from "@aws-sdk/client-sns";
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { putObjectIfAbsent } from "../../src/aws/lake.ts";
import { publishTableUpdate, tableDeps } from "../../src/aws/tables.ts";
import { DATASET_OF, type Dataset, type Envelope } from "../../src/core/events.ts";
import { TableUpdated } from "../../src/core/iceberg/table-updated.ts";
import { packRecords } from "../../src/core/packing.ts";
import { manifestFor, type ObjectManifest, planObjects } from "../../src/core/planning.ts";
import { makeCommitterHandler } from "../../src/functions/committer.ts";
import { localClients } from "../../src/local/pipeline.ts";
import { toEventRecord } from "../../src/local/sqs-source.ts";
import { fxQuote, stockQuote } from "../support/factories.ts";
import { checkTables, localTables } from "../support/iceberg.ts";

const BUCKET = "committer-test";
const NAMESPACE = "committer_test";
const QUEUE_ARN = (name: string) => `arn:aws:sqs:us-east-1:000000000000:${name}`;
const tables = localTables(BUCKET);

let sequence = 1n;
/** Lake objects as the processor writes them (one packed message), and their manifests. */
async function writeLake(events: readonly Envelope[], shardId: string): Promise<ObjectManifest[]> {
  const records = events.map((event) => ({
    sequenceNumber: `4959${String(sequence++).padStart(52, "0")}`,
    partitionKey: "k",
    arrivalMs: Date.parse(event.ts),
    data: Buffer.from(JSON.stringify(event)),
  }));
  const manifests: ObjectManifest[] = [];
  for (const message of packRecords(records, {
    stream: "ticklake-test",
    shardId,
    maxMessageBytes: 1_048_576,
  })) {
    for (const plan of planObjects(message)) {
      await putObjectIfAbsent(tables.s3, BUCKET, plan);
      manifests.push(manifestFor(plan, BUCKET, message));
    }
  }
  return manifests;
}

async function receiveAll(sqs: SQSClient, url: string, count: number): Promise<Message[]> {
  const messages: Message[] = [];
  for (let tries = 0; messages.length < count && tries < 50; tries++) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ["All"],
      }),
    );
    messages.push(...Messages);
  }
  return messages;
}

/** A queue named `name` holding one message per announcement; its URL. */
async function queueOf(
  sqs: SQSClient,
  name: string,
  announcements: readonly object[],
  attributes: Record<string, string> = {},
): Promise<string> {
  const { QueueUrl: url = "" } = await sqs.send(
    new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
  );
  await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: url,
      Entries: announcements.map((m, i) => ({ Id: String(i), MessageBody: JSON.stringify(m) })),
    }),
  );
  return url;
}

const eventOf = (messages: Message[], queue: string): SQSEvent => ({
  Records: messages.map((message) =>
    toEventRecord(message, { queueArn: QUEUE_ARN(queue), region: "us-east-1" }),
  ),
});

describe("committer function", () => {
  let clients: ReturnType<typeof localClients>;
  let topicArn: string;
  let updatesUrl: string;
  const publishToTopic = (update: TableUpdated) => publishTableUpdate(clients.sns, topicArn, update);
  /** A committer as a fresh Lambda execution environment would build it. */
  const committer = (options: { namespace?: string; publish?: typeof publishToTopic } = {}) =>
    makeCommitterHandler({
      tables: tableDeps(clients, {
        catalog: "local",
        warehouse: `s3://${BUCKET}/tables`,
        namespace: options.namespace ?? NAMESPACE,
      }),
      publish: options.publish ?? publishToTopic,
      publishAttempts: 2,
      logger: new Logger({ logLevel: "SILENT" }),
      metrics: new Metrics({ namespace: "committer-test", serviceName: "committer" }),
    });
  const location = (dataset: Dataset, namespace = NAMESPACE) =>
    `s3://${BUCKET}/tables/${namespace}/${dataset}`;
  const updates = async (expected: number): Promise<TableUpdated[]> =>
    (await receiveAll(clients.sqs, updatesUrl, expected)).map((m) =>
      TableUpdated.parse(JSON.parse(m.Body ?? "")),
    );

  beforeAll(async () => {
    clients = localClients(tables.emulators.endpoints);
    ({ TopicArn: topicArn = "" } = await clients.sns.send(
      new CreateTopicCommand({ Name: "committer-test" }),
    ));
    ({ QueueUrl: updatesUrl = "" } = await clients.sqs.send(
      new CreateQueueCommand({ QueueName: "updates" }),
    ));
    await clients.sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: "sqs",
        Endpoint: QUEUE_ARN("updates"),
        Attributes: { RawMessageDelivery: "true", FilterPolicy: JSON.stringify({ kind: ["table"] }) },
      }),
    );
  });

  it("commits each file once when the batch comes back after a crash between commit and acknowledgement", async () => {
    // GIVEN the announcements of two datasets' files in the committer's queue (visibility 1 s)
    const now = Date.now();
    const events = Array.from({ length: 40 }, (_, i) => (i % 2 ? fxQuote(now + i) : stockQuote(now + i)));
    const manifests = await writeLake(events, "shardId-000000000000");
    const url = await queueOf(clients.sqs, "crash", manifests, { VisibilityTimeout: "1" });
    // WHEN a committer commits the batch and its environment dies before deleting the messages,
    const first = await receiveAll(clients.sqs, url, manifests.length);
    expect(await committer()(eventOf(first, "crash"))).toEqual({ batchItemFailures: [] });
    // and a new environment receives the same messages again
    const again = await receiveAll(clients.sqs, url, manifests.length);
    expect(again.map((m) => m.MessageId).sort()).toEqual(first.map((m) => m.MessageId).sort());
    expect(await committer()(eventOf(again, "crash"))).toEqual({ batchItemFailures: [] });

    // THEN pyiceberg reads each table with exactly its records, each file once, one snapshot
    const [fx, stocks] = await checkTables(tables.emulators.endpoints.s3, [
      { location: location("fx_quotes") },
      { location: location("stock_quotes") },
    ]);
    for (const [table, dataset] of [
      [fx, "fx_quotes"],
      [stocks, "stock_quotes"],
    ] as const) {
      const expected = events.filter((e) => DATASET_OF[e.type] === dataset).map((e) => e.id);
      expect(table?.ids.sort()).toEqual(expected.sort());
      expect(table?.snapshots).toHaveLength(1);
      const paths = table?.files.map((f) => f.path) ?? [];
      expect(new Set(paths).size).toBe(paths.length);
    }
    // … and each table's snapshot was announced by its commit and again, identically, by the
    // batch that came back: a crash right after the commit would have left it unannounced
    const published = await updates(4);
    expect(published.map((u) => [u.table, u.operation, u.records]).sort()).toEqual([
      ["fx_quotes", "append", 20],
      ["fx_quotes", "append", 20],
      ["stock_quotes", "append", 20],
      ["stock_quotes", "append", 20],
    ]);
    const fxUpdates = published.filter((u) => u.table === "fx_quotes");
    expect(fxUpdates[0]?.snapshotId).toBe(fx?.current_snapshot);
    expect(fxUpdates[1]).toEqual(fxUpdates[0]);
  });

  it("returns a table's announcements when its notification cannot be published, and their redelivery announces the snapshot", async () => {
    // GIVEN the announcements of two datasets' files in the committer's queue (visibility 1 s)
    const namespace = "committer_publish";
    const now = Date.now();
    const events = Array.from({ length: 20 }, (_, i) => (i % 2 ? fxQuote(now + i) : stockQuote(now + i)));
    const manifests = await writeLake(events, "shardId-000000000000");
    const url = await queueOf(clients.sqs, "unpublished", manifests, { VisibilityTimeout: "1" });
    const first = await receiveAll(clients.sqs, url, manifests.length);
    const fxMessages = first.filter((m) => JSON.parse(m.Body ?? "").dataset === "fx_quotes");
    expect(fxMessages.length).toBeGreaterThan(0);
    expect(fxMessages.length).toBeLessThan(first.length);

    // WHEN the topic refuses every fx_quotes notification while the batch is committed
    const refusing = committer({
      namespace,
      publish: (update) =>
        update.table === "fx_quotes"
          ? Promise.reject(new Error("topic unavailable"))
          : publishToTopic(update),
    });
    const result = await refusing(eventOf(first, "unpublished"));

    // THEN both tables are committed, only fx_quotes' messages come back, and only stock_quotes' snapshot was announced
    expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      fxMessages.map((m) => m.MessageId).sort(),
    );
    const [stocksAnnounced] = await updates(1);
    expect(stocksAnnounced?.table).toBe("stock_quotes");
    const [fx] = await checkTables(tables.emulators.endpoints.s3, [
      { location: location("fx_quotes", namespace) },
    ]);
    expect(fx?.snapshots).toHaveLength(1);

    // WHEN the event source deletes the rest, and the fx_quotes messages come back to a
    // committer whose topic works
    const done = first.filter((m) => !fxMessages.includes(m));
    await clients.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    const again = await receiveAll(clients.sqs, url, fxMessages.length);
    expect(again.map((m) => m.MessageId).sort()).toEqual(fxMessages.map((m) => m.MessageId).sort());
    expect(await committer({ namespace })(eventOf(again, "unpublished"))).toEqual({ batchItemFailures: [] });

    // THEN the snapshot that committed them is announced, with all its records, and nothing is committed again
    const [fxAnnounced] = await updates(1);
    expect(fxAnnounced).toMatchObject({
      table: "fx_quotes",
      snapshotId: fx?.current_snapshot,
      records: events.filter((e) => DATASET_OF[e.type] === "fx_quotes").length,
    });
    const [fxAfter] = await checkTables(tables.emulators.endpoints.s3, [
      { location: location("fx_quotes", namespace) },
    ]);
    expect(fxAfter?.snapshots).toHaveLength(1);
    expect(fxAfter?.ids.sort()).toEqual(
      events
        .filter((e) => DATASET_OF[e.type] === "fx_quotes")
        .map((e) => e.id)
        .sort(),
    );
  });

  it("commits each file once when two committers race on overlapping batches", async () => {
    // GIVEN three sets of announcements of one table, from two shards
    const now = Date.now();
    const [a, b, c] = await Promise.all(
      [0, 1, 2].map((k) =>
        writeLake(
          Array.from({ length: 10 }, (_, i) => fxQuote(now + 1_000 * k + i)),
          `shardId-00000000000${k % 2}`,
        ),
      ),
    );
    const all = [...(a ?? []), ...(b ?? []), ...(c ?? [])];
    const url = await queueOf(clients.sqs, "race", all);
    const messages = await receiveAll(clients.sqs, url, all.length);
    const byKey = new Map(messages.map((m) => [(JSON.parse(m.Body ?? "") as ObjectManifest).key, m]));
    const batch = (manifests: ObjectManifest[]) => manifests.map((m) => byKey.get(m.key) as Message);
    const before = (
      await checkTables(tables.emulators.endpoints.s3, [{ location: location("fx_quotes") }])
    )[0];

    // WHEN two committers commit a+b and b+c at the same time
    const results = await Promise.all([
      committer()(eventOf(batch([...(a ?? []), ...(b ?? [])]), "race")),
      committer()(eventOf(batch([...(b ?? []), ...(c ?? [])]), "race")),
    ]);

    // THEN both succeed, and the table holds a, b and c once each on top of what it held
    expect(results).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    const [after] = await checkTables(tables.emulators.endpoints.s3, [{ location: location("fx_quotes") }]);
    const added = (after?.ids ?? []).filter((id) => !before?.ids.includes(id));
    expect(added).toHaveLength(30);
    expect(new Set(after?.ids).size).toBe(after?.ids.length);
    const paths = after?.files.map((f) => f.path) ?? [];
    expect(new Set(paths).size).toBe(paths.length);
    // Two snapshots at most, adding 30 records in all (the loser commits only what the winner did
    // not, and may announce the winner's snapshot again: subscribers deduplicate on its id).
    const published = new Map<string, TableUpdated>();
    const recordsPublished = () => [...published.values()].reduce((sum, u) => sum + u.records, 0);
    for (let tries = 0; tries < 5 && recordsPublished() < 30; tries++) {
      for (const update of await updates(1)) published.set(update.snapshotId, update);
    }
    expect(published.size).toBeLessThanOrEqual(2);
    expect(recordsPublished()).toBe(30);
    // Anything left is one of those snapshots again; the next test finds the queue empty.
    const { Messages: rest = [] } = await clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: updatesUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    for (const message of rest) {
      expect(published.has(TableUpdated.parse(JSON.parse(message.Body ?? "")).snapshotId)).toBe(true);
    }
  });

  it("refuses an announcement no retry can commit (a quarantine object) without holding back the rest", async () => {
    // GIVEN a batch with a lake file and a quarantine object's announcement
    const manifests = await writeLake([fxQuote(Date.now())], "shardId-000000000000");
    const quarantine = { ...manifests[0], kind: "quarantine", key: "quarantine/x.ndjson.gz" };
    const url = await queueOf(clients.sqs, "mixed", [...manifests, quarantine]);
    const messages = await receiveAll(clients.sqs, url, manifests.length + 1);
    // WHEN the committer gets it
    const result = await committer()(eventOf(messages, "mixed"));
    // THEN no message comes back (the refused one would never succeed) and the lake file is committed
    expect(result).toEqual({ batchItemFailures: [] });
    const published = await updates(1);
    expect(published.map((u) => u.files.map((f) => f.path))).toEqual([
      manifests.map((m) => `s3://${BUCKET}/${m.key}`),
    ]);
  });
});
