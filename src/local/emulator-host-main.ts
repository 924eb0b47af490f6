/**
 * Child-process entry of the emulator host: reads its options from the environment, reports
 * readiness over IPC, answers memory requests over IPC (after a full collection when asked),
 * and stops cleanly on SIGTERM or when its parent goes away.
 */
import { type HostOptions, runHost } from "./emulator-host.ts";
import { collectGarbage } from "./full-collection.ts";

const options = JSON.parse(process.env.TICKLAKE_HOST_OPTIONS ?? "{}") as HostOptions;
const { ready, stop } = await runHost(options);
let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  await stop();
  process.exit(0);
};
process.on("SIGTERM", shutdown);
// Ctrl-C reaches the whole process group, but the parent decides when the emulators stop:
// the pipeline drains into them first.
process.on("SIGINT", () => {});
process.on("disconnect", shutdown);
process.on("message", (message: { type?: unknown; afterFullCollection?: unknown }) => {
  if (message?.type !== "memory") return;
  if (message.afterFullCollection === true) collectGarbage();
  process.send?.({ type: "memory", usage: process.memoryUsage() });
});
process.send?.(ready);
