import { afterEach, describe, expect, it, vi } from "vitest";
import { FunctionError } from "../../src/local/errors.ts";
import { FunctionPool } from "../../src/local/function-pool.ts";

const MODULE = new URL("../fixtures/functions.ts", import.meta.url);

describe("FunctionPool (local Lambda execution environments)", () => {
  const pools: FunctionPool[] = [];
  const pool = (exportName: string, size = 1, timeoutMs = 5_000, idleMs?: number) => {
    const created = new FunctionPool({
      functionName: "fn",
      moduleUrl: MODULE,
      exportName,
      env: { SETTING: "on" },
      size,
      timeoutMs,
      ...(idleMs === undefined ? {} : { idleMs }),
    });
    pools.push(created);
    return created;
  };
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
  });

  it("gives the handler its environment, a context, and keeps module state between invocations", async () => {
    const echo = pool("echo");
    const first = await echo.invoke<{ setting: string; invocations: number; remainingMs: number }>({
      value: "a",
    });
    const second = await echo.invoke<{ invocations: number }>({ value: "b" });
    expect(first).toMatchObject({ value: "a", setting: "on", invocations: 1, functionName: "fn" });
    expect(first.remainingMs).toBeGreaterThan(0);
    expect(first.remainingMs).toBeLessThanOrEqual(5_000);
    expect(second.invocations).toBe(2);
    // The environment is the worker's own: the test process does not see SETTING.
    expect(process.env.SETTING).toBeUndefined();
  });

  it("runs at most `size` invocations at once", async () => {
    const slow = pool("slow", 2);
    const ms = 100;
    const runs = await Promise.all(
      Array.from({ length: 6 }, () =>
        slow.invoke<{ startedAt: number; endedAt: number }>({ ms, withTimes: true }),
      ),
    );
    // The most invocations running at any one start instant, measured inside the workers.
    const overlap = Math.max(
      ...runs.map(
        (run) =>
          runs.filter((other) => other.startedAt <= run.startedAt && run.startedAt < other.endedAt).length,
      ),
    );
    // Properties that hold however loaded the machine is (how much two runs overlap does not):
    // never more than two at once, so six runs of 100 ms take at least three rounds (less a
    // millisecond of clock rounding each).
    expect(overlap).toBeLessThanOrEqual(2);
    const span = Math.max(...runs.map((run) => run.endedAt)) - Math.min(...runs.map((run) => run.startedAt));
    expect(span).toBeGreaterThanOrEqual(3 * ms - 3);
  });

  it("reports a handler error with its name and message", async () => {
    await expect(pool("failing").invoke({})).rejects.toThrow("fn: TypeError: bad input");
  });

  it("times an invocation out, discards that environment, and serves the next one in a fresh one", async () => {
    const slow = pool("slow", 1, 300);
    await expect(slow.invoke({ ms: 2_000 })).rejects.toThrow(FunctionError);
    await expect(slow.invoke({ ms: 2_000 })).rejects.toThrow("timed out after 300 ms");
    await expect(slow.invoke({ ms: 10 })).resolves.toEqual({ slept: 10 });
  });

  it("shuts an idle environment down after `idleMs`, and the next invocation starts a fresh one", async () => {
    const echo = pool("echo", 1, 5_000, 100);
    await expect(echo.invoke({ value: "a" })).resolves.toMatchObject({ invocations: 1 });
    expect(echo.environments).toBe(1);
    await vi.waitFor(() => expect(echo.environments).toBe(0), { timeout: 10_000, interval: 50 });
    // Fresh module state: the invocation count starts again.
    await expect(echo.invoke({ value: "b" })).resolves.toMatchObject({ invocations: 1 });
  });

  it("keeps environments without `idleMs`", async () => {
    const echo = pool("echo");
    await echo.invoke({ value: "a" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await expect(echo.invoke({ value: "b" })).resolves.toMatchObject({ invocations: 2 });
    expect(echo.environments).toBe(1);
  });
});
