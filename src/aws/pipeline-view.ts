/**
 * A pipeline seen from outside, whichever runs it: the local one (src/local/pipeline.ts) or the
 * one deployed on AWS (deployed-pipeline.ts). What `ticklake up`, the dashboard's monitor and
 * `ticklake status` read: its counts, its queues' depths.
 */
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import type { AwsClients, ClientOptions } from "./clients.ts";
import type { NotificationTally, NotificationTap } from "./notifications.ts";
import type { TableLayer } from "./tables.ts";

export interface PipelineCounts {
  /** Records through the bridge; unknown when the bridge runs in Lambda. */
  bridged: number | undefined;
  queued: number;
  inFlight: number;
  stored: number;
  quarantined: number;
  objects: number;
  notifications: number;
  dlq: number;
  /** Append snapshots announced, and the records they added, in all and per table. */
  commits: number;
  committed: number;
  tables: Record<string, { commits: number; records: number }>;
  /** Announcements waiting for the committer (visible + in flight); undefined when not watched. */
  committerQueued: number | undefined;
  /** Messages in the committer's DLQ; undefined when not watched. */
  committerDlq: number | undefined;
}

/** `drainPending` of a drain whose time ran out before its first look. */
export const NO_LOOK = "a first look (the time ran out before it)";

/** What `ticklake up` needs of a pipeline, local or deployed. */
export interface PipelineView {
  readonly clients: AwsClients;
  /** How to build the same clients elsewhere (the shipper's worker thread). */
  readonly clientOptions: ClientOptions;
  readonly streamName: string;
  readonly bucket: string;
  /** The manifests the pipeline's own subscriber queue has received. */
  readonly notifications: NotificationTap;
  /** The Iceberg tables, where this view can read them. */
  readonly tables?: TableLayer;
  counts(): Promise<PipelineCounts>;
  /** Waits until `produced` records are accounted for and the queue is empty. */
  drain(timeoutMs: number, produced: number): Promise<boolean>;
  /** What the last drain was still waiting for when it gave up, in words; empty after one that ended. */
  readonly drainPending: readonly string[];
  stop(): Promise<void>;
}

export async function queueDepth(
  clients: AwsClients,
  queueUrl: string,
): Promise<{ visible: number; inFlight: number }> {
  const { Attributes = {} } = await clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

/** The counts both pipeline views report: queue and DLQ depths, and the manifests' tally. */
export async function pipelineCounts(
  clients: AwsClients,
  urls: { queue: string; dlq: string; committerQueue?: string; committerDlq?: string },
  tally: NotificationTally,
  bridged: number | undefined,
): Promise<PipelineCounts> {
  const depth = (url: string | undefined) =>
    url === undefined
      ? undefined
      : queueDepth(clients, url).then(({ visible, inFlight }) => visible + inFlight);
  const [queue, dlq, committerQueued, committerDlq] = await Promise.all([
    queueDepth(clients, urls.queue),
    queueDepth(clients, urls.dlq),
    depth(urls.committerQueue),
    depth(urls.committerDlq),
  ]);
  return {
    bridged,
    queued: queue.visible,
    inFlight: queue.inFlight,
    stored: tally.storedRecords,
    quarantined: tally.quarantinedRecords,
    objects: tally.objects,
    notifications: tally.messages,
    dlq: dlq.visible + dlq.inFlight,
    commits: tally.commits,
    committed: tally.committedRecords,
    tables: structuredClone(tally.tables),
    committerQueued,
    committerDlq,
  };
}
