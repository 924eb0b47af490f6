/**
 * The log shipper on a worker thread. The request thread only serializes each record and
 * hands records over in batches; aggregation, the SDK's PutRecords and the spool run on the
 * worker, so logging costs the API little (bench/results/webserver.json).
 */
import { Worker } from "node:worker_threads";
import type { Envelope } from "../core/events.ts";
import { serializeEnvelope } from "../core/serialize.ts";
import type { ClientOptions } from "./clients.ts";
import {
  emptyShipperStats,
  type LogShipper,
  partitionKeyOf,
  ShipperFullError,
  type ShipperOptions,
  type ShipperStats,
} from "./shipper.ts";

const ENTRY = new URL("./shipper-worker-entry.mjs", import.meta.url);

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

type Reply = { type: string; id?: number; stats: ShipperStats; buffered: number; left?: number };

export class ShipperWorker implements LogShipper {
  readonly #worker: Worker;
  readonly #ready: Promise<void>;
  readonly #handoverBatch: number;
  readonly #maxHandOver: number;
  /**
   * Records waiting for the hand-over, as one string: `<key length>:<key><text>\n` each.
   * Cloning one string to the worker costs far less than an array of small ones.
   */
  #pending = "";
  #pendingCount = 0;
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
    // Serialized JSON holds no raw newline (JSON escapes control characters): no check needed.
    this.#append(serializeEnvelope(envelope), "t", partitionKeyOf(envelope));
  }

  shipRaw(text: string, partitionKey: string): void {
    // Records are lines: a newline inside one is escaped as a JSON string, marked `j`.
    if (text.includes("\n")) this.#append(JSON.stringify(text), "j", partitionKey);
    else this.#append(text, "t", partitionKey);
  }

  #append(line: string, escaped: "t" | "j", partitionKey: string): void {
    if (this.#pendingCount + this.#handedOver >= this.#maxHandOver) {
      this.#refused++;
      this.stats.refused++;
      throw new ShipperFullError("hand-over to its thread");
    }
    this.#pending += `${partitionKey.length}:${escaped}${partitionKey}${line}\n`;
    this.#pendingCount++;
    this.#queued++;
    if (this.#pendingCount >= this.#handoverBatch) this.#handover();
    else this.#timer ??= setTimeout(() => this.#handover(), 5);
  }

  #handover(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pendingCount === 0) return;
    this.#worker.postMessage({ type: "records", records: this.#pending });
    this.#handedOver += this.#pendingCount;
    this.#pending = "";
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
