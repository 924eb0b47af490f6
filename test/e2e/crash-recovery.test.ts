/**
 * The emulators keep SQS in memory. When everything dies at once (no clean stop), the packed
 * messages in the queue die too, though the bridge had checkpointed past their records. The
 * next start must notice and re-read them: nothing accepted is lost.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queueDepth } from "../../src/aws/pipeline-view.ts";
import { KinesisShipper } from "../../src/aws/shipper.ts";
import { sleep } from "../../src/core/backoff.ts";
import { resourceSpec } from "../../src/core/spec.ts";
import { fxQuote, stockQuote } from "../support/factories.ts";
import { expectTablesToHoldLake, idsByDataset } from "../support/iceberg.ts";
import { eventually, listKeys } from "../support/local-aws.ts";
import { LocalRun } from "../support/pipeline.ts";

const spec = resourceSpec({ stage: "crash" });

describe("recovery after an unclean stop", () => {
  let run: LocalRun;

  beforeAll(async () => {
    run = await LocalRun.start(spec);
  });
  afterAll(async () => {
    await run.stop();
  });

  const shipped: Array<ReturnType<typeof fxQuote>> = [];

  async function ship(count: number, offset: number) {
    const now = Date.now();
    const sent = Array.from({ length: count }, (_, i) =>
      i % 2 ? fxQuote(now + offset + i) : stockQuote(now + offset + i),
    );
    const shipper = new KinesisShipper({
      kinesis: run.pipeline.clients.kinesis,
      streamName: run.pipeline.streamName,
    });
    for (const event of sent) shipper.ship(event);
    await shipper.flush();
    shipped.push(...sent);
    return sent;
  }

  it("re-reads from the last safe point what the lost queue held, and stores every record once", async () => {
    const first = await ship(300, 0);
    expect(await run.pipeline.drain(60_000)).toBe(true);
    // A safe point is taken within a second of the queue being found empty.
    await eventually(
      async () => {
        const safe = await readFile(join(run.dir, "checkpoints.safe.json"), "utf8").catch(() => "{}");
        return Object.keys(JSON.parse(safe)).length > 0 ? true : undefined;
      },
      10_000,
      "a safe point",
    );
    await sleep(1_500);

    // The processor stops taking messages; the bridge goes on: the queue fills.
    await run.pipeline.processor.stop();
    const second = await ship(300, 10_000);
    // Marked once Kinesis holds them: a read of the tip that starts later has seen them.
    const startedAt = Date.now();
    await eventually(
      async () => (run.pipeline.bridge.caughtUpSince(startedAt) ? true : undefined),
      30_000,
      "the bridge",
    );
    expect((await queueDepth(run.pipeline.clients, run.pipeline.resources.queueUrl)).visible).toBeGreaterThan(
      0,
    );

    // Everything dies: the queue's messages with it.
    await run.pipeline.abandon();
    await run.emulators.kill();

    expect(run.notices).toEqual([]);
    await run.restart();
    expect(await run.pipeline.drain(60_000)).toBe(true);
    // Reported as what it is: information, not an error.
    expect(run.notices).toEqual([
      expect.stringMatching(/^\[recovery\] the last run did not stop cleanly: replayed [1-9]\d* records/),
    ]);

    const ids = (await run.lakeRows()).map((r) => r.event.id);
    expect(new Set(ids)).toEqual(new Set([...first, ...second].map((e) => e.id)));
    expect(ids).toHaveLength(first.length + second.length);
  }, 120_000);

  it("re-reads what the committer had not committed when the emulators died: every stored record in its table once", async () => {
    // GIVEN objects written and announced, whose announcements wait in the committer's queue
    await run.pipeline.committer.stop();
    const third = await ship(200, 20_000);
    const thirdIds = new Set(third.map((e) => e.id));
    await eventually(
      async () => {
        const stored = (await run.lakeRows()).filter((r) => thirdIds.has(r.event.id));
        return stored.length === third.length ? true : undefined;
      },
      60_000,
      "the third batch stored",
    );
    // … and time for safe points: the processor's queue is empty, the committer's is not
    await sleep(2_500);

    // WHEN everything dies, the committer's queue with it, and the pipeline starts again
    await run.pipeline.abandon();
    await run.emulators.kill();
    await run.restart();
    expect(await run.pipeline.drain(60_000)).toBe(true);

    // THEN pyiceberg reads every record stored so far in its table, each once, from the lake's objects
    const keys = await listKeys(run.pipeline.clients.s3, run.pipeline.resources.bucket, "lake/");
    await expectTablesToHoldLake(run.pipeline, idsByDataset(shipped), keys);
  }, 180_000);
});
