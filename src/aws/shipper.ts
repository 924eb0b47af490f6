/**
 * The log shipper (DESIGN §3): never loses an accepted record.
 *
 * - Records of one partition key (the instrument) are KPL-aggregated into one Kinesis record
 *   per PutRecords call, so small events are not billed 1 KiB each, and a key's records
 *   succeed or fail together: a retry cannot reorder them.
 * - PutRecords calls hold ≤ 500 records and ≤ 5 MiB; only failed records are retried, ahead
 *   of newer ones, with exponential backoff and full jitter.
 * - Memory is bounded: past `maxBufferedRecords`, records go to a disk spool (in order) while
 *   Kinesis cannot keep up or is unreachable, and are replayed from it on recovery. Without a
 *   spool, or with the spool full, `ship` refuses with ShipperFullError: an alarm, not a loss.
 * - `close()` flushes; what Kinesis still cannot take is written to the spool for next time.
 * - A call whose outcome is unknown (the connection died before the answer, or a 5xx) may have
 *   been stored. Before its records are sent again, the shards are read from just before the
 *   call, and records found there are acknowledged, not sent twice. Give the shipper
 *   `clients.shippingKinesis` (no SDK retries): the SDK's retries of such a call would be
 *   invisible here.
 */
import { createHash } from "node:crypto";
import { type KinesisClient, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { fullJitterDelay, sleep } from "../core/backoff.ts";
import type { Envelope } from "../core/events.ts";
import { checkPartitionKey, partitionKeyOf } from "../core/partition-keys.ts";
import { envelopeBytes } from "../core/serialize.ts";
import {
  emptyShipperStats,
  fullCall,
  planCall,
  type ShipperStats,
  type ShippingPolicy,
  shippingPolicy,
} from "../core/shipping.ts";
import { ShipperFullError } from "./errors.ts";
import { DiskSpool, type SpooledRecord } from "./spool.ts";
import { type ShardStart, shardIds, shardPages, userRecords } from "./stream-reader.ts";

export type ShipperOptions = Partial<ShippingPolicy> & {
  kinesis: KinesisClient;
  streamName: string;
  /** Folder of the disk spool; without one, a full memory buffer refuses records. */
  spoolDir?: string;
};

/** What a producer needs of a shipper: KinesisShipper here, or ShipperWorker on a thread. */
export interface LogShipper {
  /** Accepts an envelope for delivery, or throws a ShipperRefusal. */
  ship(envelope: Envelope): void;
  /**
   * Accepts a raw record, text or its UTF-8 bytes, as it is (`ticklake send` must be able to
   * send bad records too), or throws a ShipperRefusal.
   */
  shipRaw(record: string | Buffer, partitionKey: string): void;
  readonly stats: ShipperStats;
  /** Records accepted and not yet acknowledged by Kinesis. */
  readonly buffered: number;
  /** Resolves once every record accepted so far is acknowledged by Kinesis. */
  flush(): Promise<void>;
  /** Flushes for at most `timeoutMs`, keeps what is left for the next start; returns its count. */
  close(timeoutMs?: number): Promise<number>;
}

/**
 * Whether a failed call may still have been stored: no answer came back (other than a refused
 * connection, which never reached a server), or the server failed (5xx) part-way.
 */
export function outcomeUnknown(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500;
  const code = (error as { code?: unknown }).code;
  return code !== "ECONNREFUSED";
}

/** How far before a call its records may show as arrived: clocks of client and server differ. */
const ARRIVAL_CLOCK_SKEW_MS = 60_000;

const contentKey = (data: Uint8Array) => createHash("sha1").update(data).digest("base64");

export class KinesisShipper implements LogShipper {
  readonly #kinesis: KinesisClient;
  readonly #streamName: string;
  readonly #policy: ShippingPolicy;
  readonly #spool: DiskSpool | undefined;
  #memory: SpooledRecord[] = [];
  /** Segments read into memory whose records are not all acknowledged yet. */
  readonly #unacked = new Map<number, number>();
  #lastReadSegment: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> | undefined;
  #failures = 0;
  #closed = false;
  /** Records taken out of memory for the PutRecords call under way. */
  #inFlight = 0;
  /** `flush()` calls waiting: while any waits, calls go out without waiting to be full. */
  #flushing = 0;
  /** Records in memory that make a call worth sending at once. */
  readonly #fullCall: number;
  /** Records of a call whose outcome is unknown, and when that call began. */
  #unsure: { records: Set<SpooledRecord>; sinceMs: number } | undefined;
  readonly stats: ShipperStats = emptyShipperStats();

  constructor(options: ShipperOptions) {
    const { kinesis, streamName, spoolDir, ...policy } = options;
    this.#kinesis = kinesis;
    this.#streamName = streamName;
    this.#policy = shippingPolicy(policy);
    this.#fullCall = fullCall(this.#policy);
    this.#spool = spoolDir ? new DiskSpool(spoolDir, this.#policy.maxSpoolBytes) : undefined;
    if (this.#spool && this.#spool.records > 0) this.#kick();
  }

  /** Records accepted and not yet acknowledged: in memory, in flight, and on disk. */
  get buffered(): number {
    return this.#memory.length + this.#inFlight + (this.#spool?.records ?? 0);
  }

  /** Accepts an envelope for delivery, or throws ShipperFullError. */
  ship(envelope: Envelope): void {
    this.shipRaw(envelopeBytes(envelope), partitionKeyOf(envelope));
  }

  /** Accepts a raw record, or throws ShipperFullError. Bytes are kept as they are, not copied. */
  shipRaw(record: string | Buffer, partitionKey: string): void {
    checkPartitionKey(partitionKey);
    const data = typeof record === "string" ? Buffer.from(record) : record;
    // While any record is on disk (read back or not), newer ones queue behind it there, so
    // memory holds either records that never touched the disk or one segment's: order is kept.
    const toDisk =
      (this.#spool !== undefined && !this.#spool.isEmpty) ||
      this.#memory.length >= this.#policy.maxBufferedRecords;
    if (!toDisk) {
      this.#memory.push({ key: partitionKey, data });
    } else if (this.#spool?.hasRoomFor(partitionKey, data.length)) {
      this.#spool.append(partitionKey, data);
      this.stats.spooled++;
    } else {
      this.stats.refused++;
      throw new ShipperFullError(this.#spool ? "spool" : "memory buffer");
    }
    this.stats.queued++;
    if (this.#memory.length >= this.#fullCall) this.#kick();
    else this.#timer ??= setTimeout(() => this.#kick(), this.#policy.flushIntervalMs);
  }

  #kick(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#sending ??= this.#drain().finally(() => {
      this.#sending = undefined;
      // Through a timer, not at once: a drain that could not progress must not spin. Records
      // left for want of a full call wait out the flush interval.
      const wait = this.#eager() ? 10 : this.#policy.flushIntervalMs;
      if (this.buffered > 0 && !this.#closed) this.#timer ??= setTimeout(() => this.#kick(), wait);
    });
  }

  /**
   * Whether the next call should go out now rather than wait for more records: fewer, fuller
   * calls cost less per record in the SDK and in Kinesis.
   */
  #eager(): boolean {
    return this.#memory.length >= this.#fullCall || (this.#spool?.records ?? 0) > 0 || this.#flushing > 0;
  }

  #refill(): void {
    if (this.#memory.length > 0 || !this.#spool || this.#spool.records === 0) return;
    const records = this.#spool.readNext(this.#lastReadSegment);
    const segment = records[0]?.segment;
    if (segment === undefined) return;
    this.#lastReadSegment = segment;
    this.#unacked.set(segment, records.length);
    this.#memory = records;
  }

  #acknowledge(records: readonly SpooledRecord[]): void {
    for (const record of records) {
      if (record.segment === undefined) continue;
      const left = (this.#unacked.get(record.segment) ?? 1) - 1;
      if (left > 0) this.#unacked.set(record.segment, left);
      else {
        this.#unacked.delete(record.segment);
        this.#spool?.release(record.segment);
      }
    }
  }

  async #drain(): Promise<void> {
    for (this.#refill(); this.#memory.length > 0 && !this.#closed; this.#refill()) {
      if (this.#unsure) {
        try {
          await this.#reconcile(this.#unsure);
          this.#unsure = undefined;
        } catch {
          // Kinesis is still unreachable: check again before the next attempt.
          this.#failures++;
          await sleep(fullJitterDelay(this.#failures, 50, 2_000));
          continue;
        }
        if (this.#memory.length === 0) continue;
      }
      const call = planCall(this.#memory, this.#policy);
      this.#memory.splice(0, call.taken);
      this.#inFlight = call.taken;
      const failed: SpooledRecord[] = [];
      const startedAt = Date.now();
      try {
        const result = await this.#kinesis.send(
          new PutRecordsCommand({
            StreamName: this.#streamName,
            Records: call.entries.map((entry) => ({ PartitionKey: entry.partitionKey, Data: entry.data })),
          }),
        );
        this.stats.putRecordsCalls++;
        call.entries.forEach((entry, index) => {
          if (result.Records?.[index]?.ErrorCode !== undefined) {
            failed.push(...entry.members);
            return;
          }
          this.stats.sent += entry.members.length;
          this.stats.kinesisRecords++;
          this.stats.bytesSent += entry.data.byteLength;
          this.#acknowledge(entry.members);
        });
      } catch (error) {
        for (const entry of call.entries) failed.push(...entry.members);
        if (outcomeUnknown(error)) this.#markUnsure(failed, startedAt);
      }
      this.#inFlight = 0;
      if (failed.length > 0) {
        // Failed keys go back to the front: each key's records stay ahead of its newer ones.
        this.stats.retried += failed.length;
        this.#memory.unshift(...failed);
        // Backoff grows only while whole calls fail; partial throttling backs off briefly.
        const wholeCallFailed = failed.length === call.taken;
        this.#failures = wholeCallFailed ? this.#failures + 1 : 0;
        await sleep(fullJitterDelay(Math.max(1, this.#failures), 50, 2_000));
      } else {
        this.#failures = 0;
        if (!this.#eager()) break;
      }
    }
  }

  /** Remembers records of a call that may have been stored, to check before sending them again. */
  #markUnsure(records: readonly SpooledRecord[], sinceMs: number): void {
    const before = this.#unsure;
    this.#unsure = {
      records: new Set([...(before?.records ?? []), ...records]),
      sinceMs: Math.min(before?.sinceMs ?? sinceMs, sinceMs),
    };
  }

  /**
   * Reads every shard from just before the unsure call to its tip, and acknowledges the unsure
   * records found there (matched by content, each copy once), removing them from memory.
   */
  async #reconcile(unsure: { records: Set<SpooledRecord>; sinceMs: number }): Promise<void> {
    const byContent = new Map<string, SpooledRecord[]>();
    for (const record of unsure.records) {
      const key = contentKey(record.data);
      const same = byContent.get(key);
      if (same) same.push(record);
      else byContent.set(key, [record]);
    }
    const kinesis = this.#kinesis;
    const streamName = this.#streamName;
    const found = new Set<SpooledRecord>();
    const start: ShardStart = {
      ShardIteratorType: "AT_TIMESTAMP",
      Timestamp: new Date(unsure.sinceMs - ARRIVAL_CLOCK_SKEW_MS),
    };
    for (const shardId of await shardIds(kinesis, streamName)) {
      for await (const page of shardPages(kinesis, streamName, shardId, start)) {
        for (const user of page.flatMap(userRecords)) {
          const match = byContent.get(contentKey(user.data))?.find((candidate) => !found.has(candidate));
          if (match) found.add(match);
        }
      }
    }
    if (found.size === 0) return;
    this.#memory = this.#memory.filter((record) => !found.has(record));
    this.#acknowledge([...found]);
    this.stats.sent += found.size;
    this.stats.foundStored += found.size;
  }

  /** Resolves once every accepted record is acknowledged by Kinesis. */
  async flush(): Promise<void> {
    this.#flushing++;
    try {
      while (this.buffered > 0 || this.#sending) {
        this.#kick();
        await this.#sending;
        if (this.buffered > 0) await sleep(10);
      }
    } finally {
      this.#flushing--;
    }
  }

  /**
   * Flushes for at most `timeoutMs`; whatever Kinesis has not taken by then goes to the spool
   * (ahead of what is already there) to be sent at the next start. Without a spool, what is
   * left is reported as dropped. Returns the number of records left over.
   */
  async close(timeoutMs = 10_000): Promise<number> {
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise((resolve) => (timeout = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timeout);
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#sending;
    // Records that never touched the disk are older than every segment (see shipRaw); those
    // read back from a segment are still in its file.
    const inMemory = this.#memory.filter((record) => record.segment === undefined);
    const readBack = this.#memory.length - inMemory.length;
    this.#memory = [];
    if (!this.#spool) {
      this.stats.dropped += inMemory.length;
      return inMemory.length;
    }
    this.#spool.prepend(inMemory);
    this.#spool.sync();
    return this.#spool.records + readBack;
  }
}
