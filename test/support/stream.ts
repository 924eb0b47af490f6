/** Reads a whole stream back, deaggregated, in order per shard: what consumers would see. */
import type { KinesisClient } from "@aws-sdk/client-kinesis";
import { shardIds, shardPages, userRecords } from "../../src/aws/stream-reader.ts";
import type { StreamRecord } from "../../src/core/packing.ts";

export async function readStream(
  kinesis: KinesisClient,
  streamName: string,
): Promise<{ kinesisRecords: number; records: StreamRecord[] }> {
  let kinesisRecords = 0;
  const records: StreamRecord[] = [];
  for (const shardId of await shardIds(kinesis, streamName)) {
    for await (const page of shardPages(kinesis, streamName, shardId, {
      ShardIteratorType: "TRIM_HORIZON",
    })) {
      kinesisRecords += page.length;
      records.push(...page.flatMap(userRecords));
    }
  }
  return { kinesisRecords, records };
}
