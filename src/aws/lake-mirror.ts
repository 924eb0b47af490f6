/**
 * Copies objects from the bucket to a local folder through the S3 API, keeping their keys as
 * paths. Objects are written once and never change (their keys derive from what they hold),
 * so a file of the right size is already up to date.
 */
import { createHash } from "node:crypto";
import { mkdir, rename, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { LakeObjectError } from "./errors.ts";

export interface MirrorResult {
  listed: number;
  downloaded: number;
  bytes: number;
}

/** The objects under `prefix`, a page (up to 1,000) at a time, through ListObjectsV2. */
export async function* listObjectPages(
  s3: S3Client,
  bucket: string,
  prefix = "",
): AsyncGenerator<Array<{ key: string; size: number }>> {
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    yield (page.Contents ?? []).flatMap((object) =>
      object.Key ? [{ key: object.Key, size: object.Size ?? 0 }] : [],
    );
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/** How many objects a prefix holds. */
export async function countObjects(s3: S3Client, bucket: string, prefix = ""): Promise<number> {
  let count = 0;
  for await (const page of listObjectPages(s3, bucket, prefix)) count += page.length;
  return count;
}

/** The local path of a key under `dir`, refusing keys that would escape it. */
export function localPathOf(dir: string, key: string): string {
  const root = resolve(dir);
  const path = resolve(root, key);
  if (!path.startsWith(root + sep))
    throw new LakeObjectError(`object key ${JSON.stringify(key)} would leave ${root}`);
  return path;
}

/** Downloads one object to `dir/key`, atomically; checks its SHA-256 when one is given. */
export async function downloadObject(
  s3: S3Client,
  bucket: string,
  key: string,
  dir: string,
  expectedSha256?: string,
): Promise<number> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = await object.Body?.transformToByteArray();
  if (!bytes) throw new LakeObjectError(`s3://${bucket}/${key} has no body`);
  if (expectedSha256) {
    const actual = createHash("sha256").update(bytes).digest("hex");
    if (actual !== expectedSha256) {
      throw new LakeObjectError(
        `s3://${bucket}/${key}: SHA-256 ${actual} does not match the manifest's ${expectedSha256}`,
      );
    }
  }
  const path = localPathOf(dir, key);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.part`, bytes);
  await rename(`${path}.part`, path);
  return bytes.byteLength;
}

/** Mirrors every object under `prefix` that the folder does not hold yet. */
export async function mirrorObjects(
  s3: S3Client,
  bucket: string,
  prefix: string,
  dir: string,
): Promise<MirrorResult> {
  const result: MirrorResult = { listed: 0, downloaded: 0, bytes: 0 };
  for await (const page of listObjectPages(s3, bucket, prefix)) {
    const missing: string[] = [];
    for (const object of page) {
      result.listed++;
      const local = await stat(join(dir, object.key)).catch(() => undefined);
      if (local?.size !== object.size) missing.push(object.key);
    }
    // A few downloads at a time: enough to hide latency, few enough to stay polite.
    for (let i = 0; i < missing.length; i += 8) {
      const sizes = await Promise.all(
        missing.slice(i, i + 8).map((key) => downloadObject(s3, bucket, key, dir)),
      );
      result.downloaded += sizes.length;
      result.bytes += sizes.reduce((sum, size) => sum + size, 0);
    }
  }
  return result;
}
