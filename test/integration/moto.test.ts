/**
 * moto as a second, independent implementation (shared/DESIGN.md §10): the S3 behaviour the
 * processor's exactly-once promise rests on holds there as in the embedded S3 — a write with
 * `If-None-Match: *` creates the object once and answers 412 after. Not every moto version
 * enforces it; the pinned 5.2.5 does, and this test would catch one that does not. The whole
 * pipeline on moto: test/e2e/pipeline.test.ts.
 */
import { CreateBucketCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AwsClients, createClients } from "../../src/aws/clients.ts";
import { putObjectIfAbsent } from "../../src/aws/lake.ts";
import type { ObjectPlan } from "../../src/core/planning.ts";
import { LOCAL_CREDENTIALS } from "../../src/local/pipeline.ts";
import { type MotoServer, startMoto } from "../support/moto.ts";

const plan = (body: string): ObjectPlan => ({
  kind: "lake",
  key: "lake/fx_quotes/dt=2026-11-30/hour=08/shardId-000000000001-1-9.parquet",
  dataset: "fx_quotes",
  partition: { dt: "2026-11-30", hour: "08" },
  body: new TextEncoder().encode(body),
  contentType: "application/vnd.apache.parquet",
  records: 1,
  minTime: "2026-11-30T08:00:00.000Z",
  maxTime: "2026-11-30T08:00:00.000Z",
});

describe("moto", () => {
  let moto: MotoServer;
  let clients: AwsClients;

  beforeAll(async () => {
    moto = await startMoto();
    clients = createClients({
      region: "us-east-1",
      credentials: LOCAL_CREDENTIALS,
      endpoints: { s3: moto.endpoint },
    });
    await clients.s3.send(new CreateBucketCommand({ Bucket: "ticklake-moto-lake" }));
  });
  afterAll(async () => {
    clients?.destroy();
    await moto?.stop();
  });

  it("creates an object once with If-None-Match: *, then answers 412 and keeps the first body", async () => {
    // WHEN the same key is written twice, with different bodies
    const first = await putObjectIfAbsent(clients.s3, "ticklake-moto-lake", plan("first"));
    const second = await putObjectIfAbsent(clients.s3, "ticklake-moto-lake", plan("second"));
    // THEN the second write is refused, as S3 refuses it, and the object is the first
    expect([first, second]).toEqual(["created", "exists"]);
    const object = await clients.s3.send(
      new GetObjectCommand({ Bucket: "ticklake-moto-lake", Key: plan("").key }),
    );
    expect(await object.Body?.transformToString()).toBe("first");
  });
});
