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
import { type KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from "@aws-sdk/client-kinesis";
import { aggregate, aggregatedSize } from "../core/aggregation.ts";
import { fullJitterDelay, sleep } from "../core/backoff.ts";
import { TicklakeError } from "../core/errors.ts";
import type { Envelope } from "../core/events.ts";
import { envelopeBytes } from "../core/serialize.ts";
import { DiskSpool, type SpooledRecord } from "./spool.ts";
import { type ShardStart, shardIds, shardPages, userRecords } from "./stream-reader.ts";

export class ShipperFullError extends TicklakeError {
  constructor(where: string) {
    super("SHIPPER_FULL", `log shipper ${where} is full; record refused (see the shipper's alarms)`);
  }
}

const MAX_RECORDS_PER_CALL = 500;
/** User records that make an aggregated call worth sending without waiting for more. */
const FULL_AGGREGATED_CALL = 4_000;
const MAX_BYTES_PER_CALL = 5 * 1024 * 1024;

export interface ShipperOptions {
  kinesis: KinesisClient;
  streamName: string;
  /**
   * How long records wait for a full call before they are sent anyway (the KPL's
   * RecordMaxBufferedTime). Calls go out at once while a full call's worth is waiting, the
   * spool holds a backlog, or `flush()` waits. @default 100
   */
  flushIntervalMs?: number;
  /** Records held in memory; more go to the spool. @default 50_000 */
  maxBufferedRecords?: number;
  /** Folder of the disk spool; without one, a full memory buffer refuses records. */
  spoolDir?: string;
  /** @default 1 GiB */
  maxSpoolBytes?: number;
  /**
   * Aggregate records per partition key (KPL format). Without it, a partial failure can
   * reorder a key's records within a call. @default true
   */
  aggregate?: boolean;
  /** Largest aggregated record; the KPL's default is 51,200. @default 51_200 */
  maxAggregateBytes?: number;
}

export interface ShipperStats {
  /** Accepted by `ship`. */
  queued: number;
  /** User records acknowledged by Kinesis. */
  sent: number;
  /** User-record attempts that failed and were retried. */
  retried: number;
  /** Records written to the disk spool. */
  spooled: number;
  /** Refused by `ship` because memory (without spool) or the spool was full. */
  refused: number;
  /** Accepted records lost: stays 0. */
  dropped: number;
  putRecordsCalls: number;
  /** Kinesis records put (aggregates count once). */
  kinesisRecords: number;
  bytesSent: number;
  /** Records of calls with an unknown outcome that were found stored, so not sent again. */
  foundStored: number;
}

export function emptyShipperStats(): ShipperStats {
  return {
    queued: 0,
    sent: 0,
    retried: 0,
    spooled: 0,
    refused: 0,
    dropped: 0,
    putRecordsCalls: 0,
    kinesisRecords: 0,
    bytesSent: 0,
    foundStored: 0,
  };
}

/** Kinesis takes partition keys of 1 to 256 characters. */
const MAX_PARTITION_KEY_LENGTH = 256;

export function checkPartitionKey(partitionKey: string): void {
  if (partitionKey.length === 0 || partitionKey.length > MAX_PARTITION_KEY_LENGTH)
    throw new RangeError(
      `partitionKey must be 1 to ${MAX_PARTITION_KEY_LENGTH} characters (got ${partitionKey.length}: "${partitionKey.slice(0, 40)}${partitionKey.length > 40 ? "…" : ""}")`,
    );
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
      return requestLogKey(envelope.data.requestId);
  }
}

/** Partition keys the request log spreads over. */
export const REQUEST_LOG_KEYS = 16;

/**
 * Request logs have no instrument and need no order among themselves: they spread over
 * REQUEST_LOG_KEYS keys by a hash of the request id, so that each key's records aggregate
 * (a key per request would put every request log in a Kinesis record of its own).
 */
export function requestLogKey(requestId: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < requestId.length; i++) hash = Math.imul(hash ^ requestId.charCodeAt(i), 0x01000193);
  return `http-${(hash >>> 0) % REQUEST_LOG_KEYS}`;
}

/** What a producer needs of a shipper: KinesisShipper here, or ShipperWorker on a thread. */
export interface LogShipper {
  ship(envelope: Envelope): void;
  shipRaw(text: string, partitionKey: string): void;
  readonly stats: ShipperStats;
  readonly buffered: number;
  flush(): Promise<void>;
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

interface Batch {
  entries: PutRecordsRequestEntry[];
  /** The user records of each entry, in order. */
  members: SpooledRecord[][];
  taken: number;
}

export class KinesisShipper implements LogShipper {
  readonly #options: ShipperOptions;
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
  /** How long records wait for a full call (`flushIntervalMs`). */
  readonly #flushIntervalMs: number;
  /** Records of a call whose outcome is unknown, and when that call began. */
  #unsure: { records: Set<SpooledRecord>; sinceMs: number } | undefined;
  readonly stats: ShipperStats = emptyShipperStats();

