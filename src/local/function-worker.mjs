// Worker-thread entry of a local Lambda environment: waits for the path of its function's
// bundle (src/local/bundle.ts), loads it as Lambda's Node.js runtime loads a CommonJS handler,
// and serves invocations.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { parentPort, workerData } from "node:worker_threads";

const { load } = await new Promise((resolve) => parentPort.once("message", resolve));
const module = createRequire(import.meta.url)(fileURLToPath(load));
const handler = module[workerData.exportName];
if (typeof handler !== "function") {
  throw new Error(`${workerData.moduleUrl} exports no function named ${workerData.exportName}`);
}

parentPort.on("message", async ({ id, event, deadlineMs, requestId }) => {
  const context = {
    functionName: workerData.functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${workerData.functionName}`,
    memoryLimitInMB: "1024",
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${workerData.functionName}`,
    logStreamName: "local",
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
  };
  try {
    const result = await handler(event, context);
    parentPort.postMessage({ id, ok: true, result });
  } catch (error) {
    parentPort.postMessage({
      id,
      ok: false,
      error: { name: error?.name ?? "Error", message: error?.message ?? String(error), stack: error?.stack },
    });
  }
});
parentPort.postMessage({ ready: true });
