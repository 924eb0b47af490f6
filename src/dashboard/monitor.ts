/**
 * Samples a pipeline's counts once a second into snapshots for the dashboard: the count at
 * every stage, rates over the last few seconds, end-to-end latency, and the newest
 * notifications. One sampler serves every open page.
 */
import { EventEmitter } from "node:events";
import type { ReceivedManifest } from "../aws/notifications.ts";
import type { PipelineCounts, PipelineView } from "../aws/pipeline-view.ts";
import { spreadLatencies, type WeightedSample, weightedQuantile } from "../core/stats.ts";

export interface StageCounts {
  /** Acknowledged by Kinesis from this process's web server; null when not known here. */
  produced: number | null;
  /** Produced but not yet read by the bridge. */
  inStream: number | null;
  /** Read from the stream by the bridge; null when the bridge runs in Lambda. */
  bridged: number | null;
  queued: number;
  inFlight: number;
  stored: number;
  quarantined: number;
  dlq: number;
  /** Distinct objects announced on the topic. */
  notified: number;
}

export interface NotificationSummary {
  key: string;
  kind: "lake" | "quarantine";
  dataset: string;
  records: number;
  bytes: number;
  receivedAt: string;
}

export interface PipelineSnapshot {
  at: string;
  stages: StageCounts;
  /** Per second, over the last RATE_WINDOW_SECONDS. */
  rates: { produced: number | null; bridged: number | null; stored: number; notified: number };
  /** Event time → notification delivered, over the objects announced in the last LATENCY_WINDOW_SECONDS. */
  latency: { p50Ms: number | null; p99Ms: number | null; objects: number; windowSeconds: number };
  /** The newest notifications, newest first. */
  notifications: NotificationSummary[];
}

export const RATE_WINDOW_SECONDS = 5;
/** Latency is over the objects announced this recently: the cold start drops out after it. */
export const LATENCY_WINDOW_SECONDS = 30;
const LATEST_NOTIFICATIONS = 8;

export interface MonitorOptions {
  pipeline: PipelineView;
  /** Records this process has produced, if it runs the web server. */
  produced?: () => number;
  intervalMs?: number;
}

interface Sample {
  atMs: number;
  stages: StageCounts;
}

function stagesOf(counts: PipelineCounts, produced: number | null): StageCounts {
  const bridged = counts.bridged ?? null;
  return {
    produced,
    inStream: produced === null || bridged === null ? null : Math.max(0, produced - bridged),
    bridged,
    queued: counts.queued,
    inFlight: counts.inFlight,
    stored: counts.stored,
    quarantined: counts.quarantined,
    dlq: counts.dlq,
    notified: counts.objects,
  };
}

/**
 * Latency p50 and p99, event time → notification delivered, over the lake objects announced in
 * the last `windowSeconds` before `nowMs`: a rolling window, so the cold start's figures leave it.
 */
export function recentLatency(
  recent: readonly ReceivedManifest[],
  nowMs: number,
  windowSeconds = LATENCY_WINDOW_SECONDS,
): PipelineSnapshot["latency"] {
  const latencies: WeightedSample[] = [];
  let objects = 0;
  for (const { manifest, receivedAtMs } of recent) {
    if (manifest.kind !== "lake" || receivedAtMs < nowMs - windowSeconds * 1000) continue;
    objects++;
    latencies.push(
      ...spreadLatencies({
        minTimeMs: Date.parse(manifest.minTime),
        maxTimeMs: Date.parse(manifest.maxTime),
        records: manifest.records,
        receivedAtMs,
      }),
    );
  }
  const rounded = (value: number | undefined) => (value === undefined ? null : Math.round(value));
  return {
    p50Ms: rounded(weightedQuantile(latencies, 0.5)),
    p99Ms: rounded(weightedQuantile(latencies, 0.99)),
    objects,
    windowSeconds,
  };
}

export class PipelineMonitor {
  readonly events = new EventEmitter();
  readonly #options: MonitorOptions;
  readonly #samples: Sample[] = [];
  #timer: NodeJS.Timeout | undefined;
  #latest: PipelineSnapshot | undefined;

  constructor(options: MonitorOptions) {
    this.#options = options;
    // Every open page listens; the default limit of 10 would warn at the eleventh.
    this.events.setMaxListeners(0);
  }

  get latest(): PipelineSnapshot | undefined {
    return this.#latest;
  }

  start(): void {
    const tick = async () => {
      try {
        await this.sample();
      } catch {
        // A missed sample shows as a flat second; the next one catches up.
      }
      if (this.#timer) this.#timer = setTimeout(tick, this.#options.intervalMs ?? 1_000);
    };
    this.#timer = setTimeout(tick, 0);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Takes one sample now and returns the snapshot it makes. */
  async sample(): Promise<PipelineSnapshot> {
    const { pipeline } = this.#options;
    const counts = await pipeline.counts();
    const now = Date.now();
    const stages = stagesOf(counts, this.#options.produced?.() ?? null);
    this.#samples.push({ atMs: now, stages });
    while (this.#samples.length > 1 && (this.#samples[0]?.atMs ?? now) < now - RATE_WINDOW_SECONDS * 1000) {
      this.#samples.shift();
    }
    const first = this.#samples[0] ?? { atMs: now, stages };
    const seconds = (now - first.atMs) / 1000;
    const rate = (pick: (stages: StageCounts) => number | null): number | null => {
      const [from, to] = [pick(first.stages), pick(stages)];
      if (from === null || to === null) return null;
      return seconds > 0 ? Math.round(((to - from) / seconds) * 10) / 10 : 0;
    };

    const recent = pipeline.notifications.recent;

    const snapshot: PipelineSnapshot = {
      at: new Date(now).toISOString(),
      stages,
      rates: {
        produced: rate((s) => s.produced),
        bridged: rate((s) => s.bridged),
        stored: rate((s) => s.stored) ?? 0,
        notified: rate((s) => s.notified) ?? 0,
      },
      latency: recentLatency(recent, now),
      notifications: recent
        .slice(-LATEST_NOTIFICATIONS)
        .reverse()
        .map(({ manifest, receivedAtMs }) => ({
          key: manifest.key,
          kind: manifest.kind,
          dataset: manifest.dataset,
          records: manifest.records,
          bytes: manifest.bytes,
          receivedAt: new Date(receivedAtMs).toISOString(),
        })),
    };
    this.#latest = snapshot;
    this.events.emit("snapshot", snapshot);
    return snapshot;
  }
}
