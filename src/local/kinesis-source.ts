/**
 * The local Kinesis event source: what Lambda's event source mapping does for the bridge.
 * One poller per shard, batches of up to `batchSize` records gathered for at most the batching
 * window (timed from the oldest record's arrival in the stream), invocations with Lambda's
 * event shape, retries of a failed batch until it succeeds, and a checkpoint per shard,
 * written after each successful batch, that survives restarts.
 */
import {
  type _Record,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
} from "@aws-sdk/client-kinesis";
import type { KinesisStreamEvent, KinesisStreamRecord } from "aws-lambda";
import { shardIds } from "../aws/stream-reader.ts";
import { fullJitterDelay, sleep } from "../core/backoff.ts";
import type { CheckpointStore } from "./checkpoints.ts";
import type { FunctionPool } from "./function-pool.ts";

export interface KinesisSourceOptions {
  kinesis: KinesisClient;
  streamName: string;
  streamArn: string;
  region: string;
  pool: FunctionPool;
  checkpoints: CheckpointStore;
  batchSize: number;
  maxBatchingWindowMs: number;
  /** Pause between empty polls; Lambda polls each shard about once a second. @default 250 */
  idlePollMs?: number;
  /** The source's clock, ms: batching windows and `caughtUpSince` are timed with it. @default Date.now */
  now?: () => number;
  onError?: (error: unknown) => void;
}

export interface KinesisSourceStats {
  recordsRead: number;
  recordsDelivered: number;
  invocations: number;
  failedInvocations: number;
  /** Sums of the numeric fields the function returned (the bridge's records, messages, bytes…). */
  resultTotals: Record<string, number>;
}

/** When the stream received `record`, ms; `fallback` when the stream does not say. */
function arrivalMs(record: _Record, fallback: number): number {
  return record.ApproximateArrivalTimestamp?.getTime() ?? fallback;
}

function toEventRecord(record: _Record, shardId: string, options: KinesisSourceOptions): KinesisStreamRecord {
  return {
    kinesis: {
      kinesisSchemaVersion: "1.0",
      partitionKey: record.PartitionKey ?? "",
      sequenceNumber: record.SequenceNumber ?? "",
      data: Buffer.from(record.Data ?? new Uint8Array()).toString("base64"),
      approximateArrivalTimestamp: arrivalMs(record, Date.now()) / 1000,
    },
    eventSource: "aws:kinesis",
    eventVersion: "1.0",
    eventID: `${shardId}:${record.SequenceNumber}`,
    eventName: "aws:kinesis:record",
    invokeIdentityArn: "arn:aws:iam::000000000000:role/ticklake-local",
    awsRegion: options.region,
    eventSourceARN: options.streamArn,
  };
}

export class KinesisSource {
  readonly #options: KinesisSourceOptions;
  /** Per shard: when the last read that found the tip, with nothing buffered, began. */
  readonly #atTipSince = new Map<string, number>();
  readonly stats: KinesisSourceStats = {
    recordsRead: 0,
    recordsDelivered: 0,
    invocations: 0,
    failedInvocations: 0,
    resultTotals: {},
  };
  #shards: string[] = [];
  #running = false;
  /** Aborted by `stop`: it ends the pauses between reads. */
  #stopping = new AbortController();
  #loops: Promise<void>[] = [];

  constructor(options: KinesisSourceOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    this.#shards = await shardIds(this.#options.kinesis, this.#options.streamName);
    this.#running = true;
    this.#stopping = new AbortController();
    this.#loops = this.#shards.map((shardId) => this.#poll(shardId));
  }

  /**
   * True when, for every shard, a read that began at or after `sinceMs` found the shard's tip
   * with nothing buffered or in flight: all that was in the stream at `sinceMs` is delivered.
   */
  caughtUpSince(sinceMs: number): boolean {
    return (
      this.#shards.length > 0 &&
      this.#shards.every((shardId) => (this.#atTipSince.get(shardId) ?? -1) >= sinceMs)
    );
  }

