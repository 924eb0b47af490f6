/**
 * `ticklake status`: the pipeline's stages at a glance, from another terminal — queue depths,
 * the DLQ, notifications waiting, and (locally) objects in the lake and quarantine.
 */
import { queueDepth } from "../aws/deployed-pipeline.ts";
import { countObjects } from "../aws/lake-mirror.ts";
import { LAKE_PREFIX, QUARANTINE_PREFIX } from "../core/layout.ts";
import type { ResolvedTarget } from "./targets.ts";

export interface Status {
  queue: { visible: number; inFlight: number };
  dlq: { visible: number; inFlight: number };
  /** Objects under lake/ and quarantine/; undefined where listing is not done (AWS). */
  lakeObjects: number | undefined;
  quarantineObjects: number | undefined;
}

export async function status(target: ResolvedTarget, listObjects: boolean): Promise<Status> {
  const { queue, dlq } = await target.queueUrls();
  const [queueDepthNow, dlqDepth] = await Promise.all([
    queueDepth(target.clients, queue),
    queueDepth(target.clients, dlq),
  ]);
  return {
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
  return [
    `queue        ${s.queue.visible} waiting, ${s.queue.inFlight} in flight`,
    `DLQ          ${s.dlq.visible + s.dlq.inFlight}${s.dlq.visible + s.dlq.inFlight > 0 ? "  ← npm run ticklake -- redrive" : ""}`,
    `lake         ${objects(s.lakeObjects)} objects`,
    `quarantine   ${objects(s.quarantineObjects)} objects`,
  ].join("\n");
}
