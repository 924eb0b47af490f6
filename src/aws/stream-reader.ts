/**
 * Reading a Kinesis stream back to its tip: the shards, their pages, and the user records in
 * them (KPL aggregates opened). Replay, crash recovery and the shipper's check after a lost
 * answer all read this way; the Lambda-like event source keeps its own polling loop.
 */
import {
  type _Record,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
  ListShardsCommand,
} from "@aws-sdk/client-kinesis";
import { deaggregate } from "../core/aggregation.ts";
import { sleep } from "../core/backoff.ts";
import type { StreamRecord } from "../core/packing.ts";

/** Every shard of the stream, through ListShards' pages. */
export async function shardIds(kinesis: KinesisClient, streamName: string): Promise<string[]> {
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const page = await kinesis.send(
      new ListShardsCommand(token ? { NextToken: token } : { StreamName: streamName }),
    );
    for (const shard of page.Shards ?? []) if (shard.ShardId) ids.push(shard.ShardId);
    token = page.NextToken;
  } while (token);
  return ids;
}

/** Where a read starts: the iterator type and its argument, as GetShardIterator takes them. */
export type ShardStart = Pick<
  GetShardIteratorCommandInput,
  "ShardIteratorType" | "StartingSequenceNumber" | "Timestamp"
>;

/**
 * The non-empty pages of a shard from `start` to its tip. The tip is an empty page with
 * MillisBehindLatest 0 (kinesalite reports 0 on every page, so a full page is never taken for
 * it); an empty page behind the tip is a gap, read on after a pause (5 reads a second at most).
 */
export async function* shardPages(
  kinesis: KinesisClient,
  streamName: string,
  shardId: string,
  start: ShardStart,
): AsyncGenerator<_Record[]> {
  let { ShardIterator: iterator } = await kinesis.send(
    new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ...start }),
  );
  while (iterator) {
    const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
    iterator = page.NextShardIterator;
    const records = page.Records ?? [];
    if (records.length > 0) yield records;
    else if ((page.MillisBehindLatest ?? 0) === 0) return;
    else await sleep(200);
  }
}

/** The user records of a Kinesis record: itself, or the members of a KPL aggregate. */
export function userRecords(record: _Record): StreamRecord[] {
  return deaggregate({
    sequenceNumber: record.SequenceNumber ?? "",
    partitionKey: record.PartitionKey ?? "",
    arrivalMs: record.ApproximateArrivalTimestamp?.getTime() ?? 0,
    data: record.Data ?? new Uint8Array(),
  });
}
