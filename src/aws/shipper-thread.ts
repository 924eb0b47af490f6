/**
 * The shipper's thread (ShipperWorker's other side): a KinesisShipper off the request thread,
 * fed with hand-over buffers of framed records, answering flush and close, reporting its
 * counters every 100 ms. Started by shipper-worker-entry.mjs, which registers the TypeScript
 * loader first.
 */
import type { MessagePort } from "node:worker_threads";
import type { ClientOptions } from "./clients.ts";
import { createClients } from "./clients.ts";
import { ShipperFullError } from "./errors.ts";
import { KinesisShipper, type ShipperOptions } from "./shipper.ts";

/** Key length (u16 LE) and data length (u32 LE) at the start of each record in a buffer. */
export const FRAME_HEADER_BYTES = 6;

/** What the shipper's thread is started with. */
export interface ShipperThreadData {
  clientOptions: ClientOptions;
  shipperOptions: Omit<ShipperOptions, "kinesis">;
}

/** What the request thread sends the shipper's thread. */
export type ToShipperThread =
  | { type: "records"; buffer: ArrayBuffer; length: number }
  | { type: "flush"; id: number }
  | { type: "close"; id: number; timeoutMs: number };

/** The thread's shipper, as last seen. */
export interface ShipperThreadReport {
  stats: KinesisShipper["stats"];
  buffered: number;
}

/** What the shipper's thread sends back. */
export type FromShipperThread =
  | { type: "ready" }
  /** A hand-over buffer, emptied, back for reuse. */
  | { type: "emptied"; buffer: ArrayBuffer }
  | ({ type: "stats" } & ShipperThreadReport)
  | ({ type: "flushed"; id: number } & ShipperThreadReport)
  | ({ type: "closed"; id: number; left: number } & ShipperThreadReport);

export function runShipperThread(port: MessagePort, data: ShipperThreadData): void {
  const clients = createClients(data.clientOptions);
  const shipper = new KinesisShipper({ ...data.shipperOptions, kinesis: clients.shippingKinesis });
  const post = (message: FromShipperThread, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);
  const report = (): ShipperThreadReport => ({ stats: { ...shipper.stats }, buffered: shipper.buffered });
  const timer = setInterval(() => post({ type: "stats", ...report() }), 100);

  /**
   * The used part is copied (one memcpy, here, off the request thread) and the buffer goes
   * back to be written again: the records then hold only their own bytes, and the request
   * thread writes into memory it wrote a moment ago instead of into fresh pages.
   */
  const takeRecords = (buffer: ArrayBuffer, length: number) => {
    const bytes = Buffer.from(new Uint8Array(buffer, 0, length));
    post({ type: "emptied", buffer }, [buffer]);
    let at = 0;
    while (at < bytes.length) {
      const keyStart = at + FRAME_HEADER_BYTES;
      const dataStart = keyStart + bytes.readUInt16LE(at);
      const end = dataStart + bytes.readUInt32LE(at + 2);
      const key = bytes.toString("utf8", keyStart, dataStart);
      at = end;
      try {
        shipper.shipRaw(bytes.subarray(dataStart, end), key);
      } catch (error) {
        // Refused (spool full): counted in the shipper's stats, which the alarms watch.
        // Anything else is a bug, and ends the thread: ShipperWorker then says so.
        if (!(error instanceof ShipperFullError)) throw error;
      }
    }
  };

  port.on("message", async (message: ToShipperThread) => {
    switch (message.type) {
      case "records":
        takeRecords(message.buffer, message.length);
        break;
      case "flush":
        await shipper.flush();
        post({ type: "flushed", id: message.id, ...report() });
        break;
      case "close": {
        const left = await shipper.close(message.timeoutMs);
        clearInterval(timer);
        clients.destroy();
        post({ type: "closed", id: message.id, left, ...report() });
        break;
      }
    }
  });
  post({ type: "ready" });
}
