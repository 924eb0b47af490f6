/** Test helpers around the real emulator host: temp state folders, clients, the AWS CLI. */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll } from "vitest";
import type { AwsClients } from "../../src/aws/clients.ts";
import { LAKE_PREFIX, QUARANTINE_PREFIX } from "../../src/core/layout.ts";
import { resourceSpec } from "../../src/core/spec.ts";
import { type RunningEmulators, startEmulators } from "../../src/local/emulators.ts";
import { localClients } from "../../src/local/pipeline.ts";
import { type Provisioned, provision } from "../../src/local/provisioner.ts";
import type { Endpoints } from "../../src/local/state.ts";
import { AWS_CLI } from "./tools.ts";

export async function tempStateDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "ticklake-test-"));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export async function emulatorsIn(dir: string): Promise<RunningEmulators> {
  return startEmulators({ stateDir: dir });
}

export async function awsCli(endpoint: string, args: string[], input?: string): Promise<string> {
  const run = promisify(execFile);
  const child = run(AWS_CLI, ["--endpoint-url", endpoint, "--output", "json", ...args], {
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_PAGER: "",
    },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (input !== undefined) child.child.stdin?.end(input);
  const { stdout } = await child;
  return stdout;
}

export async function listKeys(s3: S3Client, bucket: string, prefix = ""): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/**
 * The keys of what the processor writes and announces: lake and quarantine objects. (The
 * tables' metadata and compacted files under tables/ are the committer's and maintenance's.)
 */
export async function listPipelineObjects(s3: S3Client, bucket: string): Promise<string[]> {
  return (
    await Promise.all([LAKE_PREFIX, QUARANTINE_PREFIX].map((prefix) => listKeys(s3, bucket, prefix)))
  ).flat();
}

export async function getBytes(s3: S3Client, bucket: string, key: string): Promise<Uint8Array> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!object.Body) throw new Error(`no body for ${key}`);
  return object.Body.transformToByteArray();
}

/** Polls `probe` until it returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export type { Endpoints };

export interface ProvisionedAws {
  dir: string;
  emulators: RunningEmulators;
  clients: AwsClients;
  resources: Provisioned;
}

/**
 * For a test file: emulators in a temporary state folder with a stage's resources provisioned
 * before its tests, stopped and removed after them. Fields are set once `beforeAll` has run.
 */
export function provisionedAws(stage: string): ProvisionedAws {
  const aws = {} as ProvisionedAws;
  let remove = async () => {};
  beforeAll(async () => {
    const state = await tempStateDir();
    remove = state.remove;
    aws.dir = state.dir;
    aws.emulators = await emulatorsIn(state.dir);
    aws.clients = localClients(aws.emulators.endpoints);
    aws.resources = await provision(aws.clients, resourceSpec({ stage }));
  });
  afterAll(async () => {
    aws.clients?.destroy();
    await aws.emulators?.stop();
    await remove();
  });
  return aws;
}
