/**
 * The local catalog's conditional metadata write, where the emulator cannot be made to show it
 * on demand: S3 answers the loser of two simultaneous `If-None-Match` writes 409
 * ConditionalRequestConflict, and that is another writer's commit, not a failure. The SDK is
 * mocked: only the adapter's error handling is under test (the race itself runs against the
 * local S3 in test/integration/iceberg-commit.test.ts).
 */
import { PutObjectCommand, S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { S3TableFileIO } from "../../src/aws/iceberg-s3.ts";

const s3Mock = mockClient(S3Client);
afterEach(() => s3Mock.reset());

const s3Error = (name: string, status: number) =>
  new S3ServiceException({ name, $fault: "client", $metadata: { httpStatusCode: status }, message: name });

describe("S3TableFileIO.writeIfAbsent", () => {
  it.each([
    ["PreconditionFailed", 412],
    ["ConditionalRequestConflict", 409],
  ])("answers false when S3 refuses with %s (%i): another writer has the key", async (name, status) => {
    s3Mock.on(PutObjectCommand).rejects(s3Error(name, status));
    const io = new S3TableFileIO(new S3Client({ region: "us-east-1" }));
    await expect(
      io.writeIfAbsent("s3://lake/tables/t/metadata/v2.metadata.json", new Uint8Array(1)),
    ).resolves.toBe(false);
    expect(s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({ IfNoneMatch: "*" });
  });

  it("passes any other error on", async () => {
    s3Mock.on(PutObjectCommand).rejects(s3Error("InternalError", 500));
    const io = new S3TableFileIO(new S3Client({ region: "us-east-1" }));
    await expect(io.writeIfAbsent("s3://lake/k", new Uint8Array(1))).rejects.toMatchObject({
      name: "InternalError",
    });
  });
});
