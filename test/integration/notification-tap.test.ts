/**
 * The notification tap against the local SNS and SQS: it counts each object and each snapshot
 * once however often SNS delivers them, tells its listeners once, and keeps only the lake
 * objects whose append has not been announced yet, not the run's history.
 */
import { describe, expect, it } from "vitest";
import { publishManifest } from "../../src/aws/lake.ts";
import { NotificationTap, RecentKeys } from "../../src/aws/notifications.ts";
import { publishTableUpdate } from "../../src/aws/tables.ts";
import { dataFilePathOf } from "../../src/core/iceberg/commit.ts";
import type { TableUpdated } from "../../src/core/iceberg/table-updated.ts";
import { packRecords } from "../../src/core/packing.ts";
import { manifestFor, type ObjectManifest, planObjects } from "../../src/core/planning.ts";
import { fxQuote, streamRecords } from "../support/factories.ts";
import { provisionedAws } from "../support/local-aws.ts";

const AT = Date.UTC(2026, 10, 26, 10, 15);

/** The manifest of one lake object of `count` FX quotes, from shard `shardId`. */
function lakeManifest(bucket: string, shardId: string, count: number): ObjectManifest {
  const texts = Array.from({ length: count }, (_, i) => JSON.stringify(fxQuote(AT + i)));
  const [message] = packRecords(streamRecords(texts, AT), {
    stream: "s",
    shardId,
    maxMessageBytes: 1_048_576,
  });
  if (!message) throw new Error("nothing packed");
  const [plan] = planObjects(message);
  if (!plan) throw new Error("nothing planned");
  return manifestFor(plan, bucket, message);
}

function appendOf(manifests: readonly ObjectManifest[], snapshotId: string): TableUpdated {
  return {
    v: 1,
    kind: "table",
    table: "fx_quotes",
    snapshotId,
    sequenceNumber: Number(snapshotId),
    operation: "append",
    files: manifests.map((m) => ({ path: dataFilePathOf(m), records: m.records })),
    removedFiles: [],
    records: manifests.reduce((sum, m) => sum + m.records, 0),
    committedAt: new Date(AT).toISOString(),
  };
}

describe("notification tap against the local SNS and SQS", () => {
  const aws = provisionedAws("taptest");

  it("counts each object and snapshot once, tells listeners once, and keeps only objects whose append is not announced", async () => {
    const { sns, sqs } = aws.clients;
    const topic = aws.resources.topicArn;
    const [a, b, c] = [3, 5, 7].map((count, i) =>
      lakeManifest(aws.resources.bucket, `shardId-00000000000${i}`, count),
    );
    if (!a || !b || !c) throw new Error("no manifests");
    const tap = new NotificationTap(sqs, aws.resources.notificationQueueUrl);
    const heard: string[] = [];
    const committed: string[][] = [];
    tap.listen({
      manifest: ({ manifest }) => heard.push(manifest.key),
      committedFiles: (paths) => committed.push([...paths]),
    });
    const drain = async () => {
      while ((await tap.receiveOnce(0)) > 0) {}
    };

    // A twice, its append twice; C's append before C itself; B never committed.
    await publishManifest(sns, topic, a);
    await publishManifest(sns, topic, a);
    await publishManifest(sns, topic, b);
    await drain();
    await publishTableUpdate(sns, topic, appendOf([a], "1"));
    await publishTableUpdate(sns, topic, appendOf([a], "1"));
    await publishTableUpdate(sns, topic, appendOf([c], "2"));
    await drain();
    expect(tap.uncommitted().map((m) => m.key)).toEqual([b.key]);
    await publishManifest(sns, topic, c);
    await drain();

    expect(tap.tally.messages).toBe(7);
    expect(tap.tally.objects).toBe(3);
    expect(heard).toEqual([a.key, b.key, c.key]);
    expect(tap.tally.commits).toBe(2);
    expect(committed).toEqual([[dataFilePathOf(a)], [dataFilePathOf(c)]]);
    expect(tap.uncommitted().map((m) => m.key)).toEqual([b.key]);
    expect(tap.tally.storedRecords).toBe(15);
    expect(tap.tally.storedRecordsCommitted).toBe(10);
  });
});

describe("RecentKeys", () => {
  it("drops a copy of a key among the newest, and forgets the oldest beyond its capacity", () => {
    const keys = new RecentKeys(2);
    expect(keys.add("a")).toBe(true);
    expect(keys.add("b")).toBe(true);
    expect(keys.add("a")).toBe(false);
    expect(keys.add("c")).toBe(true);
    expect(keys.size).toBe(2);
    expect(keys.add("b")).toBe(false);
    expect(keys.add("a")).toBe(true);
  });
});
