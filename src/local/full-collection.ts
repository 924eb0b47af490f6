/**
 * A full garbage collection of the calling thread's heap, on request, for memory measurements
 * (the soak's, through the emulator host's memory request). A heap's size between collections
 * includes garbage that V8 has not collected yet, and V8 lets that garbage grow as the heap
 * grows, so only the size right after a full collection shows what a thread holds on to.
 *
 * Node exposes `gc()` only when it starts with `--expose-gc`; the flag set at run time exposes
 * it in contexts created after it, so a new context hands it over. The flag is V8's, for the
 * whole process: other code sees nothing of it unless it creates contexts and looks for `gc`.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let collect: (() => void) | undefined;

/** Collects all garbage of this thread's heap (a major, stop-the-world collection). */
export function collectGarbage(): void {
  if (!collect) {
    setFlagsFromString("--expose-gc");
    collect = runInNewContext("gc") as () => void;
  }
  collect();
}
