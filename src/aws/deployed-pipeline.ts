/**
 * The pipeline as deployed on AWS, seen from outside: the functions run in Lambda, and
 * `ticklake up --target aws` only produces and observes. It watches the queues' depths and,
 * through a subscriber queue of its own on the topic, every manifest.
 */
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { sleep } from "../core/backoff.ts";
import type { AwsClients, ClientOptions } from "./clients.ts";
import { type NotificationTally, NotificationTap } from "./notifications.ts";
import { subscribeQueue } from "./object-sync.ts";
import type { StackOutputs } from "./stack-outputs.ts";

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
}

/** What `ticklake up` needs of a pipeline, local or deployed. */
export interface PipelineView {
  readonly clients: AwsClients;
  /** How to build the same clients elsewhere (the shipper's worker thread). */
  readonly clientOptions: ClientOptions;
  readonly streamName: string;
  readonly bucket: string;
  /** The manifests the pipeline's own subscriber queue has received. */
  readonly notifications: NotificationTap;
  counts(): Promise<PipelineCounts>;
  /** Waits until `produced` records are accounted for and the queue is empty. */
  drain(timeoutMs: number, produced: number): Promise<boolean>;
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
  urls: { queue: string; dlq: string },
  tally: NotificationTally,
  bridged: number | undefined,
): Promise<PipelineCounts> {
  const [queue, dlq] = await Promise.all([queueDepth(clients, urls.queue), queueDepth(clients, urls.dlq)]);
  return {
    bridged,
    queued: queue.visible,
    inFlight: queue.inFlight,
    stored: tally.storedRecords,
    quarantined: tally.quarantinedRecords,
    objects: tally.objects,
    notifications: tally.messages,
    dlq: dlq.visible + dlq.inFlight,
  };
}

export class DeployedPipeline implements PipelineView {
  readonly clients: AwsClients;
  /** The SDK's own chains: credentials, region and endpoints as configured for AWS. */
  readonly clientOptions: ClientOptions = {};
  readonly #outputs: StackOutputs;
  readonly #tap: NotificationTap;

  private constructor(clients: AwsClients, outputs: StackOutputs, tap: NotificationTap) {
    this.clients = clients;
    this.#outputs = outputs;
    this.#tap = tap;
  }

  /** Subscribes `monitorQueueName` to the topic (idempotent) and starts counting manifests. */
  static async start(
    clients: AwsClients,
    outputs: StackOutputs,
    monitorQueueName: string,
  ): Promise<DeployedPipeline> {
    const queueUrl = await subscribeQueue({
      clients,
      topicArn: outputs.TopicArn,
      queueName: monitorQueueName,
      kinds: ["lake", "quarantine"],
    });
    const tap = new NotificationTap(clients.sqs, queueUrl);
    tap.start();
    return new DeployedPipeline(clients, outputs, tap);
  }

  get streamName(): string {
    return this.#outputs.StreamName;
  }

  get bucket(): string {
    return this.#outputs.BucketName;
  }

  get notifications(): NotificationTap {
    return this.#tap;
  }

  counts(): Promise<PipelineCounts> {
    const urls = { queue: this.#outputs.QueueUrl, dlq: this.#outputs.DlqUrl };
    return pipelineCounts(this.clients, urls, this.#tap.tally, undefined);
  }

  async drain(timeoutMs: number, produced: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const counts = await this.counts();
      if (counts.stored + counts.quarantined >= produced && counts.queued + counts.inFlight === 0)
        return true;
      await sleep(1_000);
    }
    return false;
  }

  async stop(): Promise<void> {
    await this.#tap.stop();
  }
}
