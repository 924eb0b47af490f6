/**
 * What else happened on the machine while a benchmark step ran: the CPU other processes took
 * (from /proc: the machine's busy time less that of the benchmark's own processes), the load
 * average, and this process's garbage-collection pauses. Linux only; elsewhere the CPU figures
 * are NaN.
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { PerformanceObserver } from "node:perf_hooks";

/** USER_HZ: /proc counts CPU time in ticks of 1/100 s on Linux. */
const TICKS_PER_SECOND = 100;

function machineBusyTicks(): number {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "")
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return user + nice + system + irq + softirq + steal;
}

function processTicks(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const after = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(after[11]) + Number(after[12]);
  } catch {
    return 0;
  }
}

export interface NoiseReport {
  /** Cores' worth of CPU that processes other than `pids` used, on average. */
  othersCpuCores: number;
  /** Cores' worth of CPU that `pids` used. */
  ownCpuCores: number;
  loadAverage: number;
  /** This process's GC pauses (main thread), total ms. */
  gcPauseMs: number;
}

/** Starts measuring; `end()` reports what happened since, for the processes `pids`. */
export function machineNoise(pids: readonly number[]): { end(): NoiseReport } {
  const readTicks = () => {
    try {
      return { machine: machineBusyTicks(), own: pids.reduce((sum, pid) => sum + processTicks(pid), 0) };
    } catch {
      return { machine: Number.NaN, own: Number.NaN };
    }
  };
  const startedAt = performance.now();
  const before = readTicks();
  let gcPauseMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcPauseMs += entry.duration;
  });
  observer.observe({ entryTypes: ["gc"] });
  return {
    end() {
      observer.disconnect();
      const after = readTicks();
      const seconds = (performance.now() - startedAt) / 1_000;
      const cores = (ticks: number) => Number((ticks / TICKS_PER_SECOND / seconds).toFixed(2));
      return {
        othersCpuCores: cores(after.machine - before.machine - (after.own - before.own)),
        ownCpuCores: cores(after.own - before.own),
        loadAverage: Number((loadavg()[0] ?? 0).toFixed(2)),
        gcPauseMs: Math.round(gcPauseMs),
      };
    },
  };
}
