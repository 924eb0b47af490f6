/**
 * `ticklake redrive`, from the command line, against a running local pipeline: packed messages
 * parked in the DLQ go back to the queue and their records reach the lake and the tables,
 * exactly, also those of messages stored before they were parked.
 */
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queueDepth } from "../../src/aws/pipeline-view.ts";
import { packRecords } from "../../src/core/packing.ts";
import { resourceSpec } from "../../src/core/spec.ts";
import { runCli } from "../support/cli.ts";
import { stockQuote, streamRecords } from "../support/factories.ts";
import { expectTablesToHoldLake, idsByDataset } from "../support/iceberg.ts";
import { eventually, listKeys } from "../support/local-aws.ts";
import { LocalRun } from "../support/pipeline.ts";

describe("ticklake status and redrive", () => {
  let run: LocalRun;

  beforeAll(async () => {
    // A commit interval of 1 s: each drain waits for the last commit.
    run = await LocalRun.start(resourceSpec({ commitIntervalSeconds: 1 }));
  });
  afterAll(async () => {
    await run.stop();
  });

  it("moves every DLQ message back, and their records are stored exactly once", {
    timeout: 90_000,
  }, async () => {
    const now = Date.now();
    const envelopes = Array.from({ length: 120 }, (_, i) =>
      stockQuote(now + i, ["AAPL", "MSFT", "NVDA"][i % 3]),
    );
    // 12 packed messages of 10 records (distinct sequence numbers), as if each had failed five times.
    const records = streamRecords(
      envelopes.map((e) => JSON.stringify(e)),
      now,
    );
    const bodies = Array.from({ length: 12 }, (_, m) =>
      packRecords(records.slice(m * 10, m * 10 + 10), {
        stream: run.pipeline.resources.streamName,
        shardId: "shardId-000000000000",
        maxMessageBytes: 1_048_576,
      }).map((message) => JSON.stringify(message)),
    ).flat();
    const sendAll = async (queueUrl: string, list: string[]) => {
      for (let i = 0; i < list.length; i += 10) {
        await run.pipeline.clients.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: list.slice(i, i + 10).map((body, j) => ({ Id: String(j), MessageBody: body })),
          }),
        );
      }
    };
    // Two were stored, announced and committed before they were parked, as when the processor
    // wrote and announced them but never acknowledged: their redrive announces them again.
    const storedEarlier = bodies.slice(0, 2);
    await sendAll(run.pipeline.resources.queueUrl, storedEarlier);
    expect(await run.pipeline.drain(30_000)).toBe(true);
    const recordsOf = (list: string[]) =>
      list.reduce((sum, body) => sum + (JSON.parse(body) as { records: unknown[] }).records.length, 0);
    expect((await run.pipeline.counts()).committed).toBe(recordsOf(storedEarlier));
    await sendAll(run.pipeline.resources.dlqUrl, bodies);
    expect((await queueDepth(run.pipeline.clients, run.pipeline.resources.dlqUrl)).visible).toBe(
      bodies.length,
    );

    // `status` reports the DLQ and says so in its exit code.
    const before = await runCli(["--state-dir", run.dir, "status", "--json"]);
    expect(before.code).toBe(1);
    expect(JSON.parse(before.stdout).dlq).toEqual({ visible: bodies.length, inFlight: 0 });

    const { code, stdout } = await runCli(["--state-dir", run.dir, "redrive"]);
    expect(code).toBe(0);
    expect(stdout).toContain(
      `moved ${bodies.length} messages from the DLQ back to the queue; 0 could not be sent`,
    );
    expect(await queueDepth(run.pipeline.clients, run.pipeline.resources.dlqUrl)).toEqual({
      visible: 0,
      inFlight: 0,
    });

    const stored = await eventually(
      async () => {
        const rows = await run.lakeRows();
        return rows.length === envelopes.length ? rows : undefined;
      },
      30_000,
      "the redriven records in the lake",
    );
    expect(stored.map((r) => r.event).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [...envelopes].sort((a, b) => a.id.localeCompare(b.id)),
    );
    // Once the committer is done, pyiceberg reads exactly those records, from exactly the
    // lake's objects, each once: the two stored earlier were not committed again.
    expect(await run.pipeline.drain(30_000)).toBe(true);
    const lakeKeys = await listKeys(run.pipeline.clients.s3, run.pipeline.resources.bucket, "lake/");
    await expectTablesToHoldLake(run.pipeline, idsByDataset(envelopes), lakeKeys);
    expect((await run.pipeline.counts()).committed).toBe(envelopes.length);

    const after = await runCli(["--state-dir", run.dir, "status", "--json"]);
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({
      dlq: { visible: 0, inFlight: 0 },
      quarantineObjects: 0,
    });
    expect(JSON.parse(after.stdout).lakeObjects).toBe(
      (await listKeys(run.pipeline.clients.s3, run.pipeline.resources.bucket, "lake/")).length,
    );
  });
});
