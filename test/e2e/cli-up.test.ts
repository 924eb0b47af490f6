/**
 * `ticklake up` as a new user runs it: a child process, driven and watched from outside with
 * the AWS CLI while it runs, stopped by --duration and by Ctrl-C (SIGINT), then restarted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envelopeOf } from "../../src/core/events.ts";
import { resourceSpec } from "../../src/core/spec.ts";
import { localClients } from "../../src/local/pipeline.ts";
import { readEndpoints } from "../../src/local/state.ts";
import { startUp, summaryOf } from "../support/cli.ts";
import { lakeEnvelopes } from "../support/duckdb.ts";
import { awsCli, emulatorsIn, eventually, getBytes, listKeys, tempStateDir } from "../support/local-aws.ts";

const spec = resourceSpec();

describe("ticklake up", () => {
  let state: Awaited<ReturnType<typeof tempStateDir>>;

  beforeAll(async () => {
    state = await tempStateDir();
  });
  afterAll(async () => {
    await state.remove();
  });

  it("runs the pipeline that the AWS CLI can watch and feed, and exits 0 with balanced counts", async () => {
    // Runs until the checks below are done, then Ctrl-C (--duration: the restart below).
    const run = startUp(state.dir, []);
    try {
      await eventually(
        async () => (run.output.some((l) => l.startsWith("market API on")) ? true : undefined),
        60_000,
        "start",
      );
      const endpoints = await readEndpoints(state.dir);

      // The CLI lists and downloads lake objects.
      const listing = await eventually(
        async () => {
          // `s3 ls` exits 1 while the prefix is still empty
          const text = await awsCli(endpoints.s3, [
            "s3",
            "ls",
            `s3://${spec.bucket.name}/lake/`,
            "--recursive",
          ]).catch(() => "");
          return text.trim() === "" ? undefined : text;
        },
        // The first object waits for the function workers' cold starts (2.6-3.5 s of CPU each,
        // several at once with the emulators starting): past 20 s on a loaded 2-core machine.
        60_000,
        "lake objects",
      );
      const firstKey = listing.trim().split("\n")[0]?.split(/\s+/).pop() ?? "";
      expect(firstKey).toMatch(
        /^lake\/\w+\/dt=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/shardId-\d+-[\d.]+-[\d.]+\.parquet$/,
      );
      const clients = localClients(endpoints);
      try {
        const viaCli = await awsCli(endpoints.s3, [
          "s3api",
          "head-object",
          "--bucket",
          spec.bucket.name,
          "--key",
          firstKey,
        ]);
        expect(JSON.parse(viaCli).ContentLength).toBe(
          (await getBytes(clients.s3, spec.bucket.name, firstKey)).byteLength,
        );

        // The CLI receives SNS notifications from the subscriber queue.
        const queueUrl = JSON.parse(
          await awsCli(endpoints.sqs, ["sqs", "get-queue-url", "--queue-name", spec.notificationQueue.name]),
        ).QueueUrl;
        const received = await eventually(
          async () => {
            const text = await awsCli(endpoints.sqs, [
              "sqs",
              "receive-message",
              "--queue-url",
              queueUrl,
              "--max-number-of-messages",
              "10",
            ]);
            return text.trim() === "" ? undefined : JSON.parse(text);
          },
          10_000,
          "a notification",
        );
        const manifest = JSON.parse(received.Messages[0].Body);
        expect(manifest).toMatchObject({ v: 1, bucket: spec.bucket.name });
        expect((await listKeys(clients.s3, spec.bucket.name)).includes(manifest.key)).toBe(true);

        // A record the CLI puts into the stream appears in the lake.
        const envelope = envelopeOf(
          "stock.quote",
          { symbol: "ZZZZ", bid: 10.01, ask: 10.03, last: 10.02, volume: 7 },
          { service: "aws-cli", instance: "test" },
        );
        await awsCli(endpoints.kinesis, [
          "kinesis",
          "put-record",
          "--stream-name",
          spec.stream.name,
          "--partition-key",
          "ZZZZ",
          "--data",
          Buffer.from(JSON.stringify(envelope)).toString("base64"),
        ]);
        const arrived = await eventually(
          async () => {
            const keys = await listKeys(clients.s3, spec.bucket.name, "lake/stock_quotes/");
            const stored = await lakeEnvelopes(
              await Promise.all(
                keys.map(async (key) => ({ key, bytes: await getBytes(clients.s3, spec.bucket.name, key) })),
              ),
            );
            return stored.find((row) => row.event.id === envelope.id)?.event;
          },
          15_000,
          "the CLI's record in the lake",
        );
        expect(arrived).toEqual(envelope);
      } finally {
        clients.destroy();
      }

      run.child.kill("SIGINT");
      expect(await run.exit, run.output.join("\n")).toBe(0);
      const summary = summaryOf(run);
      expect(summary["from other producers"]).toMatch(/^1 /);
      expect(summary["produced + other = stored + quarantined"]).toBe("ok");
      expect(summary["objects notified"]).toMatch(/ ok$/);
      expect(summary.DLQ).toBe("0  ok");
      expect(Number(summary["produced (web server → Kinesis)"])).toBeGreaterThan(0);
    } finally {
      run.child.kill("SIGKILL");
    }
  }, 150_000);

  it("drains on Ctrl-C, and a restart keeps every object and writes no record twice", async () => {
    const own = await tempStateDir();
    try {
      const run = startUp(own.dir, []);
      await eventually(
        async () => (run.output.some((l) => /\| stored [1-9]/.test(l)) ? true : undefined),
        60_000,
        "stored records",
      );
      run.child.kill("SIGINT");
      expect(await run.exit, run.output.join("\n")).toBe(0);
      expect(summaryOf(run)["produced + other = stored + quarantined"]).toBe("ok");

      const between = await emulatorsIn(own.dir);
      const clientsBetween = localClients(between.endpoints);
      const keysBefore = await listKeys(clientsBetween.s3, spec.bucket.name);
      clientsBetween.destroy();
      await between.stop();
      expect(keysBefore.length).toBeGreaterThan(0);

      const again = startUp(own.dir, ["--duration", "5"]);
      expect(await again.exit, again.output.join("\n")).toBe(0);
      // Nothing from the first run was left in the stream to bridge again.
      expect(summaryOf(again)["from other producers"]).toMatch(/^0 /);

      const after = await emulatorsIn(own.dir);
      const clients = localClients(after.endpoints);
      try {
        const keys = await listKeys(clients.s3, spec.bucket.name);
        for (const key of keysBefore) expect(keys).toContain(key);
        expect(keys.length).toBeGreaterThan(keysBefore.length);
        const lake = await Promise.all(
          keys
            .filter((key) => key.startsWith("lake/"))
            .map(async (key) => ({ key, bytes: await getBytes(clients.s3, spec.bucket.name, key) })),
        );
        const ids = (await lakeEnvelopes(lake)).map((row) => row.event.id);
        expect(new Set(ids).size).toBe(ids.length);
      } finally {
        clients.destroy();
        await after.stop();
      }
    } finally {
      await own.remove();
    }
  }, 120_000);
});
