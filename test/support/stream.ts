/** Reads a whole stream back, deaggregated, in order per shard: what consumers would see. */
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
} from "@aws-sdk/client-kinesis";
import { deaggregate } from "../../src/core/aggregation.ts";
import type { StreamRecord } from "../../src/core/packing.ts";

export async function readStream(
  kinesis: KinesisClient,
  streamName: string,
): Promise<{ kinesisRecords: number; records: StreamRecord[] }> {
  const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: streamName }));
  let kinesisRecords = 0;
  const records: StreamRecord[] = [];
  for (const shard of Shards) {
    let { ShardIterator: iterator } = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: streamName,
        ShardId: shard.ShardId,
        ShardIteratorType: "TRIM_HORIZON",
      }),
    );
    while (iterator) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const record of page.Records ?? []) {
        kinesisRecords++;
        records.push(
          ...deaggregate({
            sequenceNumber: record.SequenceNumber ?? "",
            partitionKey: record.PartitionKey ?? "",
            arrivalMs: record.ApproximateArrivalTimestamp?.getTime() ?? 0,
            data: record.Data ?? new Uint8Array(),
          }),
        );
      }
      if ((page.Records ?? []).length === 0 || page.MillisBehindLatest === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return { kinesisRecords, records };
}
