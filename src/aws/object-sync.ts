/**
 * Mirrors each new object to a local folder as its SNS manifest arrives: a queue of its own is
 * subscribed to the topic (raw delivery, filtered on `kind`), and every manifest received is
 * downloaded, checked against its SHA-256, and written under its key. Manifests may repeat
 * (at-least-once); a file already there with the manifest's size is not fetched again.
 */
import { stat } from "node:fs/promises";
import { SubscribeCommand } from "@aws-sdk/client-sns";
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
} from "@aws-sdk/client-sqs";
import { ObjectManifest } from "../core/planning.ts";
import type { AwsClients } from "./clients.ts";
import { SubscriptionError } from "./errors.ts";
import { downloadObject, localPathOf, mirrorObjects } from "./lake-mirror.ts";

export type ObjectKind = ObjectManifest["kind"];

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export interface SyncOptions extends SubscriptionOptions {
  bucket: string;
  dir: string;
  /** First copy the objects that exist already. */
  backfill: boolean;
  /** Seconds a receive waits; SQS allows up to 20. */
  waitSeconds: number;
  onObject?: (manifest: ObjectManifest, downloaded: boolean) => void;
}

export interface SyncStats {
  manifests: number;
  downloaded: number;
  bytes: number;
  skipped: number;
  backfilled: number;
}

export interface SubscriptionOptions {
  clients: AwsClients;
  topicArn: string;
  queueName: string;
  /** Only manifests of these kinds (a filter policy on the `kind` attribute). */
  kinds: readonly ObjectKind[];
}

/** Creates the subscriber queue, lets the topic send to it, and subscribes it. Idempotent. */
export async function subscribeQueue(options: SubscriptionOptions): Promise<string> {
  const { sqs, sns } = options.clients;
  const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: options.queueName }));
  if (!queueUrl) throw new SubscriptionError(`CreateQueue returned no URL for ${options.queueName}`);
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
  );
  const queueArn = Attributes?.QueueArn;
  if (!queueArn)
    throw new SubscriptionError(`GetQueueAttributes returned no ARN for queue ${options.queueName}`);
  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: queueUrl,
      Attributes: {
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Service: "sns.amazonaws.com" },
              Action: "sqs:SendMessage",
              Resource: queueArn,
              Condition: { ArnEquals: { "aws:SourceArn": options.topicArn } },
            },
          ],
        }),
      },
    }),
  );
  await sns.send(
    new SubscribeCommand({
      TopicArn: options.topicArn,
      Protocol: "sqs",
      Endpoint: queueArn,
      Attributes: { RawMessageDelivery: "true", FilterPolicy: JSON.stringify({ kind: options.kinds }) },
      ReturnSubscriptionArn: true,
    }),
  );
  return queueUrl;
}

export class ObjectSync {
  readonly #options: SyncOptions;
  readonly stats: SyncStats = { manifests: 0, downloaded: 0, bytes: 0, skipped: 0, backfilled: 0 };
  #queueUrl: string | undefined;

  constructor(options: SyncOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    this.#queueUrl = await subscribeQueue(this.#options);
    if (this.#options.backfill) {
      for (const kind of this.#options.kinds) {
        const result = await mirrorObjects(
          this.#options.clients.s3,
          this.#options.bucket,
          `${kind}/`,
          this.#options.dir,
        );
        this.stats.backfilled += result.downloaded;
        this.stats.bytes += result.bytes;
      }
    }
  }

  /** Receives once and mirrors what arrived; returns how many manifests came. */
  async receiveOnce(): Promise<number> {
    if (!this.#queueUrl)
      throw new SubscriptionError("ObjectSync.receiveOnce() before start(): there is no queue yet");
    const { sqs, s3 } = this.#options.clients;
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.#queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: this.#options.waitSeconds,
      }),
    );
    const done: Array<{ Id: string; ReceiptHandle: string | undefined }> = [];
    for (const [index, message] of Messages.entries()) {
      const parsed = ObjectManifest.safeParse(parseJson(message.Body ?? ""));
      // Not a manifest: nothing to mirror, and retrying cannot make it one.
      if (parsed.success) {
        const manifest = parsed.data;
        this.stats.manifests++;
        const local = await stat(localPathOf(this.#options.dir, manifest.key)).catch(() => undefined);
        if (local?.size === manifest.bytes) {
          this.stats.skipped++;
          this.#options.onObject?.(manifest, false);
        } else {
          this.stats.bytes += await downloadObject(
            s3,
            manifest.bucket,
            manifest.key,
            this.#options.dir,
            manifest.sha256,
          );
          this.stats.downloaded++;
          this.#options.onObject?.(manifest, true);
        }
      }
      done.push({ Id: String(index), ReceiptHandle: message.ReceiptHandle });
    }
    if (done.length > 0) {
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: done }));
    }
    return Messages.length;
  }
}
