/**
 * When each distinct notification first arrived, kept across pipelines: the tap itself keeps
 * only counts and a bounded dedup window, so tests and benchmarks that audit every object
 * listen and keep this.
 */
import type { NotificationTap, ReceivedManifest, TapListener } from "../../src/aws/notifications.ts";

export class NotificationTimes implements TapListener {
  /** Object key → when its first "data available" notification arrived. */
  readonly objects = new Map<string, number>();
  /** Data file path (`s3://…`) → when the "table updated" notification of its append arrived. */
  readonly committed = new Map<string, number>();
  /** The distinct manifests, by key, when `keepManifests` was asked for. */
  readonly manifests = new Map<string, ReceivedManifest>();
  readonly #keepManifests: boolean;

  constructor(options: { keepManifests?: boolean } = {}) {
    this.#keepManifests = options.keepManifests ?? false;
  }

  /** Listens to `tap` (each new pipeline's) until it stops. */
  follow(tap: NotificationTap): this {
    tap.listen(this);
    return this;
  }

  manifest(entry: ReceivedManifest): void {
    if (this.objects.has(entry.manifest.key)) return;
    this.objects.set(entry.manifest.key, entry.receivedAtMs);
    if (this.#keepManifests) this.manifests.set(entry.manifest.key, entry);
  }

  committedFiles(paths: readonly string[], receivedAtMs: number): void {
    for (const path of paths) if (!this.committed.has(path)) this.committed.set(path, receivedAtMs);
  }
}
