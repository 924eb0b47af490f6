/**
 * `ticklake sync`: a subscriber queue of its own on the topic, filtered on `kind`, mirrors each
 * new object to a folder, byte for byte; the CLI does the same with --backfill and --once.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ObjectSync } from "../../src/aws/object-sync.ts";
import { KinesisShipper } from "../../src/aws/shipper.ts";
import { resourceSpec } from "../../src/core/spec.ts";
import { runCli } from "../support/cli.ts";
import { fxQuote, stockQuote } from "../support/factories.ts";
import { getBytes, listKeys } from "../support/local-aws.ts";
import { LocalRun } from "../support/pipeline.ts";

// A 1 s commit interval: each drain waits for the tables' last commit, and this is not its test.
const spec = resourceSpec({ commitIntervalSeconds: 1 });

describe("ticklake sync", () => {
  let run: LocalRun;

  beforeAll(async () => {
    run = await LocalRun.start(spec);
  });
  afterAll(async () => {
    await run.stop();
  });

  async function ship(texts: string[]): Promise<void> {
    const shipper = new KinesisShipper({
      kinesis: run.pipeline.clients.kinesis,
      streamName: run.pipeline.resources.streamName,
    });
    for (const [i, text] of texts.entries()) shipper.shipRaw(text, `k${i % 7}`);
    await shipper.flush();
    expect(await run.pipeline.drain(60_000)).toBe(true);
  }

  it("mirrors only the kinds it subscribed to, byte for byte, as their notifications arrive", async () => {
    const dir = join(run.dir, "quarantine-only");
    const sync = new ObjectSync({
      clients: run.pipeline.clients,
      bucket: run.pipeline.resources.bucket,
      topicArn: run.pipeline.resources.topicArn,
      dir,
      queueName: "sync-test-quarantine",
      kinds: ["quarantine"],
      backfill: false,
      waitSeconds: 1,
    });
    await sync.start();
    const now = Date.now();
    await ship([
      ...Array.from({ length: 200 }, (_, i) =>
        JSON.stringify(i % 2 ? fxQuote(now + i) : stockQuote(now + i)),
      ),
      "not json",
      JSON.stringify({ ...fxQuote(now), v: 3 }),
    ]);
    while ((await sync.receiveOnce()) > 0) {}

    const quarantineKeys = await listKeys(
      run.pipeline.clients.s3,
      run.pipeline.resources.bucket,
      "quarantine/",
    );
    expect(quarantineKeys.length).toBeGreaterThan(0);
    expect(sync.stats.downloaded).toBe(quarantineKeys.length);
    for (const key of quarantineKeys) {
      expect(await readFile(join(dir, key))).toEqual(
        Buffer.from(await getBytes(run.pipeline.clients.s3, run.pipeline.resources.bucket, key)),
      );
    }
    await expect(readFile(join(dir, "lake"))).rejects.toThrow(/ENOENT/);
  });

  it("from the CLI: --backfill copies what exists, --once stops when nothing waits", async () => {
    const dir = join(run.dir, "cli-lake");
    const { code, stdout } = await runCli([
      "--state-dir",
      run.dir,
      "sync",
      dir,
      "--kind",
      "lake",
      "--backfill",
      "--once",
      "--queue",
      "sync-test-cli",
    ]);
    expect(code).toBe(0);
    const lakeKeys = await listKeys(run.pipeline.clients.s3, run.pipeline.resources.bucket, "lake/");
    expect(stdout).toContain(`backfilled ${lakeKeys.length} objects`);
    for (const key of lakeKeys) {
      expect(await readFile(join(dir, key))).toEqual(
        Buffer.from(await getBytes(run.pipeline.clients.s3, run.pipeline.resources.bucket, key)),
      );
    }
  });
});
