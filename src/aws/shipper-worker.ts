/**
 * The log shipper on a worker thread. The request thread only writes each record's JSON as
 * UTF-8 straight into a hand-over buffer (JsonWriter) and transfers full buffers to the
 * worker, which copies them out and sends them back for reuse; aggregation, the SDK's
 * PutRecords and the spool run on the worker, so logging costs the API little
 * (bench/results/webserver.json).
 *
 * Why bytes and not a string of records: records waiting in a JS string survive the request
 * thread's young-generation collections and are copied by each (its scavenges took twice as
 * long), while a buffer's bytes live outside the JS heap and move to the worker without a copy.
 */
import { Worker } from "node:worker_threads";
import type { Envelope } from "../core/events.ts";
import { JsonWriter, OutOfRoom, writeEnvelope } from "../core/serialize.ts";
import type { ClientOptions } from "./clients.ts";
import {
  checkPartitionKey,
  emptyShipperStats,
  type LogShipper,
  partitionKeyOf,
  ShipperFullError,
  type ShipperOptions,
  type ShipperStats,
} from "./shipper.ts";

const ENTRY = new URL("./shipper-worker-entry.mjs", import.meta.url);

/** Bytes of a hand-over buffer; a record that does not fit in one gets a buffer of its own. */
const HANDOVER_BYTES = 256 * 1024;
/**
 * Hand-over buffers the worker has emptied and sent back, kept for reuse: writing into memory
 * that was written a moment ago is cheaper than into fresh pages (bench/README.md).
 */
const SPARE_BUFFERS = 4;
/**
 * A record in a hand-over buffer: its partition key's length in bytes (u16 LE), its data's
 * length in bytes (u32 LE), the key, the data, both UTF-8.
 */
export const FRAME_HEADER_BYTES = 6;

export type WorkerShipperOptions = Omit<ShipperOptions, "kinesis"> & {
  /** How the worker builds its Kinesis client (endpoints, credentials, region). */
  clientOptions: ClientOptions;
  /** Records handed over per message at most; a timer sends smaller batches. @default 500 */
  handoverBatch?: number;
  /**
   * Records on their way to the worker that it has not taken in yet (it is starved of CPU or
   * stuck); past this, `ship` refuses with ShipperFullError, counted in `stats.refused`, so
   * that memory stays bounded. Generous: while the worker keeps taking records in, overload
   * belongs in its spool, not in refusals (in the pipeline benchmark at 60,000 events/s
   * offered to a 2-core machine, 40,000 to over 100,000 waited). @default 500_000
   */
  maxHandOverRecords?: number;
};

type Reply = {
  type: string;
  id?: number;
  stats: ShipperStats;
  buffered: number;
  left?: number;
  /** An emptied hand-over buffer, coming back ("emptied"). */
  buffer?: ArrayBuffer;
};

/** Key length (u16 LE) and data length (u32 LE) at the start of a frame. */
function frameHeader(bytes: Uint8Array, at: number, keyBytes: number, dataBytes: number): void {
  bytes[at] = keyBytes & 0xff;
  bytes[at + 1] = keyBytes >>> 8;
  bytes[at + 2] = dataBytes & 0xff;
  bytes[at + 3] = (dataBytes >>> 8) & 0xff;
  bytes[at + 4] = (dataBytes >>> 16) & 0xff;
  bytes[at + 5] = dataBytes >>> 24;
}

export class ShipperWorker implements LogShipper {
  readonly #worker: Worker;
  readonly #ready: Promise<void>;
  readonly #handoverBatch: number;
  readonly #maxHandOver: number;
  /** Records waiting for the hand-over, framed (FRAME_HEADER_BYTES) from offset 0. */
  #pending = new JsonWriter(Buffer.allocUnsafeSlow(HANDOVER_BYTES));
  #pendingCount = 0;
  /** Emptied hand-over buffers, back from the worker. */
  readonly #spare: ArrayBuffer[] = [];
  #timer: NodeJS.Timeout | undefined;
  #nextId = 0;
  readonly #waiting = new Map<number, (reply: Reply) => void>();
  #workerBuffered = 0;
  /** Handed over but not yet seen in the worker's stats. */
  #handedOver = 0;
  #queued = 0;
  /** Refused here, before the worker saw them. */
  #refused = 0;
  stats: ShipperStats = emptyShipperStats();

