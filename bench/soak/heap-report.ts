/**
 * For the soak's functions: each execution environment writes its heap figures every few
 * seconds to TICKLAKE_SOAK_HEAP_DIR, so that the soak can report the function pool's memory.
 */
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { threadId } from "node:worker_threads";

export const HEAP_DIR_ENV = "TICKLAKE_SOAK_HEAP_DIR";

export function reportHeap(role: "processor" | "bridge"): void {
  const dir = process.env[HEAP_DIR_ENV];
  if (!dir) throw new Error(`${HEAP_DIR_ENV} must name the folder for heap figures`);
  const report = () => {
    const { heapUsed, heapTotal } = process.memoryUsage();
    // Written aside and renamed, so that the soak, reading every few seconds, never reads half.
    const path = join(dir, `${role}-${threadId}.json`);
    writeFileSync(`${path}.tmp`, JSON.stringify({ atMs: Date.now(), heapUsed, heapTotal }));
    renameSync(`${path}.tmp`, path);
  };
  report();
  setInterval(report, 5_000).unref();
}
