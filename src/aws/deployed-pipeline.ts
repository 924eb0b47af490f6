/**
 * The pipeline as deployed on AWS, seen from outside: the functions run in Lambda, and
 * `ticklake up --target aws` only produces and observes. It watches the queues' depths and,
 * through a subscriber queue of its own on the topic, every manifest.
 */
import { sleep } from "../core/backoff.ts";
import type { AwsClients, ClientOptions } from "./clients.ts";
import { NotificationTap } from "./notifications.ts";
import { subscribeQueue } from "./object-sync.ts";
import { NO_LOOK, type PipelineCounts, type PipelineView, pipelineCounts } from "./pipeline-view.ts";
import type { StackOutputs } from "./stack-outputs.ts";

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

  drainPending: readonly string[] = [];

  async drain(timeoutMs: number, produced: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    this.drainPending = [NO_LOOK];
    while (Date.now() < deadline) {
      const counts = await this.counts();
      const accounted = counts.stored + counts.quarantined;
      const queued = counts.queued + counts.inFlight;
      this.drainPending = [
        accounted >= produced ? undefined : `${accounted} of ${produced} records stored or quarantined`,
        queued === 0 ? undefined : `${queued} messages in the processor's queue`,
      ].filter((pending) => pending !== undefined);
      if (this.drainPending.length === 0) return true;
      await sleep(1_000);
    }
    return false;
  }

  async stop(): Promise<void> {
    await this.#tap.stop();
  }
}
