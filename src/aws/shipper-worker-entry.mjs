// Worker-thread side of ShipperWorker: runs a KinesisShipper off the request thread.
import { parentPort, workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
const { createClients } = await import("./clients.ts");
const { KinesisShipper } = await import("./shipper.ts");

const clients = createClients(workerData.clientOptions);
const shipper = new KinesisShipper({ ...workerData.shipperOptions, kinesis: clients.shippingKinesis });
const report = () => ({ stats: { ...shipper.stats }, buffered: shipper.buffered });
const timer = setInterval(() => parentPort.postMessage({ type: "stats", ...report() }), 100);

parentPort.on("message", async (message) => {
  if (message.type === "records") {
    // `<key length>:<t|j><key><text>\n` per record; `j` marks text escaped as a JSON string.
    const batch = message.records;
    let at = 0;
    while (at < batch.length) {
      const colon = batch.indexOf(":", at);
      const keyLength = Number(batch.slice(at, colon));
      const escaped = batch[colon + 1] === "j";
      const key = batch.slice(colon + 2, colon + 2 + keyLength);
      const end = batch.indexOf("\n", colon + 2 + keyLength);
      const line = batch.slice(colon + 2 + keyLength, end);
      at = end + 1;
      try {
        shipper.shipRaw(escaped ? JSON.parse(line) : line, key);
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
