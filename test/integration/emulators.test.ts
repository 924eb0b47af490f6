import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  PutRecordCommand,
  type PutRecordCommandOutput,
  PutRecordsCommand,
} from "@aws-sdk/client-kinesis";
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AwsClients } from "../../src/aws/clients.ts";
import type { RunningEmulators } from "../../src/local/emulators.ts";
import { LEVELDB_MAX_OPEN_FILES } from "../../src/local/kinesalite-fixes.ts";
import { localClients } from "../../src/local/pipeline.ts";
import { ensureStream } from "../../src/local/provisioner.ts";
import { readEndpoints } from "../../src/local/state.ts";
import { emulatorsIn, tempStateDir } from "../support/local-aws.ts";

// EMULATOR-SPECIFIC: conditional writes and persistence are what ticklake adds to fauxqs's S3;
// real S3 behaves this way on its own.
describe("emulator host", () => {
  let state: Awaited<ReturnType<typeof tempStateDir>>;

  beforeAll(async () => {
    state = await tempStateDir();
  });
  afterAll(async () => {
    await state.remove();
  });

  /** Runs `body` against a fresh emulator host on the shared state folder, then stops it. */
  async function withEmulators(body: (clients: AwsClients, emulators: RunningEmulators) => Promise<void>) {
    const emulators = await emulatorsIn(state.dir);
    const clients = localClients(emulators.endpoints);
    try {
      await body(clients, emulators);
    } finally {
      clients.destroy();
      await emulators.stop();
    }
  }

  it("writes its endpoints to the state file, on 127.0.0.1", async () => {
    const emulators = await emulatorsIn(state.dir);
    try {
      const endpoints = await readEndpoints(state.dir);
      expect(endpoints).toEqual(emulators.endpoints);
      expect(new URL(endpoints.kinesis).hostname).toBe("127.0.0.1");
      expect(new URL(endpoints.s3).hostname).toBe("127.0.0.1");
    } finally {
      await emulators.stop();
    }
  });

  it("reports its own memory over IPC, also after a full collection, and refuses to once it has exited", async () => {
    const emulators = await emulatorsIn(state.dir);
    const usage = await emulators.memory();
    // The host's figures, not this process's: a heap smaller than the RSS of the host's pid.
    const status = readFileSync(`/proc/${emulators.endpoints.pid}/status`, "utf8");
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1_024;
    expect(usage.heapUsed).toBeGreaterThan(0);
    expect(usage.heapUsed).toBeLessThan(usage.rss);
    expect(Math.abs(usage.rss - rss) / rss).toBeLessThan(0.5);
    // After a full collection the host reports again, and still runs (the collection is its own).
    const live = await emulators.memory({ afterFullCollection: true });
    expect(live.heapUsed).toBeGreaterThan(0);
    expect(live.heapUsed).toBeLessThan(live.rss);
    expect(readFileSync(`/proc/${emulators.endpoints.pid}/status`, "utf8")).toMatch(/State:\s+[RS]/);
    await emulators.kill();
    await expect(emulators.memory()).rejects.toThrow(/exited/);
  });

  it("refuses a second If-None-Match: * write of a key with 412, keeping the first body", () =>
    withEmulators(async (clients) => {
      await clients.s3.send(new CreateBucketCommand({ Bucket: "cond" }));
      const put = (body: string) =>
        clients.s3.send(
          new PutObjectCommand({ Bucket: "cond", Key: "a/b=1/c.txt", Body: body, IfNoneMatch: "*" }),
        );
      await put("first");
      const second = await put("second").then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(second).toBeInstanceOf(S3ServiceException);
      expect((second as S3ServiceException).$metadata.httpStatusCode).toBe(412);
      const body = await clients.s3.send(new GetObjectCommand({ Bucket: "cond", Key: "a/b=1/c.txt" }));
      expect(await body.Body?.transformToString()).toBe("first");
      // An unconditional write still overwrites, as on S3.
      await clients.s3.send(new PutObjectCommand({ Bucket: "cond", Key: "a/b=1/c.txt", Body: "third" }));
      const after = await clients.s3.send(new GetObjectCommand({ Bucket: "cond", Key: "a/b=1/c.txt" }));
      expect(await after.Body?.transformToString()).toBe("third");
    }));

  it("keeps S3 objects and Kinesis records across a crash (SIGKILL) and a restart", async () => {
    const first = await emulatorsIn(state.dir);
    let clients = localClients(first.endpoints);
    let put: PutRecordCommandOutput;
    try {
      await clients.s3.send(new CreateBucketCommand({ Bucket: "durable" }));
      await clients.s3.send(
        new PutObjectCommand({
          Bucket: "durable",
          Key: "lake/news/dt=2026-11-26/hour=10/o.jsonl.gz",
          Body: new Uint8Array([1, 2, 3, 250]),
          ContentType: "application/x-ndjson",
          Metadata: { records: "4" },
        }),
      );
      await ensureStream(clients.kinesis, "durable", 1);
      put = await clients.kinesis.send(
        new PutRecordCommand({ StreamName: "durable", PartitionKey: "k", Data: Buffer.from("hello") }),
      );
    } finally {
      clients.destroy();
    }
    await first.kill();

    const second = await emulatorsIn(state.dir);
    clients = localClients(second.endpoints);
    try {
      expect(second.restoredObjects).toBeGreaterThanOrEqual(1);
      const object = await clients.s3.send(
        new GetObjectCommand({ Bucket: "durable", Key: "lake/news/dt=2026-11-26/hour=10/o.jsonl.gz" }),
      );
      expect(await object.Body?.transformToByteArray()).toEqual(new Uint8Array([1, 2, 3, 250]));
      expect(object.ContentType).toBe("application/x-ndjson");
      expect(object.Metadata).toEqual({ records: "4" });

      const { ShardIterator } = await clients.kinesis.send(
        new GetShardIteratorCommand({
          StreamName: "durable",
          ShardId: put.ShardId,
          ShardIteratorType: "TRIM_HORIZON",
        }),
      );
      const { Records = [] } = await clients.kinesis.send(new GetRecordsCommand({ ShardIterator }));
      expect(Records.map((r) => [r.SequenceNumber, Buffer.from(r.Data ?? []).toString()])).toEqual([
        [put.SequenceNumber, "hello"],
      ]);
    } finally {
      clients.destroy();
      await second.stop();
    }
  });

  it("answers GetShardIterator AT_TIMESTAMP with the shard's tip when no record is that recent", () =>
    withEmulators(async (clients) => {
      await ensureStream(clients.kinesis, "since", 1);
      const shard = { StreamName: "since", ShardId: "shardId-000000000000" };
      const put = (text: string) =>
        clients.kinesis.send(
          new PutRecordCommand({ StreamName: "since", PartitionKey: "k", Data: Buffer.from(text) }),
        );
      const since = async (at: Date) => {
        const { ShardIterator } = await clients.kinesis.send(
          new GetShardIteratorCommand({ ...shard, ShardIteratorType: "AT_TIMESTAMP", Timestamp: at }),
        );
        const { Records = [] } = await clients.kinesis.send(new GetRecordsCommand({ ShardIterator }));
        return Records.map((r) => Buffer.from(r.Data ?? []).toString());
      };
      // An empty shard (kinesalite alone never answered this), then one whose only record is
      // older than the timestamp: an iterator at the tip, which sees what is put after it.
      const empty = await clients.kinesis.send(
        new GetShardIteratorCommand({ ...shard, ShardIteratorType: "AT_TIMESTAMP", Timestamp: new Date() }),
      );
      await put("old");
      await new Promise((resolve) => setTimeout(resolve, 20));
      const afterOld = new Date();
      expect(await since(afterOld)).toEqual([]);
      await put("new");
      const fromEmpty = await clients.kinesis.send(
        new GetRecordsCommand({ ShardIterator: empty.ShardIterator }),
      );
      expect(fromEmpty.Records?.map((r) => Buffer.from(r.Data ?? []).toString())).toEqual(["old", "new"]);
      // With a record that recent, kinesalite's own answer: from that record on.
      expect(await since(afterOld)).toEqual(["new"]);
      expect(await since(new Date(Date.now() - 60_000))).toEqual(["old", "new"]);
    }));

  it(
    "keeps at most LEVELDB_MAX_OPEN_FILES of the stream's table files open, however many it reads",
    () =>
      withEmulators(async (clients, emulators) => {
        await ensureStream(clients.kinesis, "long", 1);
        // Incompressible records (stored as base64, 64 KiB each, 6 MiB a call): more of LevelDB's
        // 2 MiB table files than it may keep open.
        const calls = Math.ceil(((LEVELDB_MAX_OPEN_FILES + 10) * 2) / 6);
        const record = () => ({ PartitionKey: "k", Data: randomBytes(48 * 1024) });
        for (let call = 0; call < calls; call++)
          await clients.kinesis.send(
            new PutRecordsCommand({ StreamName: "long", Records: Array.from({ length: 96 }, record) }),
          );
        const tableFiles = () =>
          readdirSync(join(state.dir, "kinesis")).filter((name) => name.endsWith(".ldb")).length;
        expect(tableFiles()).toBeGreaterThan(LEVELDB_MAX_OPEN_FILES);
        // Reading the whole shard opens every table, the oldest first.
        let { ShardIterator: iterator } = await clients.kinesis.send(
          new GetShardIteratorCommand({
            StreamName: "long",
            ShardId: "shardId-000000000000",
            ShardIteratorType: "TRIM_HORIZON",
          }),
        );
        let read = 0;
        for (;;) {
          const out = await clients.kinesis.send(
            new GetRecordsCommand({ ShardIterator: iterator, Limit: 200 }),
          );
          read += out.Records?.length ?? 0;
          iterator = out.NextShardIterator;
          if (!out.Records?.length) break;
        }
        expect(read).toBe(calls * 96);
        // LevelDB maps each open table file (Linux, 64-bit): the host's mappings are its open tables.
        const maps = readFileSync(`/proc/${emulators.endpoints.pid}/maps`, "utf8");
        const open = new Set(maps.match(/\S+\.ldb$/gm));
        expect(open.size).toBeGreaterThan(0);
        expect(open.size).toBeLessThanOrEqual(LEVELDB_MAX_OPEN_FILES);
      }),
    120_000,
  );
});
