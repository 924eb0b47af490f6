/**
 * `ticklake replay`, from the command line, against a running local pipeline: objects lost
 * from the lake come back under their own keys, records never stored are stored once, and a
 * second replay changes nothing. Counts are exact, in the lake and in the tables as pyiceberg
 * reads them.
 */
import { PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { DeleteObjectCommand } from "@aws-sdk/client-s3";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Envelope } from "../../src/core/events.ts";
import { storedRangeOf } from "../../src/core/replay.ts";
import { resourceSpec } from "../../src/core/spec.ts";
import { runCli } from "../support/cli.ts";
import { fxQuote, httpRequest, stockQuote } from "../support/factories.ts";
import { expectTablesToHoldLake, idsByDataset } from "../support/iceberg.ts";
import { eventually, getBytes, listKeys } from "../support/local-aws.ts";
import { LocalRun } from "../support/pipeline.ts";

const VALID = 600;
const MALFORMED = 5;
const HOUR = 3_600_000;

describe("ticklake replay", () => {
  let run: LocalRun;

  beforeAll(async () => {
    // A commit interval of 1 s: each drain waits for the last commit.
    run = await LocalRun.start(resourceSpec({ commitIntervalSeconds: 1 }));
  });
  afterAll(async () => {
    await run.stop();
  });

  const bucket = () => run.pipeline.resources.bucket;
  const keys = (prefix = "") => listKeys(run.pipeline.clients.s3, bucket(), prefix);
  const replay = (fromIso: string) =>
    runCli(["--state-dir", run.dir, "replay", "--from", fromIso, "--to", new Date().toISOString()]);
  const numberAfter = (text: string, label: RegExp) => Number(label.exec(text)?.[1]);

  it("restores lost objects at their keys, stores missing records once, and is idempotent", {
    timeout: 120_000,
  }, async () => {
    const from = new Date(Date.now() - 1_000).toISOString();
    // In the second half, event times alternate between two hours: those messages are stored
    // as two objects each.
    const now = Date.now();
    const makers = [fxQuote, stockQuote, httpRequest] as const;
    const envelopes: Envelope[] = Array.from({ length: VALID }, (_, i) =>
      (makers[i % 3] as (atMs: number) => Envelope)(now - (i < VALID / 2 ? 0 : i % 2) * HOUR + i),
    );
    const texts = [
      ...envelopes.map((e) => JSON.stringify(e)),
      ...Array.from({ length: MALFORMED }, (_, i) => `{"broken": ${i}`),
    ];
    // Two rounds, each stored before the next: the first round's messages hold one hour each.
    const put = async (batch: string[], offset: number) => {
      for (let i = 0; i < batch.length; i += 101) {
        const answer = await run.pipeline.clients.kinesis.send(
          new PutRecordsCommand({
            StreamName: run.pipeline.streamName,
            Records: batch.slice(i, i + 101).map((text, j) => ({
              Data: Buffer.from(text),
              PartitionKey: `key-${(offset + i + j) % 7}`,
            })),
          }),
        );
        expect(answer.FailedRecordCount).toBe(0);
      }
    };
    await put(texts.slice(0, VALID / 2), 0);
    await eventually(
      async () => ((await run.lakeRows()).length === VALID / 2 ? true : undefined),
      30_000,
      "the first round in the lake",
    );
    await put(texts.slice(VALID / 2), VALID / 2);
    await eventually(
      async () => ((await run.lakeRows()).length === VALID ? true : undefined),
      30_000,
      "the records in the lake",
    );
    expect(await run.pipeline.drain(30_000)).toBe(true);
    const storedKeys = await keys();
    const quarantineKeys = await keys("quarantine/");
    expect(
      quarantineKeys.length,
      JSON.stringify({ tally: run.pipeline.notifications.tally, keys: storedKeys.length }),
    ).toBeGreaterThan(0);

    // Lose objects: one hour of a message stored over two hours, and every object of another.
    const byMessage = new Map<string, string[]>();
    for (const key of storedKeys.filter((k) => k.startsWith("lake/"))) {
      const range = storedRangeOf(key);
      const id = `${range?.shardId}/${range?.dataset}/${range?.firstSeq}`;
      byMessage.set(id, [...(byMessage.get(id) ?? []), key]);
    }
    const split = [...byMessage.values()].find((list) => list.length === 2) as string[];
    const whole = [...byMessage.values()].find((list) => list.length === 1) as string[];
    const partLost = split[1] as string;
    const partLostBytes = await getBytes(run.pipeline.clients.s3, bucket(), partLost);
    const lostRows = (await run.lakeRows()).filter((row) => row.key === partLost || whole.includes(row.key));
    for (const key of [partLost, ...whole]) {
      await run.pipeline.clients.s3.send(new DeleteObjectCommand({ Bucket: bucket(), Key: key }));
    }
    const wholeRecords = lostRows.filter((row) => whole.includes(row.key)).length;
    expect((await run.lakeRows()).length).toBe(VALID - lostRows.length);

    const first = await replay(from);
    expect(first.code, first.stderr).toBe(0);
    expect(numberAfter(first.stdout, /: (\d+) records read/)).toBe(VALID + MALFORMED);
    expect(numberAfter(first.stdout, /(\d+) missing/)).toBe(wholeRecords);
    expect(numberAfter(first.stdout, /(\d+) already in the lake/)).toBe(VALID + MALFORMED - wholeRecords);
    expect(numberAfter(first.stdout, /(\d+) skipped/)).toBe(0);

    await eventually(
      async () => ((await run.lakeRows()).length === VALID ? true : undefined),
      30_000,
      "the lost records back in the lake",
    );
    expect(await run.pipeline.drain(30_000)).toBe(true);
    // The partly lost message's object is back, byte for byte, under its own key.
    expect(await getBytes(run.pipeline.clients.s3, bucket(), partLost)).toEqual(partLostBytes);
    const afterFirst = await keys();
    expect(afterFirst).toContain(partLost);
    // The wholly lost message came back under new keys: one object more or less, never a copy.
    const rows = await run.lakeRows();
    expect(rows).toHaveLength(VALID);
    expect(new Set(rows.map((row) => row.event.id)).size).toBe(VALID);
    expect(rows.map((row) => row.event).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [...envelopes].sort((a, b) => a.id.localeCompare(b.id)),
    );
    expect(await keys("quarantine/")).toEqual(quarantineKeys);

    // A second replay finds everything stored: no new object, no copy.
    const second = await replay(from);
    expect(second.code, second.stderr).toBe(0);
    expect(numberAfter(second.stdout, /(\d+) missing/)).toBe(0);
    expect(numberAfter(second.stdout, /(\d+) already in the lake/)).toBe(VALID + MALFORMED);
    expect(await run.pipeline.drain(30_000)).toBe(true);
    expect(await keys()).toEqual(afterFirst);
    expect(await run.lakeRows()).toHaveLength(VALID);

    // The tables were committed before the objects were lost, and every replayed object was
    // announced again: pyiceberg reads exactly the valid records, from exactly the lake's
    // objects, the restored ones included, each once; and no append added a record twice.
    await expectTablesToHoldLake(run.pipeline, idsByDataset(envelopes), afterFirst);
    expect((await run.pipeline.counts()).committed).toBe(VALID);
  });

  it("refuses while the DLQ holds messages, and names its options' mistakes", async () => {
    const bad = await runCli(["--state-dir", run.dir, "replay", "--from", "yesterday"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--from must be an ISO-8601 time with a zone");
    expect(bad.stderr).toContain('(got "yesterday")');
    const backwards = await runCli(["--state-dir", run.dir, "replay", "--from", "1m", "--to", "2m"]);
    expect(backwards.code).toBe(2);
    expect(backwards.stderr).toContain("--from must be before --to");

    await run.pipeline.clients.sqs.send(
      new SendMessageCommand({ QueueUrl: run.pipeline.resources.dlqUrl, MessageBody: "parked" }),
    );
    const refused = await runCli(["--state-dir", run.dir, "replay", "--from", "5m"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("the DLQ holds 1 messages: run `ticklake redrive` first");
  });
});
