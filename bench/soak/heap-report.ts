/**
 * For the soak's functions: each execution environment writes its live heap (right after a
 * full collection) every 30 s to TICKLAKE_SOAK_HEAP_DIR, so that the soak can report the
 * function pool's memory.
 */
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { threadId } from "node:worker_threads";
import { collectGarbage } from "../../src/local/full-collection.ts";

export const HEAP_DIR_ENV = "TICKLAKE_SOAK_HEAP_DIR";
/** How often each environment measures its live heap: a full collection, some tens of ms. */
export const LIVE_HEAP_EVERY_MS = 30_000;

export function reportHeap(role: "processor" | "bridge"): void {
  const dir = process.env[HEAP_DIR_ENV];
  if (!dir) throw new Error(`${HEAP_DIR_ENV} must name the folder for heap figures`);
  const report = () => {
    collectGarbage();
    const { heapUsed } = process.memoryUsage();
    // Written aside and renamed, so that the soak, reading every few seconds, never reads half.
    const path = join(dir, `${role}-${threadId}.json`);
    writeFileSync(`${path}.tmp`, JSON.stringify({ atMs: Date.now(), liveHeapUsed: heapUsed }));
    renameSync(`${path}.tmp`, path);
  };
  report();
  setInterval(report, LIVE_HEAP_EVERY_MS).unref();
}
