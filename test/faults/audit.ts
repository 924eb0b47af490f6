/**
 * The auditor: compares a ledger with what the pipeline left behind — the lake (read back
 * with DuckDB), quarantine, the DLQ and the notifications — and reports what the fault suite
 * promises: nothing lost, no record stored twice by the pipeline, no object written twice,
 * every poison record in quarantine, every object announced and every announcement true.
 */
import { gunzipSync } from "node:zlib";
import type { S3Client } from "@aws-sdk/client-s3";
import { queueDepth } from "../../src/aws/pipeline-view.ts";
import { compareSequenceNumbers } from "../../src/core/packing.ts";
import { storedRangeOf } from "../../src/core/replay.ts";
import { quantile } from "../../src/core/stats.ts";
import { getBytes, listPipelineObjects } from "../support/local-aws.ts";
import type { LocalRun } from "../support/pipeline.ts";
import type { Ledger } from "./ledger.ts";

export interface AuditReport {
  /** Distinct valid events sent. */
  sent: number;
  storedUnique: number;
  lost: number;
  /** Extra lake rows of an id, beyond one. */
  duplicateRecords: number;
  /** Copies the producer itself put into the stream (same id, another Kinesis record). */
  producerCopies: number;
  /** Rows of an id beyond the copies put into the stream: the pipeline stored a record twice. */
  pipelineDuplicates: number;
  /** Objects whose message range overlaps another's for the same shard and dataset. */
  duplicateObjects: number;
  injected: number;
  quarantined: number;
  /** Injected poison records found in quarantine, each with a reason. */
  quarantinedInjected: number;
  objects: number;
  notifiedObjects: number;
  notificationsWithoutObject: number;
  objectsWithoutNotification: number;
  dlq: number;
  p99LatencyMs: number | null;
}

/** Objects of one shard and dataset whose message ranges overlap: the same records twice. */
export function overlappingObjects(keys: readonly string[]): number {
  const bySlot = new Map<string, Array<{ first: string; last: string }>>();
  for (const key of keys) {
    const range = storedRangeOf(key);
    if (!range) continue;
    const slot = `${range.shardId}/${range.dataset}`;
    const list = bySlot.get(slot) ?? [];
    // A message stored over two hours, or into lake and quarantine, has one range.
    if (!list.some((r) => r.first === range.firstSeq && r.last === range.lastSeq)) {
      list.push({ first: range.firstSeq, last: range.lastSeq });
    }
    bySlot.set(slot, list);
  }
  let overlaps = 0;
  for (const list of bySlot.values()) {
    list.sort((a, b) => compareSequenceNumbers(a.first, b.first));
    let furthest: string | undefined;
    for (const range of list) {
      if (furthest !== undefined && compareSequenceNumbers(range.first, furthest) <= 0) overlaps++;
      if (furthest === undefined || compareSequenceNumbers(range.last, furthest) > 0) furthest = range.last;
    }
  }
  return overlaps;
}

/** Records in quarantine, and how many of the injected poison records (by marker) are there with a reason. */
export async function auditQuarantine(
  s3: S3Client,
  bucket: string,
  keys: readonly string[],
  markers: readonly string[],
): Promise<{ quarantined: number; quarantinedInjected: number }> {
  let quarantined = 0;
  const found = new Set<string>();
  for (const key of keys.filter((k) => k.startsWith("quarantine/"))) {
    const lines = gunzipSync(await getBytes(s3, bucket, key))
      .toString("utf8")
      .trim()
      .split("\n");
    for (const line of lines) {
      quarantined++;
      const entry = JSON.parse(line) as { violations?: unknown[]; raw?: unknown };
      const raw = JSON.stringify(entry.raw);
      const marker = markers.find((m) => raw.includes(m));
      if (marker && (entry.violations?.length ?? 0) > 0) found.add(marker);
    }
  }
  return { quarantined, quarantinedInjected: found.size };
}

/** Objects against notifications: every object announced, every announcement naming an object. */
export function auditNotifications(keys: readonly string[], notified: ReadonlyMap<string, number>) {
  const listed = new Set(keys);
  return {
    objects: keys.length,
    notifiedObjects: notified.size,
    notificationsWithoutObject: [...notified.keys()].filter((key) => !listed.has(key)).length,
    objectsWithoutNotification: keys.filter((key) => !notified.has(key)).length,
  };
}

export async function audit(run: LocalRun, ledger: Ledger): Promise<AuditReport> {
  const { s3 } = run.pipeline.clients;
  const bucket = run.pipeline.resources.bucket;
  const rows = await run.lakeRows();
  const keys = await listPipelineObjects(s3, bucket);
  const notified = run.notifications();

  const rowsOf = new Map<string, number>();
  for (const row of rows) rowsOf.set(row.event.id, (rowsOf.get(row.event.id) ?? 0) + 1);
  let lost = 0;
  let pipelineDuplicates = 0;
  let producerCopies = 0;
  for (const [id, copies] of ledger.copies) {
    const stored = rowsOf.get(id) ?? 0;
    if (stored === 0) lost++;
    pipelineDuplicates += Math.max(0, stored - copies);
    producerCopies += copies - 1;
  }

  const latencies = rows
    .filter((row) => ledger.events.has(row.event.id))
    .map((row) => (notified.get(row.key) ?? Number.NaN) - Date.parse(row.event.ts))
    .filter(Number.isFinite);
  const p99 = quantile(latencies, 0.99);
  const dlq = await queueDepth(run.pipeline.clients, run.pipeline.resources.dlqUrl);
  return {
    sent: ledger.events.size,
    storedUnique: [...ledger.events.keys()].filter((id) => rowsOf.has(id)).length,
    lost,
    duplicateRecords: rows.length - rowsOf.size,
    producerCopies,
    pipelineDuplicates,
    duplicateObjects: overlappingObjects(keys),
    injected: ledger.poison.length,
    ...(await auditQuarantine(
      s3,
      bucket,
      keys,
      ledger.poison.map((p) => p.marker),
    )),
    ...auditNotifications(keys, notified),
    dlq: dlq.visible + dlq.inFlight,
    p99LatencyMs: p99 === undefined ? null : Math.round(p99),
  };
}
