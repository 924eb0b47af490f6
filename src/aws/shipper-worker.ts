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
import { checkPartitionKey, partitionKeyOf } from "../core/partition-keys.ts";
import { JsonWriter, OutOfRoom, writeEnvelope } from "../core/serialize.ts";
import { emptyShipperStats, type ShipperStats } from "../core/shipping.ts";
import type { ClientOptions } from "./clients.ts";
import { ShipperFullError, ShipperStoppedError } from "./errors.ts";
import type { LogShipper, ShipperOptions } from "./shipper.ts";
import {
  FRAME_HEADER_BYTES,
  type FromShipperThread,
  type ShipperThreadData,
  type ShipperThreadReport,
  type ToShipperThread,
} from "./shipper-thread.ts";

const ENTRY = new URL("./shipper-worker-entry.mjs", import.meta.url);

/** Bytes of a hand-over buffer; a record that does not fit in one gets a buffer of its own. */
const HANDOVER_BYTES = 256 * 1024;
/**
 * Hand-over buffers the worker has emptied and sent back, kept for reuse: writing into memory
 * that was written a moment ago is cheaper than into fresh pages (bench/README.md).
 */
const SPARE_BUFFERS = 4;

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
  /**
   * The module the thread runs. Fault tests give one that wraps the real thread and ends it
   * mid-run. @default shipper-worker-entry.mjs
   */
  threadEntry?: URL;
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
  readonly #waiting = new Map<
    number,
    { resolve: (reply: FromShipperThread) => void; reject: (error: Error) => void }
  >();
  #workerBuffered = 0;
  /** Handed over but not yet seen in the worker's stats. */
  #handedOver = 0;
  #queued = 0;
  /** Refused here, before the worker saw them. */
  #refused = 0;
  /** Set once the thread has ended without being closed: every call after it fails with it. */
  #stopped: ShipperStoppedError | undefined;
  /** The thread answered `close`: its end is expected. */
  #closed = false;
  stats: ShipperStats = emptyShipperStats();

  constructor(options: WorkerShipperOptions) {
    const { clientOptions, handoverBatch, maxHandOverRecords, threadEntry, ...shipperOptions } = options;
    this.#handoverBatch = handoverBatch ?? 500;
    this.#maxHandOver = maxHandOverRecords ?? 500_000;
    const workerData: ShipperThreadData = { clientOptions, shipperOptions };
    this.#worker = new Worker(threadEntry ?? ENTRY, { workerData });
    this.#ready = new Promise((resolve, reject) => {
      this.#worker.on("message", (message: FromShipperThread) => {
        if (message.type === "ready") resolve();
        else this.#receive(message);
      });
      // At any time, not only while starting: a thread that dies later would otherwise leave
      // flush() and close() waiting forever and ship() accepting into nowhere.
      this.#worker.on("error", (error) => reject(this.#stop(`failed: ${error.message}`, error)));
      this.#worker.on("exit", (code) => reject(this.#stop(`exited with code ${code}`)));
    });
    this.#ready.catch(() => {});
  }

  #receive(message: Exclude<FromShipperThread, { type: "ready" }>): void {
    if (message.type === "emptied") {
      if (message.buffer.byteLength === HANDOVER_BYTES && this.#spare.length < SPARE_BUFFERS)
        this.#spare.push(message.buffer);
      return;
    }
    this.#update(message);
    if (message.type === "closed") this.#closed = true;
    if (message.type === "flushed" || message.type === "closed") {
      this.#waiting.get(message.id)?.resolve(message);
      this.#waiting.delete(message.id);
    }
  }

  #update(report: ShipperThreadReport): void {
    this.#handedOver = Math.max(
      0,
      this.#queued - this.#pendingCount - report.stats.queued - report.stats.refused,
    );
    this.stats = { ...report.stats, queued: this.#queued, refused: report.stats.refused + this.#refused };
    this.#workerBuffered = report.buffered;
  }

  /**
   * The thread ended without being closed. What never reached its shipper is lost, and counted
   * as dropped; what it held is in its spool (sent at the next start) or lost with it. Every
   * waiting and later call fails with the error returned.
   */
  #stop(reason: string, cause?: Error): ShipperStoppedError {
    if (this.#stopped || this.#closed) return this.#stopped ?? new ShipperStoppedError("log shipper closed");
    clearTimeout(this.#timer);
    const lost = this.#pendingCount + this.#handedOver;
    this.#pendingCount = 0;
    this.#handedOver = 0;
    this.stats = { ...this.stats, dropped: this.stats.dropped + lost };
    this.#stopped = new ShipperStoppedError(
      `the log shipper's thread ${reason}: ${lost} records it had not yet taken are lost, and of the ${this.#workerBuffered} it held unacknowledged, those in its spool are sent at the next start`,
      cause ? { cause } : undefined,
    );
    for (const { reject } of this.#waiting.values()) reject(this.#stopped);
    this.#waiting.clear();
    return this.#stopped;
  }

  /** Records accepted and not yet acknowledged by Kinesis, here or in the worker. */
  get buffered(): number {
    return this.#pendingCount + this.#handedOver + this.#workerBuffered;
  }

  ship(envelope: Envelope): void {
    this.#write(partitionKeyOf(envelope), envelope);
  }

  shipRaw(record: string | Buffer, partitionKey: string): void {
    this.#write(partitionKey, record);
  }

  #refuse(error: ShipperFullError | ShipperStoppedError): never {
    this.#refused++;
    this.stats.refused++;
    throw error;
  }

  /** Frames a record into the pending buffer: its key, then the envelope's JSON or the raw record. */
  #write(partitionKey: string, record: Envelope | string | Buffer): void {
    checkPartitionKey(partitionKey);
    if (this.#stopped) this.#refuse(this.#stopped);
    if (this.#closed) this.#refuse(new ShipperStoppedError("the log shipper is closed"));
    if (this.#pendingCount + this.#handedOver >= this.#maxHandOver)
      this.#refuse(new ShipperFullError("hand-over to its thread"));
    for (;;) {
      const out = this.#pending;
      const start = out.at;
      try {
        out.at = start + FRAME_HEADER_BYTES;
        out.utf8(partitionKey);
        const keyEnd = out.at;
        if (typeof record === "string") out.utf8(record);
        else if (Buffer.isBuffer(record)) out.raw(record);
        else writeEnvelope(out, record);
        frameHeader(out.bytes, start, keyEnd - start - FRAME_HEADER_BYTES, out.at - keyEnd);
        break;
      } catch (error) {
        // Nothing of a record that failed stays in the buffer: the records before it are whole.
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
    if (this.#pendingCount === 0 || this.#stopped) return;
    const { bytes, at } = this.#pending;
    const buffer = bytes.buffer as ArrayBuffer;
    this.#post({ type: "records", buffer, length: at }, [buffer]);
    this.#handedOver += this.#pendingCount;
    const spare = this.#spare.pop();
    this.#pending = new JsonWriter(spare ? Buffer.from(spare) : Buffer.allocUnsafeSlow(HANDOVER_BYTES));
    this.#pendingCount = 0;
  }

  #post(message: ToShipperThread, transfer?: ArrayBuffer[]): void {
    this.#worker.postMessage(message, transfer);
  }

  async #request(
    message: { type: "flush" } | { type: "close"; timeoutMs: number },
  ): Promise<FromShipperThread> {
    await this.#ready;
    if (this.#stopped) throw this.#stopped;
    if (this.#closed) throw new ShipperStoppedError("the log shipper is closed");
    this.#handover();
    const id = this.#nextId++;
    const reply = new Promise<FromShipperThread>((resolve, reject) =>
      this.#waiting.set(id, { resolve, reject }),
    );
    this.#post({ ...message, id });
    return reply;
  }

  /**
   * Resolves once every record shipped so far is acknowledged by Kinesis; rejects with
   * ShipperStoppedError if the thread has ended.
   */
  async flush(): Promise<void> {
    await this.#request({ type: "flush" });
  }

  /**
   * Flushes for at most `timeoutMs`, spools the rest, stops the worker; returns what is left.
   * Rejects with ShipperStoppedError if the thread has ended.
   */
  async close(timeoutMs = 10_000): Promise<number> {
    const reply = await this.#request({ type: "close", timeoutMs });
    await this.#worker.terminate();
    return reply.type === "closed" ? reply.left : 0;
  }
}
