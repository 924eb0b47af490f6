// Worker-thread side of ShipperWorker: runs a KinesisShipper off the request thread.
import { parentPort, workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
const { createClients } = await import("./clients.ts");
const { KinesisShipper } = await import("./shipper.ts");
const { FRAME_HEADER_BYTES } = await import("./shipper-worker.ts");

const clients = createClients(workerData.clientOptions);
const shipper = new KinesisShipper({ ...workerData.shipperOptions, kinesis: clients.shippingKinesis });
const report = () => ({ stats: { ...shipper.stats }, buffered: shipper.buffered });
const timer = setInterval(() => parentPort.postMessage({ type: "stats", ...report() }), 100);

parentPort.on("message", async (message) => {
  if (message.type === "records") {
    // Framed by ShipperWorker: key length (u16 LE), data length (u32 LE), key, data (UTF-8).
    // The used part is copied (one memcpy, here, off the request thread) and the buffer goes
    // back to be written again: the records then hold only their own bytes, and the request
    // thread writes into memory it wrote a moment ago instead of into fresh pages.
    const bytes = Buffer.from(new Uint8Array(message.buffer, 0, message.length));
    parentPort.postMessage({ type: "emptied", buffer: message.buffer }, [message.buffer]);
    let at = 0;
    while (at < bytes.length) {
      const keyStart = at + FRAME_HEADER_BYTES;
      const dataStart = keyStart + bytes.readUInt16LE(at);
      const end = dataStart + bytes.readUInt32LE(at + 2);
      const key = bytes.toString("utf8", keyStart, dataStart);
      const data = bytes.subarray(dataStart, end);
      at = end;
      try {
        shipper.shipRaw(data, key);
      } catch {
        // Refused (spool full): counted in the shipper's stats, which the alarms watch.
      }
    }
  } else if (message.type === "flush") {
    await shipper.flush();
    parentPort.postMessage({ type: "flushed", id: message.id, ...report() });
  } else if (message.type === "close") {
    const left = await shipper.close(message.timeoutMs);
    clearInterval(timer);
    clients.destroy();
    parentPort.postMessage({ type: "closed", id: message.id, left, ...report() });
  }
});
parentPort.postMessage({ type: "ready" });
