/**
 * `ticklake status`: the pipeline's stages at a glance, from another terminal — queue depths,
 * the DLQ, notifications waiting, and (locally) objects in the lake and quarantine.
 */

import { countObjects } from "../aws/lake-mirror.ts";
import { queueDepth } from "../aws/pipeline-view.ts";
import type { StageTotals } from "../aws/stage-metrics.ts";
import { LAKE_PREFIX, QUARANTINE_PREFIX } from "../core/layout.ts";
import type { PipelineSnapshot } from "../dashboard/monitor.ts";
import { readUpInfo } from "../local/state.ts";
import type { ResolvedTarget } from "./targets.ts";

export interface Status {
  /** On AWS: counts per stage over the last `windowSeconds`, from CloudWatch. */
  deployed?: StageTotals & { windowSeconds: number };
  /** Counts per stage from the running `ticklake up`, when one runs on this state folder. */
  pipeline?: PipelineSnapshot;
  queue: { visible: number; inFlight: number };
  dlq: { visible: number; inFlight: number };
  /** Objects under lake/ and quarantine/; undefined where listing is not done (AWS). */
  lakeObjects: number | undefined;
  quarantineObjects: number | undefined;
}

/** The snapshot a running `up` serves at /v1/pipeline, or undefined. */
export async function pipelineSnapshot(stateDir: string): Promise<PipelineSnapshot | undefined> {
  const up = await readUpInfo(stateDir);
  if (!up) return undefined;
  const response = await fetch(`${up.api}/v1/pipeline`, { signal: AbortSignal.timeout(5_000) }).catch(
    () => undefined,
  );
  return response?.ok ? ((await response.json()) as PipelineSnapshot) : undefined;
}

export async function status(
  target: ResolvedTarget,
  listObjects: boolean,
  pipeline?: PipelineSnapshot,
  deployed?: Status["deployed"],
): Promise<Status> {
  const { queue, dlq } = await target.queueUrls();
  const [queueDepthNow, dlqDepth] = await Promise.all([
    queueDepth(target.clients, queue),
    queueDepth(target.clients, dlq),
  ]);
  return {
    ...(pipeline ? { pipeline } : {}),
    ...(deployed ? { deployed } : {}),
    queue: queueDepthNow,
    dlq: dlqDepth,
    lakeObjects: listObjects ? await countObjects(target.clients.s3, target.bucket, LAKE_PREFIX) : undefined,
    quarantineObjects: listObjects
      ? await countObjects(target.clients.s3, target.bucket, QUARANTINE_PREFIX)
      : undefined,
  };
}

export function formatStatus(s: Status): string {
  const objects = (n: number | undefined) =>
    n === undefined ? "not listed on AWS (see the dashboard)" : String(n);
  const p = s.pipeline;
  const n = (value: number | null) => (value === null ? "-" : value.toLocaleString("en-US"));
  const stages = p
    ? [
        `stages       produced ${n(p.stages.produced)} → in stream ${n(p.stages.inStream)} → bridged ${n(p.stages.bridged)} → queued ${n(p.stages.queued)}+${n(p.stages.inFlight)} → stored ${n(p.stages.stored)} (+${n(p.stages.quarantined)} quarantined) → notified ${n(p.stages.notified)} objects`,
        `rates        produced ${n(p.rates.produced)}/s, stored ${n(p.rates.stored)}/s; latency p50 ${n(p.latency.p50Ms)} ms, p99 ${n(p.latency.p99Ms)} ms`,
      ]
    : s.deployed
      ? [
          `stages       last ${Math.round(s.deployed.windowSeconds / 60)} min (CloudWatch): ${n(s.deployed.kinesisRecordsIn)} Kinesis records in → bridged ${n(s.deployed.bridged)} → stored ${n(s.deployed.stored)} (+${n(s.deployed.quarantined)} quarantined) in ${n(s.deployed.objectsWritten)} objects → ${n(s.deployed.notifications)} notifications`,
        ]
      : ["stages       no `ticklake up` running here: counts per stage come from the running pipeline"];
  return [
    ...stages,
    `queue        ${s.queue.visible} waiting, ${s.queue.inFlight} in flight`,
    `DLQ          ${s.dlq.visible + s.dlq.inFlight}${s.dlq.visible + s.dlq.inFlight > 0 ? "  ← npm run ticklake -- redrive" : ""}`,
    `lake         ${objects(s.lakeObjects)} objects`,
    `quarantine   ${objects(s.quarantineObjects)} objects`,
  ].join("\n");
}
