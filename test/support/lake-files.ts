/**
 * Lake files written the way the processor writes them, for tests and benchmarks (no test
 * runner imported here).
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { putObjectIfAbsent } from "../../src/aws/lake.ts";
import type { Envelope } from "../../src/core/events.ts";
import { type AnnouncedFile, announcedFileOf } from "../../src/core/iceberg/commit.ts";
import { packRecords } from "../../src/core/packing.ts";
import { manifestFor, planObjects } from "../../src/core/planning.ts";

let nextSequence = 1n;

/**
 * Writes events to the lake as the processor does (one packed message per call on `shardId`,
 * one object per dataset and hour, `If-None-Match`), and returns the announced lake files.
 */
export async function writeLakeFiles(
  s3: S3Client,
  bucket: string,
  events: readonly Envelope[],
  shardId = "shardId-000000000000",
): Promise<AnnouncedFile[]> {
  const records = events.map((event) => {
    const sequenceNumber = `4959${String(nextSequence++).padStart(52, "0")}`;
    return {
      sequenceNumber,
      partitionKey: "k",
      arrivalMs: Date.parse(event.ts),
      data: Buffer.from(JSON.stringify(event)),
    };
  });
  const files: AnnouncedFile[] = [];
  for (const message of packRecords(records, {
    stream: "ticklake-test",
    shardId,
    maxMessageBytes: 1_048_576,
  })) {
    for (const plan of planObjects(message)) {
      if (plan.kind !== "lake") continue;
      await putObjectIfAbsent(s3, bucket, plan);
      files.push(announcedFileOf(manifestFor(plan, bucket, message)));
    }
  }
  return files;
}
