import { createHash } from "node:crypto";
import { appendFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AwsClients } from "../../src/aws/clients.ts";
import type { RunningEmulators } from "../../src/local/emulators.ts";
import { localClients } from "../../src/local/pipeline.ts";
import { S3DiskStore } from "../../src/local/s3/store.ts";
import { awsCli, emulatorsIn, eventually, getBytes, listKeys, tempStateDir } from "../support/local-aws.ts";

// EMULATOR-SPECIFIC: the local S3 (src/local/s3/) stands in for S3; these tests hold it to what
// S3 does, through the SDK and Debian's AWS CLI.
describe("local S3 on disk", () => {
  let state: Awaited<ReturnType<typeof tempStateDir>>;
  let emulators: RunningEmulators;
  let clients: AwsClients;
  const restart = async (how: "stop" | "kill") => {
    clients.destroy();
    await emulators[how]();
    emulators = await emulatorsIn(state.dir);
    clients = localClients(emulators.endpoints);
  };
  const put = (Bucket: string, Key: string, Body: string | Uint8Array) =>
    clients.s3.send(new PutObjectCommand({ Bucket, Key, Body }));

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

  it("keeps objects, overwrites and deletes across a restart, and starts from the journal", async () => {
    // GIVEN a bucket with objects, one overwritten and one deleted
    await clients.s3.send(new CreateBucketCommand({ Bucket: "keep" }));
    for (let i = 0; i < 30; i++)
      await put("keep", `lake/d=${i % 3}/o-${String(i).padStart(2, "0")}`, `body ${i}`);
    await put("keep", "lake/d=0/o-00", "overwritten");
    await clients.s3.send(new DeleteObjectCommand({ Bucket: "keep", Key: "lake/d=1/o-01" }));
    // WHEN the host crashes and starts again
    await restart("kill");
    // THEN it reports and serves exactly what was acknowledged
    expect(emulators.restoredObjects).toBe(29);
    const keys = await listKeys(clients.s3, "keep");
    expect(keys).toHaveLength(29);
    expect(keys).not.toContain("lake/d=1/o-01");
    expect(new TextDecoder().decode(await getBytes(clients.s3, "keep", "lake/d=0/o-00"))).toBe("overwritten");
    expect(new TextDecoder().decode(await getBytes(clients.s3, "keep", "lake/d=2/o-29"))).toBe("body 29");
    // AND the bodies are files: one per live object, the overwritten version removed
    const files = (await readdir(join(state.dir, "s3", "keep"))).filter((name) => name.endsWith(".bin"));
    expect(files).toHaveLength(29);
  });

  it("lists in pages with a prefix and a delimiter, and a page token outlives a restart", async () => {
    // GIVEN 25 keys under three hour folders and two loose keys
    await clients.s3.send(new CreateBucketCommand({ Bucket: "pages" }));
    const keys: string[] = [];
    for (let hour = 0; hour < 3; hour++)
      for (let i = 0; i < 8; i++) keys.push(`lake/fx/hour=${String(hour).padStart(2, "0")}/${i}.parquet`);
    keys.push("lake/fx/README", "lake/news/1.parquet");
    await Promise.all(keys.map((key) => put("pages", key, key)));

    // WHEN a listing of 10 a page is begun, the host restarts, and it is continued
    const first = await clients.s3.send(
      new ListObjectsV2Command({ Bucket: "pages", Prefix: "lake/fx/", MaxKeys: 10 }),
    );
    await restart("stop");
    const listed = (first.Contents ?? []).map((o) => o.Key);
    let token = first.NextContinuationToken;
    while (token) {
      const page = await clients.s3.send(
        new ListObjectsV2Command({
          Bucket: "pages",
          Prefix: "lake/fx/",
          MaxKeys: 10,
          ContinuationToken: token,
        }),
      );
      listed.push(...(page.Contents ?? []).map((o) => o.Key));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    }
    // THEN every key under the prefix comes once, in binary order
    const expected = keys.filter((key) => key.startsWith("lake/fx/")).sort();
    expect(first.IsTruncated).toBe(true);
    expect(listed).toEqual(expected);

    // AND with a delimiter, folders roll up into common prefixes that count towards a page
    const pages: Array<{ keys: string[]; prefixes: string[] }> = [];
    let after: string | undefined;
    do {
      const page = await clients.s3.send(
        new ListObjectsV2Command({
          Bucket: "pages",
          Prefix: "lake/fx/",
          Delimiter: "/",
          MaxKeys: 2,
          ContinuationToken: after,
        }),
      );
      pages.push({
        keys: (page.Contents ?? []).map((o) => o.Key ?? ""),
        prefixes: (page.CommonPrefixes ?? []).map((p) => p.Prefix ?? ""),
      });
      after = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (after);
    expect(pages).toEqual([
      { keys: ["lake/fx/README"], prefixes: ["lake/fx/hour=00/"] },
      { keys: [], prefixes: ["lake/fx/hour=01/", "lake/fx/hour=02/"] },
    ]);
  });

  it("answers range GETs as S3 does, 206 with Content-Range, 416 past the end", async () => {
    // GIVEN an object of 10 bytes
    await clients.s3.send(new CreateBucketCommand({ Bucket: "ranges" }));
    await put("ranges", "digits", "0123456789");
    const range = async (Range: string) => {
      const object = await clients.s3.send(new GetObjectCommand({ Bucket: "ranges", Key: "digits", Range }));
      return [object.$metadata.httpStatusCode, object.ContentRange, await object.Body?.transformToString()];
    };
    // WHEN parts of it are asked for, THEN those bytes come back
    expect(await range("bytes=2-5")).toEqual([206, "bytes 2-5/10", "2345"]);
    expect(await range("bytes=7-")).toEqual([206, "bytes 7-9/10", "789"]);
    expect(await range("bytes=-3")).toEqual([206, "bytes 7-9/10", "789"]);
    expect(await range("bytes=8-100")).toEqual([206, "bytes 8-9/10", "89"]);
    const past = await range("bytes=10-20").then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(past).toBeInstanceOf(S3ServiceException);
    expect((past as S3ServiceException).$metadata.httpStatusCode).toBe(416);
    expect((past as S3ServiceException).name).toBe("InvalidRange");
  });

  it("stores a streamed (aws-chunked) upload without its framing", async () => {
    // GIVEN a body the SDK streams, so that it frames it as aws-chunked with a checksum trailer
    await clients.s3.send(new CreateBucketCommand({ Bucket: "chunked" }));
    const bytes = Buffer.alloc(200_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 251;
    const stream = new PassThrough();
    stream.end(bytes);
    // WHEN it is put
    const put = await clients.s3.send(
      new PutObjectCommand({
        Bucket: "chunked",
        Key: "streamed.bin",
        Body: stream,
        ContentLength: bytes.length,
      }),
    );
    // THEN the object is exactly the bytes, and its ETag their MD5
    expect(Buffer.from(await getBytes(clients.s3, "chunked", "streamed.bin")).equals(bytes)).toBe(true);
    expect(put.ETag).toBe(`"${createHash("md5").update(bytes).digest("hex")}"`);
  });

  it("answers a conditional write 409 while another of the key is in flight, and 412 once it is stored, multipart too", async () => {
    // GIVEN a conditional PUT whose body is still arriving
    await clients.s3.send(new CreateBucketCommand({ Bucket: "race" }));
    const slow = new PassThrough();
    slow.write("winner ");
    const first = clients.s3.send(
      new PutObjectCommand({
        Bucket: "race",
        Key: "v1.json",
        Body: slow,
        ContentLength: 12,
        IfNoneMatch: "*",
      }),
    );
    const statusOf = (request: Promise<unknown>) =>
      request.then(
        () => 200,
        (error: unknown) => (error as S3ServiceException).$metadata?.httpStatusCode,
      );
    // WHEN another conditional PUT of the key arrives meanwhile, THEN it loses with 409, as on S3
    // (its first bytes have left the client, and a later request has been answered since)
    await eventually(async () => (slow.readableLength === 0 ? true : undefined), 10_000, "the first bytes");
    await clients.s3.send(new ListBucketsCommand({}));
    const racing = (body: string) =>
      clients.s3.send(new PutObjectCommand({ Bucket: "race", Key: "v1.json", Body: body, IfNoneMatch: "*" }));
    expect(await statusOf(racing("loser"))).toBe(409);
    // AND once the first is stored, a conditional PUT gets 412 and the first body stays
    slow.end("body!");
    expect(await statusOf(first)).toBe(200);
    expect(await statusOf(racing("late"))).toBe(412);
    expect(new TextDecoder().decode(await getBytes(clients.s3, "race", "v1.json"))).toBe("winner body!");
    // AND CompleteMultipartUpload with If-None-Match: * of an existing key gets 412 too
    const { UploadId } = await clients.s3.send(
      new CreateMultipartUploadCommand({ Bucket: "race", Key: "v1.json" }),
    );
    const part = await clients.s3.send(
      new UploadPartCommand({ Bucket: "race", Key: "v1.json", UploadId, PartNumber: 1, Body: "multipart" }),
    );
    const complete = clients.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: "race",
        Key: "v1.json",
        UploadId,
        IfNoneMatch: "*",
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    expect(await statusOf(complete)).toBe(412);
    expect(new TextDecoder().decode(await getBytes(clients.s3, "race", "v1.json"))).toBe("winner body!");
  });

  it("keeps the first write after a crash that tore the journal's last line", async () => {
    // GIVEN a store whose journal ends in half a line, as a crash mid-append leaves it
    const torn = await tempStateDir();
    const root = join(torn.dir, "s3");
    try {
      const before = new S3DiskStore(root);
      await before.open();
      await before.createBucket("torn");
      await before.put("torn", "kept", Readable.from(["kept"]), {});
      await before.close();
      await appendFile(join(root, "torn", "index.ndjson"), '{"k":"half-writ');
      // WHEN it opens, stores one more object and opens again
      const after = new S3DiskStore(root);
      expect(await after.open()).toBe(1);
      await after.put("torn", "next", Readable.from(["next"]), {});
      await after.close();
      const again = new S3DiskStore(root);
      // THEN both acknowledged objects are there, and not the torn one
      expect(await again.open()).toBe(2);
      const listed = again.list("torn", { prefix: "", delimiter: undefined, after: "", maxKeys: 10 });
      expect(listed.objects.map((o) => o.key)).toEqual(["kept", "next"]);
      await again.close();
    } finally {
      await torn.remove();
    }
  });

  it("starts with a lake written before the journal (one .json beside each body)", async () => {
    // GIVEN a state folder in the earlier layout
    const legacy = await tempStateDir();
    const key = "lake/news/dt=2026-11-26/hour=10/o.jsonl.gz";
    const base = join(legacy.dir, "s3", "old", createHash("sha256").update(key).digest("hex"));
    await mkdir(join(legacy.dir, "s3", "old"), { recursive: true });
    await writeFile(`${base}.bin`, Buffer.from([1, 2, 3, 250]));
    await writeFile(
      `${base}.json`,
      JSON.stringify({
        bucket: "old",
        key,
        headers: { "content-type": "application/x-ndjson", "x-amz-meta-records": "4" },
      }),
    );
    // WHEN the emulators start on it
    const old = await emulatorsIn(legacy.dir);
    const oldClients = localClients(old.endpoints);
    try {
      // THEN the object is there, with its type and metadata, and the sidecar became a journal line
      expect(old.restoredObjects).toBe(1);
      const object = await oldClients.s3.send(new GetObjectCommand({ Bucket: "old", Key: key }));
      expect(await object.Body?.transformToByteArray()).toEqual(new Uint8Array([1, 2, 3, 250]));
      expect(object.ContentType).toBe("application/x-ndjson");
      expect(object.Metadata).toEqual({ records: "4" });
      expect((await readdir(join(legacy.dir, "s3", "old"))).sort()).toEqual(
        [`${base.split("/").at(-1)}.bin`, "index.ndjson"].sort(),
      );
    } finally {
      oldClients.destroy();
      await old.stop();
      await legacy.remove();
    }
  });

  describe("with Debian's AWS CLI", () => {
    const large = Buffer.alloc(9 * 1_024 * 1_024);
    for (let i = 0; i < large.length; i += 4_096) large[i] = i % 256;
    let local: string;
    let endpoint: string;

    beforeAll(async () => {
      endpoint = emulators.endpoints.s3;
      await awsCli(endpoint, ["s3", "mb", "s3://cli"]);
      local = join(state.dir, "cli-files");
      await mkdir(join(local, "nested", "deeper"), { recursive: true });
      await writeFile(join(local, "large.bin"), large);
      await writeFile(join(local, "a.txt"), "alpha");
      await writeFile(join(local, "nested", "b.txt"), "beta");
      await writeFile(join(local, "nested", "deeper", "c.txt"), "gamma");
    });

    it("s3 cp copies a file over the multipart threshold up and back down", async () => {
      // GIVEN a file over the CLI's 8 MiB multipart threshold
      // WHEN the CLI copies it up and back down
      await awsCli(endpoint, ["s3", "cp", join(local, "large.bin"), "s3://cli/copied/large.bin"]);
      await awsCli(endpoint, ["s3", "cp", "s3://cli/copied/large.bin", join(state.dir, "large-back.bin")]);
      // THEN the bytes survive, and the ETag is a two-part upload's
      expect((await readFile(join(state.dir, "large-back.bin"))).equals(large)).toBe(true);
      const head = JSON.parse(
        await awsCli(endpoint, ["s3api", "head-object", "--bucket", "cli", "--key", "copied/large.bin"]),
      ) as { ETag: string; ContentLength: number };
      expect(head.ContentLength).toBe(large.length);
      expect(head.ETag).toMatch(/^"[0-9a-f]{32}-2"$/);
    });

    it("s3 sync uploads a folder once, then nothing, and syncs it back down", async () => {
      // WHEN the folder is synced up, twice
      const firstSync = await awsCli(endpoint, ["s3", "sync", local, "s3://cli/synced/"]);
      const secondSync = await awsCli(endpoint, ["s3", "sync", local, "s3://cli/synced/"]);
      // THEN the first uploads every file, the second nothing
      expect(firstSync.match(/^upload:/gm)).toHaveLength(4);
      expect(secondSync.trim()).toBe("");
      // AND syncing down reproduces the files
      const down = join(state.dir, "cli-down");
      await awsCli(endpoint, ["s3", "sync", "s3://cli/synced/", down]);
      expect(await readFile(join(down, "nested", "deeper", "c.txt"), "utf8")).toBe("gamma");
      expect((await readFile(join(down, "large.bin"))).equals(large)).toBe(true);
    });

    it("s3 ls --recursive pages through more keys than a page holds", async () => {
      // GIVEN more keys than one listing page holds, written by the store while the host is
      // down (a thousand PUTs through the SDK cost seconds of CPU that this test is not about)
      clients.destroy();
      await emulators.stop();
      const store = new S3DiskStore(join(state.dir, "s3"));
      await store.open();
      for (let i = 0; i < 1_005; i++)
        await store.put("cli", `many/${String(i).padStart(4, "0")}.txt`, Readable.from([`${i}`]), {});
      await store.close();
      emulators = await emulatorsIn(state.dir);
      clients = localClients(emulators.endpoints);
      endpoint = emulators.endpoints.s3;
      // WHEN the CLI lists them
      const listing = await awsCli(endpoint, ["s3", "ls", "s3://cli/many/", "--recursive"]);
      // THEN each comes once
      const listed = listing
        .trim()
        .split("\n")
        .map((line) => line.split(/\s+/).at(-1));
      expect(listed).toHaveLength(1_005);
      expect(new Set(listed).size).toBe(1_005);
    });

    it("s3 rm --recursive deletes every key under a prefix and nothing beside it", async () => {
      // GIVEN keys at several depths under a prefix, and one that only shares its first letters
      const under = [
        "gone/a.txt",
        "gone/b/c.txt",
        "gone/b/d/e.txt",
        ...Array.from({ length: 20 }, (_, i) => `gone/n/${i}`),
      ];
      await Promise.all([...under, "gone-not/kept.txt"].map((key) => put("cli", key, key)));
      // WHEN the CLI removes the prefix (one DeleteObject per key, as the CLI does)
      const output = await awsCli(endpoint, ["s3", "rm", "s3://cli/gone/", "--recursive"]);
      // THEN every key under it is gone, each reported once, and the neighbour stays
      expect(output.trim().split("\n")).toHaveLength(under.length);
      expect(await listKeys(clients.s3, "cli", "gone/")).toEqual([]);
      expect(await listKeys(clients.s3, "cli", "gone-")).toEqual(["gone-not/kept.txt"]);
    });
  });
});