  /** Stops polling after the batches in flight are delivered and checkpointed. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#stopping.abort();
    await Promise.all(this.#loops);
  }

  async #iterator(shardId: string): Promise<string> {
    const after = this.#options.checkpoints.get(this.#options.streamName, shardId);
    const { ShardIterator } = await this.#options.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: this.#options.streamName,
        ShardId: shardId,
        ...(after
          ? { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: after }
          : { ShardIteratorType: "TRIM_HORIZON" }),
      }),
    );
    if (!ShardIterator) throw new Error(`GetShardIterator returned no iterator for ${shardId}`);
    return ShardIterator;
  }

  async #poll(shardId: string): Promise<void> {
    const options = this.#options;
    const now = options.now ?? Date.now;
    let iterator: string | undefined;
    let buffer: KinesisStreamRecord[] = [];
    let bufferSince = 0;
    let failures = 0;
    // A batch that failed is retried as it was, before anything else is read: Lambda's
    // behaviour for stream sources, which keeps the shard in order.
    let failed: KinesisStreamRecord[] | undefined;
    while (this.#running || failed) {
      if (failed) {
        try {
          await this.#deliver(shardId, failed);
          failed = undefined;
          failures = 0;
        } catch (error) {
          options.onError?.(error);
          if (!this.#running) return; // redelivered from the checkpoint at the next start
          await sleep(fullJitterDelay(++failures, 100, 5_000), this.#stopping.signal);
        }
        continue;
      }
      try {
        const deliver = async () => {
          const batch = buffer;
          buffer = [];
          try {
            await this.#deliver(shardId, batch);
          } catch (error) {
            failed = batch;
            throw error;
          }
        };
        // A window that closed while the last batch was delivered is not held for another read.
        if (buffer.length > 0 && now() - bufferSince >= options.maxBatchingWindowMs) {
          await deliver();
          continue;
        }
        iterator ??= await this.#iterator(shardId);
        const readStartedAt = now();
        const limit = Math.min(10_000, options.batchSize - buffer.length);
        const result = await options.kinesis.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }),
        );
        iterator = result.NextShardIterator;
        failures = 0;
        const records = result.Records ?? [];
        // The window opens when the oldest record buffered reached the stream, not when it was
        // read: a record that arrived during the last delivery or an idle pause has waited
        // already. Never later than the read, whatever the stream's clock says.
        if (records.length > 0 && buffer.length === 0)
          bufferSince = Math.min(readStartedAt, arrivalMs(records[0] as _Record, readStartedAt));
        for (const record of records) buffer.push(toEventRecord(record, shardId, options));
        this.stats.recordsRead += records.length;

        const windowClosed = now() - bufferSince >= options.maxBatchingWindowMs;
        if (buffer.length > 0 && (buffer.length >= options.batchSize || windowClosed || !this.#running))
          await deliver();
        // A full page may have more behind it: kinesalite reports MillisBehindLatest 0 always.
        const atTip = records.length === 0 || (result.MillisBehindLatest === 0 && records.length < limit);
        if (buffer.length === 0 && atTip) this.#atTipSince.set(shardId, readStartedAt);
        if (!iterator) return; // the shard was closed by a reshard
        // Nothing new: pause before the next read, but not past the window of what is
        // buffered, which Lambda delivers when its window closes, not at a later poll.
        if (records.length === 0) {
          const windowLeft =
            buffer.length > 0 ? bufferSince + options.maxBatchingWindowMs - now() : Number.POSITIVE_INFINITY;
          await sleep(Math.max(0, Math.min(options.idlePollMs ?? 250, windowLeft)), this.#stopping.signal);
        }
      } catch (error) {
        options.onError?.(error);
        if (!failed) {
          // Reading failed: re-read from the checkpoint; what was buffered comes again.
          iterator = undefined;
          buffer = [];
        }
        await sleep(fullJitterDelay(++failures, 100, 5_000), this.#stopping.signal);
      }
    }
  }

  /** Invokes the function with one batch and checkpoints it. */
  async #deliver(shardId: string, records: KinesisStreamRecord[]): Promise<void> {
    const event: KinesisStreamEvent = { Records: records };
    this.stats.invocations++;
    let result: { records?: unknown } | undefined;
    try {
      result = await this.#options.pool.invoke<{ records?: unknown } | undefined>(event);
    } catch (error) {
      this.stats.failedInvocations++;
      throw error;
    }
    const last = records[records.length - 1] as KinesisStreamRecord;
    await this.#options.checkpoints.set(this.#options.streamName, shardId, last.kinesis.sequenceNumber);
    // The bridge reports user records, which differ from Kinesis records when they are aggregated.
    this.stats.recordsDelivered += typeof result?.records === "number" ? result.records : records.length;
    for (const [name, value] of Object.entries(result ?? {})) {
      if (typeof value === "number")
        this.stats.resultTotals[name] = (this.stats.resultTotals[name] ?? 0) + value;
    }
  }
}