  constructor(options: WorkerShipperOptions) {
    const { clientOptions, handoverBatch, maxHandOverRecords, ...shipperOptions } = options;
    this.#handoverBatch = handoverBatch ?? 500;
    this.#maxHandOver = maxHandOverRecords ?? 500_000;
    this.#worker = new Worker(ENTRY, { workerData: { clientOptions, shipperOptions } });
    this.#ready = new Promise((resolve, reject) => {
      this.#worker.once("error", reject);
      this.#worker.on("message", (reply: Reply) => {
        if (reply.type === "emptied") {
          const { buffer } = reply;
          if (buffer?.byteLength === HANDOVER_BYTES && this.#spare.length < SPARE_BUFFERS)
            this.#spare.push(buffer);
          return;
        }
        if (reply.type === "ready") {
          resolve();
          return;
        }
        this.#update(reply);
        if (reply.id !== undefined) {
          this.#waiting.get(reply.id)?.(reply);
          this.#waiting.delete(reply.id);
        }
      });
    });
    this.#ready.catch(() => {});
  }

  #update(reply: Reply): void {
    this.#handedOver = Math.max(
      0,
      this.#queued - this.#pendingCount - reply.stats.queued - reply.stats.refused,
    );
    this.stats = { ...reply.stats, queued: this.#queued, refused: reply.stats.refused + this.#refused };
    this.#workerBuffered = reply.buffered;
  }

  /** Records accepted and not yet acknowledged by Kinesis, here or in the worker. */
  get buffered(): number {
    return this.#pendingCount + this.#handedOver + this.#workerBuffered;
  }

  ship(envelope: Envelope): void {
    this.#write(partitionKeyOf(envelope), envelope);
  }

  shipRaw(text: string, partitionKey: string): void {
    this.#write(partitionKey, text);
  }

  /** Frames a record into the pending buffer: its key, then the envelope's JSON or the text. */
  #write(partitionKey: string, record: Envelope | string): void {
    checkPartitionKey(partitionKey);
    if (this.#pendingCount + this.#handedOver >= this.#maxHandOver) {
      this.#refused++;
      this.stats.refused++;
      throw new ShipperFullError("hand-over to its thread");
    }
    for (;;) {
      const out = this.#pending;
      const start = out.at;
      try {
        out.at = start + FRAME_HEADER_BYTES;
        out.utf8(partitionKey);
        const keyEnd = out.at;
        if (typeof record === "string") out.utf8(record);
        else writeEnvelope(out, record);
        frameHeader(out.bytes, start, keyEnd - start - FRAME_HEADER_BYTES, out.at - keyEnd);
        break;
      } catch (error) {
        out.at = start;
        if (!(error instanceof OutOfRoom)) throw error;
        // Full: hand over what it holds; a record larger than a whole buffer gets a larger one.
        if (start > 0) this.#handover();
        else this.#pending = new JsonWriter(Buffer.allocUnsafeSlow(2 * out.bytes.length));
      }
    }
    this.#pendingCount++;
    this.#queued++;
    if (this.#pendingCount >= this.#handoverBatch) this.#handover();
    else this.#timer ??= setTimeout(() => this.#handover(), 5);
  }

  /** Transfers the pending buffer (no copy) to the worker, and starts on a spare one. */
  #handover(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pendingCount === 0) return;
    const { bytes, at } = this.#pending;
    const buffer = bytes.buffer as ArrayBuffer;
    this.#worker.postMessage({ type: "records", buffer, length: at }, [buffer]);
    this.#handedOver += this.#pendingCount;
    const spare = this.#spare.pop();
    this.#pending = new JsonWriter(spare ? Buffer.from(spare) : Buffer.allocUnsafeSlow(HANDOVER_BYTES));
    this.#pendingCount = 0;
  }

  async #request(message: Record<string, unknown>): Promise<Reply> {
    await this.#ready;
    this.#handover();
    const id = this.#nextId++;
    const reply = new Promise<Reply>((resolve) => this.#waiting.set(id, resolve));
    this.#worker.postMessage({ ...message, id });
    return reply;
  }

  /** Resolves once every record shipped so far is acknowledged by Kinesis. */
  async flush(): Promise<void> {
    await this.#request({ type: "flush" });
  }

  /** Flushes for at most `timeoutMs`, spools the rest, stops the worker; returns what is left. */
  async close(timeoutMs = 10_000): Promise<number> {
    const reply = await this.#request({ type: "close", timeoutMs });
    await this.#worker.terminate();
    return reply.left ?? 0;
  }
}
