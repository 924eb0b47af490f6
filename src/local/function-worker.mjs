// Worker-thread entry of a local Lambda function: loads the function module through tsx
// (workers do not inherit the parent's loader hooks on Node 20) and serves invocations.
import { parentPort, workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
const module = await import(workerData.moduleUrl);
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
