// The shipper's thread: registers the TypeScript loader, then runs src/aws/shipper-thread.ts.
import { parentPort, workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
const { runShipperThread } = await import("./shipper-thread.ts");
runShipperThread(parentPort, workerData);
