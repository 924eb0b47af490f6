/**
 * Creates the pipeline's resources from the resource spec, idempotently: running it against
 * resources that exist changes nothing. Used for the local emulators and for LocalStack; on
 * AWS the CDK stack creates the same resources from the same spec.
 */
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
  ResourceInUseException,
} from "@aws-sdk/client-kinesis";
import { BucketAlreadyOwnedByYou, CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { CreateTopicCommand, type SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { AwsClients } from "../aws/clients.ts";
import { sleep } from "../core/backoff.ts";
import type { QueueSpec, ResourceSpec } from "../core/spec.ts";
import { ProvisioningError } from "./errors.ts";

export interface Provisioned {
  streamName: string;
  streamArn: string;
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
  bucket: string;
  topicArn: string;
  notificationQueueUrl: string;
  monitorQueueUrl: string;
  committerQueueUrl: string;
  committerQueueArn: string;
  committerDlqUrl: string;
}

/** Creates the stream unless it exists, and waits until it is ACTIVE: its ARN. */
export async function ensureStream(
  kinesis: KinesisClient,
  name: string,
  shardCount: number,
): Promise<string> {
  try {
    await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shardCount }));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    const { StreamDescriptionSummary: summary } = await kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: name }),
    );
    if (summary?.StreamStatus === "ACTIVE" && summary.StreamARN) return summary.StreamARN;
    await sleep(100);
  }
  throw new ProvisioningError(`Kinesis stream ${name} did not become ACTIVE after 100 checks, 100 ms apart`);
}

async function ensureQueue(
  sqs: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<{ url: string; arn: string }> {
  const { QueueUrl: url } = await sqs.send(
    new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
  );
  if (!url) throw new ProvisioningError(`CreateQueue returned no URL for ${name}`);
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }),
  );
  const arn = Attributes?.QueueArn;
  if (!arn) throw new ProvisioningError(`GetQueueAttributes returned no ARN for ${name}`);
  return { url, arn };
}

async function ensureBucket(s3: S3Client, name: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: name }));
  } catch (error) {
    if (!(error instanceof BucketAlreadyOwnedByYou)) throw error;
  }
}

/** A queue subscribed to the topic; with `kinds`, only messages whose `kind` attribute is one of them. */
interface Subscriber {
  queueArn: string;
  kinds?: readonly string[];
}

async function ensureTopicWithQueues(
  sns: SNSClient,
  topicName: string,
  subscribers: Subscriber[],
): Promise<string> {
  const { TopicArn: topicArn } = await sns.send(new CreateTopicCommand({ Name: topicName }));
  if (!topicArn) throw new ProvisioningError(`CreateTopic returned no ARN for ${topicName}`);
  for (const { queueArn, kinds } of subscribers) {
    // Raw delivery: the subscriber queue receives the manifest itself, not an SNS envelope.
    await sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: "sqs",
        Endpoint: queueArn,
        Attributes: {
          RawMessageDelivery: "true",
          ...(kinds ? { FilterPolicy: JSON.stringify({ kind: kinds }) } : {}),
        },
        ReturnSubscriptionArn: true,
      }),
    );
  }
  return topicArn;
}

/** A function's queue and its dead-letter queue, as the spec describes them. */
async function ensureQueueWithDlq(sqs: SQSClient, spec: QueueSpec) {
  const dlq = await ensureQueue(sqs, spec.dlqName, {
    MessageRetentionPeriod: String(spec.dlqRetentionSeconds),
  });
  const queue = await ensureQueue(sqs, spec.name, {
    VisibilityTimeout: String(spec.visibilityTimeoutSeconds),
    MessageRetentionPeriod: String(spec.retentionSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: spec.maxReceiveCount }),
  });
  return { queue, dlq };
}

export async function provision(clients: AwsClients, spec: ResourceSpec): Promise<Provisioned> {
  const streamArn = await ensureStream(clients.kinesis, spec.stream.name, spec.stream.shardCount);
  const { queue, dlq } = await ensureQueueWithDlq(clients.sqs, spec.queue);
  const notifications = await ensureQueue(clients.sqs, spec.notificationQueue.name, {
    MessageRetentionPeriod: String(spec.notificationQueue.retentionSeconds),
  });
  const monitor = await ensureQueue(clients.sqs, spec.monitorQueue.name, {});
  const { queue: committer, dlq: committerDlq } = await ensureQueueWithDlq(clients.sqs, spec.committerQueue);
  await ensureBucket(clients.s3, spec.bucket.name);
  const topicArn = await ensureTopicWithQueues(clients.sns, spec.topic.name, [
    { queueArn: notifications.arn },
    { queueArn: monitor.arn },
    // The committer takes lake files only: quarantine objects and its own notifications stay out.
    { queueArn: committer.arn, kinds: ["lake"] },
  ]);
  return {
    streamName: spec.stream.name,
    streamArn,
    queueUrl: queue.url,
    queueArn: queue.arn,
    dlqUrl: dlq.url,
    bucket: spec.bucket.name,
    topicArn,
    notificationQueueUrl: notifications.url,
    monitorQueueUrl: monitor.url,
    committerQueueUrl: committer.url,
    committerQueueArn: committer.arn,
    committerDlqUrl: committerDlq.url,
  };
}
