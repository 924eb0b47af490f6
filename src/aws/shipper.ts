/**
 * The log shipper: batches envelopes into PutRecords calls (≤ 500 records, ≤ 5 MiB), retries
 * only the records that failed, with exponential backoff and full jitter, and never drops an
 * accepted record. Memory is bounded: past `maxBufferedRecords`, `ship` refuses new records
 * with a ShipperFullError instead of losing old ones.
 */
import { type KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from "@aws-sdk/client-kinesis";
import { fullJitterDelay, sleep } from "../core/backoff.ts";
import { TicklakeError } from "../core/errors.ts";
import type { Envelope } from "../core/events.ts";

export class ShipperFullError extends TicklakeError {
  constructor(buffered: number) {
    super(
      "SHIPPER_FULL",
      `log shipper buffer is full (${buffered} records waiting for Kinesis); record refused`,
    );
  }
}

const MAX_RECORDS_PER_CALL = 500;
const MAX_BYTES_PER_CALL = 5 * 1024 * 1024;

export interface ShipperOptions {
  kinesis: KinesisClient;
  streamName: string;
  /** @default 100 */
  flushIntervalMs?: number;
  /** @default 200_000 */
  maxBufferedRecords?: number;
}

export interface ShipperStats {
  /** Accepted by `ship`. */
  queued: number;
  /** Acknowledged by Kinesis. */
  sent: number;
  /** Record attempts that failed and were retried. */
  retried: number;
  /** Refused by `ship` because the buffer was full. */
  refused: number;
  /** Accepted records lost: stays 0. */
  dropped: number;
  putRecordsCalls: number;
  bytesSent: number;
}

/** The instrument a record is about: records of one instrument stay in order on one shard. */
export function partitionKeyOf(envelope: Envelope): string {
  switch (envelope.type) {
    case "fx.quote":
      return envelope.data.pair;
    case "stock.quote":
      return envelope.data.symbol;
    case "news.article":
      return envelope.data.symbols[0] ?? envelope.data.articleId;
    case "http.request":
      return envelope.data.requestId;
  }
}

export class KinesisShipper {
  readonly #options: ShipperOptions;
  #buffer: PutRecordsRequestEntry[] = [];
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> | undefined;
  #failures = 0;
  readonly stats: ShipperStats = {
    queued: 0,
    sent: 0,
    retried: 0,
    refused: 0,
    dropped: 0,
    putRecordsCalls: 0,
    bytesSent: 0,
  };

  constructor(options: ShipperOptions) {
    this.#options = options;
  }

  get buffered(): number {
    return this.#buffer.length;
  }

  /** Accepts an envelope for delivery, or throws ShipperFullError. */
  ship(envelope: Envelope): void {
    this.shipRaw(JSON.stringify(envelope), partitionKeyOf(envelope));
  }

  /** Accepts raw record text (for `ticklake send`, which must be able to send bad records too). */
  shipRaw(text: string, partitionKey: string): void {
    if (this.#buffer.length >= (this.#options.maxBufferedRecords ?? 200_000)) {
      this.stats.refused++;
      throw new ShipperFullError(this.#buffer.length);
    }
    this.#buffer.push({ Data: Buffer.from(text), PartitionKey: partitionKey });
    this.stats.queued++;
    if (this.#buffer.length >= MAX_RECORDS_PER_CALL) this.#kick();
    else this.#timer ??= setTimeout(() => this.#kick(), this.#options.flushIntervalMs ?? 100);
  }

  #kick(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#sending ??= this.#drain().finally(() => {
      this.#sending = undefined;
      if (this.#buffer.length > 0) this.#kick();
    });
  }

  /** Takes the next call's worth of records off the front of the buffer. */
  #take(): PutRecordsRequestEntry[] {
    let bytes = 0;
    let count = 0;
    for (const entry of this.#buffer) {
      const size = (entry.Data?.byteLength ?? 0) + Buffer.byteLength(entry.PartitionKey ?? "");
      if (count === MAX_RECORDS_PER_CALL || (count > 0 && bytes + size > MAX_BYTES_PER_CALL)) break;
      bytes += size;
      count++;
    }
    return this.#buffer.splice(0, count);
  }

  async #drain(): Promise<void> {
    while (this.#buffer.length > 0) {
      const batch = this.#take();
      const failed: PutRecordsRequestEntry[] = [];
      try {
        const result = await this.#options.kinesis.send(
          new PutRecordsCommand({ StreamName: this.#options.streamName, Records: batch }),
        );
        this.stats.putRecordsCalls++;
        batch.forEach((entry, index) => {
          if (result.Records?.[index]?.ErrorCode !== undefined) {
            failed.push(entry);
          } else {
            this.stats.sent++;
            this.stats.bytesSent += entry.Data?.byteLength ?? 0;
          }
        });
      } catch {
        failed.push(...batch);
      }
      if (failed.length > 0) {
        // Failed records go back to the front, ahead of newer records of the same key.
        this.stats.retried += failed.length;
        this.#buffer.unshift(...failed);
        await sleep(fullJitterDelay(++this.#failures, 50, 2_000));
      } else {
        this.#failures = 0;
      }
    }
  }

  /** Resolves once every accepted record is acknowledged by Kinesis. */
  async flush(): Promise<void> {
    while (this.#buffer.length > 0 || this.#sending) {
      this.#kick();
      await this.#sending;
    }
  }
}
