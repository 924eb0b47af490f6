/** The full collection that memory measurements run on request (the soak, the host's IPC). */
import { describe, expect, it } from "vitest";
import { collectGarbage } from "../../src/local/full-collection.ts";

const nextJob = () => new Promise((resolve) => setImmediate(resolve));

describe("collectGarbage", () => {
  it("collects what nothing references any more and keeps what something does", async () => {
    let dropped: number[] | undefined = Array.from({ length: 10_000 }, (_, i) => i);
    const kept = Array.from({ length: 10_000 }, (_, i) => i);
    const droppedRef = new WeakRef(dropped);
    const keptRef = new WeakRef(kept);
    dropped = undefined;
    // A WeakRef keeps its target alive until the job that created it ends.
    await nextJob();
    collectGarbage();
    expect(droppedRef.deref()).toBeUndefined();
    expect(keptRef.deref()).toBe(kept);
    // A second call reuses the exposed function.
    collectGarbage();
    expect(keptRef.deref()?.length).toBe(10_000);
  });
});
