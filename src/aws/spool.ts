/**
 * The shipper's disk spool: where accepted log records wait while Kinesis cannot take them,
 * in order, across restarts. Segments are newline-delimited JSON files named by an increasing
 * number; the shipper reads the oldest, and deletes it once every record in it is
 * acknowledged by Kinesis (so a crash replays a segment rather than losing it).
 */
import {
  appendFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

export interface SpooledRecord {
  key: string;
  data: Buffer;
  /** The segment it was read from; absent for records that never touched the disk. */
  segment?: number;
}

const SEGMENT_BYTES = 8 * 1024 * 1024;

/** Base64 writes 4 bytes for every 3, rounded up to whole groups: 1.4 bounds the growth. */
const BASE64_GROWTH = 1.4;
/** A line's own bytes: `{"k":"","d":""}` and its newline. */
const LINE_FRAMING_BYTES = 16;

/**
 * Bytes a record's line takes in a segment, `{"k":KEY,"d":BASE64}\n`, estimated without
 * encoding it: what the spool's capacity is checked with before a record is taken.
 */
export function spooledLineBytes(key: string, dataBytes: number): number {
  return dataBytes * BASE64_GROWTH + key.length + LINE_FRAMING_BYTES;
}
const nameOf = (n: number) => `segment-${String(n).padStart(12, "0")}.ndjson`;
const numberOf = (name: string) => Number(/^segment-(\d{12})\.ndjson$/.exec(name)?.[1] ?? Number.NaN);

export class DiskSpool {
  readonly #dir: string;
  readonly #maxBytes: number;
  #segments: number[] = [];
  /** Numbers only grow: a released segment's number is never used again. */
  #nextSegment = 1_000_000_001;
  #tailBytes = 0;
  #pending: string[] = [];
  #pendingBytes = 0;
  /** Records written or waiting to be written, and not yet read back. */
  #records = 0;
  #bytes = 0;

  constructor(dir: string, maxBytes: number) {
    this.#dir = dir;
    this.#maxBytes = maxBytes;
    mkdirSync(dir, { recursive: true });
    for (const name of readdirSync(dir)) {
      const n = numberOf(name);
      if (Number.isNaN(n)) continue;
      this.#segments.push(n);
      const content = readFileSync(join(dir, name), "utf8");
      this.#records += content.split("\n").filter((line) => line !== "").length;
      this.#bytes += Buffer.byteLength(content);
    }
    this.#segments.sort((a, b) => a - b);
    const tail = this.#segments.at(-1);
    if (tail !== undefined) this.#nextSegment = tail + 1;
    this.#tailBytes = tail === undefined ? 0 : statSync(join(dir, nameOf(tail))).size;
  }

  /** True when no segment exists (read or not) and nothing waits to be written. */
  get isEmpty(): boolean {
    return this.#segments.length === 0 && this.#pending.length === 0;
  }

  /** Records waiting on disk (or about to be written), not yet read back. */
  get records(): number {
    return this.#records;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Whether a record of `key` and `dataBytes` fits: its line, estimated (spooledLineBytes). */
  hasRoomFor(key: string, dataBytes: number): boolean {
    return this.#bytes + spooledLineBytes(key, dataBytes) <= this.#maxBytes;
  }

  /** Queues a record for the tail segment; `sync()` writes what is queued. */
  append(key: string, data: Buffer): void {
    const line = `${JSON.stringify({ k: key, d: data.toString("base64") })}\n`;
    this.#pending.push(line);
    const size = Buffer.byteLength(line);
    this.#pendingBytes += size;
    this.#bytes += size;
    this.#records++;
    if (this.#pendingBytes >= 256 * 1024) this.sync();
  }

  /** Writes queued records to the tail segment, starting a new one past 8 MiB. */
  sync(): void {
    if (this.#pending.length === 0) return;
    let tail = this.#segments.at(-1);
    if (tail === undefined || tail < this.#nextSegment - 1 || this.#tailBytes >= SEGMENT_BYTES) {
      tail = this.#nextSegment++;
      this.#segments.push(tail);
      this.#tailBytes = 0;
    }
    appendFileSync(join(this.#dir, nameOf(tail)), this.#pending.join(""));
    this.#tailBytes += this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  /**
   * Reads the oldest segment not yet read, its records tagged with the segment's number.
   * The file stays until `release(segment)`.
   */
  readNext(after: number | undefined): SpooledRecord[] {
    this.sync();
    const next = this.#segments.find((n) => after === undefined || n > after);
    if (next === undefined) return [];
    const content = readFileSync(join(this.#dir, nameOf(next)), "utf8");
    const records = content
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => {
        const { k, d } = JSON.parse(line) as { k: string; d: string };
        return { key: k, data: Buffer.from(d, "base64"), segment: next };
      });
    this.#records -= records.length;
    this.#bytes -= Buffer.byteLength(content);
    // The tail segment is read whole: later appends start a new one.
    if (next === this.#segments.at(-1)) this.#tailBytes = SEGMENT_BYTES;
    return records;
  }

  /** Deletes a segment whose records Kinesis has all acknowledged. */
  release(segment: number): void {
    unlinkSync(join(this.#dir, nameOf(segment)));
    this.#segments = this.#segments.filter((n) => n !== segment);
  }

  /** Writes records ahead of every segment: what was in memory when the process stopped. */
  prepend(records: ReadonlyArray<{ key: string; data: Buffer }>): void {
    if (records.length === 0) return;
    const first = (this.#segments[0] ?? 1_000_000_001) - 1;
    const path = join(this.#dir, nameOf(first));
    const content = records
      .map((r) => `${JSON.stringify({ k: r.key, d: r.data.toString("base64") })}\n`)
      .join("");
    writeFileSync(`${path}.tmp`, content);
    renameSync(`${path}.tmp`, path);
    this.#segments.unshift(first);
    this.#records += records.length;
    this.#bytes += Buffer.byteLength(content);
  }
}