  constructor(options: ShipperOptions) {
    this.#options = options;
    // Aggregated, a call holds up to 5 MiB; some thousands of ~250-byte records fill it well.
    this.#fullCall = (options.aggregate ?? true) ? FULL_AGGREGATED_CALL : MAX_RECORDS_PER_CALL;
    this.#flushIntervalMs = options.flushIntervalMs ?? 100;
    this.#spool = options.spoolDir
      ? new DiskSpool(options.spoolDir, options.maxSpoolBytes ?? 1024 ** 3)
      : undefined;
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

  /**
   * Accepts a raw record, text or its UTF-8 bytes (`ticklake send` must be able to send bad
   * records too). Bytes are kept as they are, not copied.
   */
  shipRaw(text: string | Buffer, partitionKey: string): void {
    checkPartitionKey(partitionKey);
    const data = typeof text === "string" ? Buffer.from(text) : text;
    // While any record is on disk (read back or not), newer ones queue behind it there, so
    // memory holds either records that never touched the disk or one segment's: order is kept.
    const toDisk =
      (this.#spool !== undefined && !this.#spool.isEmpty) ||
      this.#memory.length >= (this.#options.maxBufferedRecords ?? 50_000);
    if (!toDisk) {
      this.#memory.push({ key: partitionKey, data });
    } else if (this.#spool?.hasRoomFor(data.length * 1.4 + partitionKey.length + 16)) {
      this.#spool.append(partitionKey, data);
      this.stats.spooled++;
    } else {
      this.stats.refused++;
      throw new ShipperFullError(this.#spool ? "spool" : "memory buffer");
    }
    this.stats.queued++;
    if (this.#memory.length >= this.#fullCall) this.#kick();
    else this.#timer ??= setTimeout(() => this.#kick(), this.#flushIntervalMs);
  }

  #kick(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#sending ??= this.#drain().finally(() => {
      this.#sending = undefined;
      // Through a timer, not at once: a drain that could not progress must not spin. Records
      // left for want of a full call wait out the flush interval.
      const wait = this.#eager() ? 10 : this.#flushIntervalMs;
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

  /** Takes the next call's worth of records off the front of memory, aggregated per key. */
  #take(): Batch {
    const aggregateOn = this.#options.aggregate ?? true;
    const maxAggregate = this.#options.maxAggregateBytes ?? 51_200;
    const groups = new Map<string, { members: SpooledRecord[]; bytes: number }>();
    let callBytes = 0;
    let taken = 0;
    for (const record of this.#memory) {
      const size = aggregateOn
        ? aggregatedSize({ partitionKey: record.key, data: record.data })
        : record.data.length;
      // The call stops at the first record that does not fit; nothing is taken out of order.
      if (taken > 0 && callBytes + size + record.key.length > MAX_BYTES_PER_CALL - 64 * 1024) break;
      const group = aggregateOn ? groups.get(record.key) : undefined;
      // A key gets one Kinesis record per call, so a partial failure cannot reorder its records.
      if (group) {
        if (group.bytes + size > maxAggregate) break;
        group.members.push(record);
        group.bytes += size;
      } else {
        if (groups.size >= MAX_RECORDS_PER_CALL) break;
        groups.set(aggregateOn ? record.key : String(taken), { members: [record], bytes: size + 64 });
      }
      callBytes += size + record.key.length;
      taken++;
    }
    const members = [...groups.values()].map((group) => group.members);
    const entries = members.map((group) => {
      const first = group[0] as SpooledRecord;
      return {
        PartitionKey: first.key,
        Data:
          group.length === 1 && !aggregateOn
            ? first.data
            : aggregate(group.map((r) => ({ partitionKey: r.key, data: r.data }))),
      };
    });
    return { entries, members, taken };
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
      const batch = this.#take();
      this.#memory.splice(0, batch.taken);
      this.#inFlight = batch.taken;
      const failed: SpooledRecord[] = [];
      const startedAt = Date.now();
      try {
        const result = await this.#options.kinesis.send(
          new PutRecordsCommand({ StreamName: this.#options.streamName, Records: batch.entries }),
        );
        this.stats.putRecordsCalls++;
        batch.entries.forEach((entry, index) => {
          const members = batch.members[index] ?? [];
          if (result.Records?.[index]?.ErrorCode !== undefined) {
            failed.push(...members);
            return;
          }
          this.stats.sent += members.length;
          this.stats.kinesisRecords++;
          this.stats.bytesSent += entry.Data?.byteLength ?? 0;
          this.#acknowledge(members);
        });
      } catch (error) {
        for (const members of batch.members) failed.push(...members);
        if (outcomeUnknown(error)) this.#markUnsure(failed, startedAt);
      }
      this.#inFlight = 0;
      if (failed.length > 0) {
        // Failed keys go back to the front: each key's records stay ahead of its newer ones.
        this.stats.retried += failed.length;
        this.#memory.unshift(...failed);
        // Backoff grows only while whole calls fail; partial throttling backs off briefly.
        const wholeCallFailed = failed.length === batch.taken;
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
    const { kinesis, streamName } = this.#options;
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
