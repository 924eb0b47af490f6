/**
 * The freshness benchmark's runs as Markdown (bench/results/freshness.md): bench/freshness.bench.ts
 * writes it after every run, and it can be made again from bench/results/freshness.json.
 */

/** What the Markdown needs of a run of bench/freshness.bench.ts. */
export interface FreshnessRun {
  eventsPerSecond: number;
  commitIntervalSeconds: number;
  /** The bridge's batching window; runs recorded before it was a knob had the local 1 s. */
  bridgeWindowSeconds?: number;
  measuredEvents: number;
  lost: number;
  duplicates: number;
  visibleMs: { p50: number; p99: number; max: number };
  storedMs: { p50: number; p99: number };
  goalMs: number;
  met: boolean;
  commitsPerTable: Record<string, number>;
  loadAverage1m: { before: number; after: number };
  layout: Array<{ dataset: string; files: number; filesPerDatasetHour: number; bytesPerFile: number }>;
}

export function freshnessMarkdown(runs: readonly FreshnessRun[]): string {
  const n = (value: number) => value.toLocaleString("en-US");
  return [
    "| events/s | commit interval | bridge window | measured events | lost | duplicates | visible p50 ms | p99 ms | max ms | goal ms (interval + 2 s) | met | object announced p50 / p99 ms | commits per table | load average (1 min) |",
    `|${" --- |".repeat(14)}`,
    ...runs.map(
      (r) =>
        `| ${n(r.eventsPerSecond)} | ${r.commitIntervalSeconds} s | ${r.bridgeWindowSeconds ?? 1} s | ${n(r.measuredEvents)} | ${r.lost} | ${r.duplicates} | ${n(r.visibleMs.p50)} | **${n(r.visibleMs.p99)}** | ${n(r.visibleMs.max)} | ${n(r.goalMs)} | ${r.met ? "yes" : "**no**"} | ${n(r.storedMs.p50)} / ${n(r.storedMs.p99)} | ${Object.entries(
          r.commitsPerTable,
        )
          .map(([table, commits]) => `${table} ${commits}`)
          .join(", ")} | ${r.loadAverage1m.before} → ${r.loadAverage1m.after} |`,
    ),
    "",
    "Raw files the runs committed (the processor's objects), per dataset, extrapolated to an hour at the run's rate:",
    "",
    "| events/s | commit interval | bridge window | dataset | files in the run | files per dataset-hour | bytes per file |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...runs.flatMap((r) =>
      r.layout.map(
        (l) =>
          `| ${n(r.eventsPerSecond)} | ${r.commitIntervalSeconds} s | ${r.bridgeWindowSeconds ?? 1} s | ${l.dataset} | ${n(l.files)} | ${n(l.filesPerDatasetHour)} | ${n(l.bytesPerFile)} |`,
      ),
    ),
  ].join("\n");
}
