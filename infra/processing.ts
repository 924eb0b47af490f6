/**
 * Processing: the processor function reads packed messages from the queue, writes Parquet and
 * quarantine objects to the lake, and announces each object on the data-available topic, to
 * which the notification queue (and an HTTPS endpoint, on request) subscribes.
 */
import { Duration, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type * as s3 from "aws-cdk-lib/aws-s3";
import * as sns from "aws-cdk-lib/aws-sns";
import { SqsSubscription, UrlSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { LAKE_PREFIX, QUARANTINE_PREFIX } from "../src/core/layout.ts";
import { functionServiceName } from "../src/core/metrics.ts";
import type { ResourceSpec } from "../src/core/spec.ts";
import { processorEnvironment } from "../src/functions/config.ts";
import { acknowledge, PipelineFunction } from "./function.ts";
import { QUEUE_DEFAULTS } from "./ingest.ts";

export interface ProcessingProps {
  readonly spec: ResourceSpec;
  /** The packed queue the processor reads (`Ingest.queue`). */
  readonly queue: sqs.IQueue;
  /** The lake bucket it writes under `lake/` and `quarantine/` (`Lake.bucket`). */
  readonly bucket: s3.IBucket;
  /** The customer-managed key that encrypts the stack's topics. */
  readonly topicKey: kms.IKey;
  /** An HTTPS endpoint subscribed to the data-available topic, raw delivery. @default none */
  readonly notifyUrl?: string;
}

export class Processing extends Construct {
  /** The processor function: packed messages → lake objects + one manifest each. */
  readonly processor: PipelineFunction;
  /** "Data available": one manifest per object written. */
  readonly topic: sns.Topic;
  /** Subscribed to `topic` with raw delivery, for people and tools (the AWS CLI, `ticklake sync`). */
  readonly notifications: sqs.Queue;

  constructor(scope: Construct, id: string, props: ProcessingProps) {
    super(scope, id);
    const { spec } = props;
    this.topic = new sns.Topic(this, "DataAvailable", {
      topicName: spec.topic.name,
      enforceSSL: true,
      masterKey: props.topicKey,
    });
    this.notifications = new sqs.Queue(this, "Notifications", {
      ...QUEUE_DEFAULTS,
      queueName: spec.notificationQueue.name,
      retentionPeriod: Duration.seconds(spec.notificationQueue.retentionSeconds),
    });
    acknowledge(
      this.notifications,
      "AwsSolutions-SQS3",
      "A subscriber queue people and tools read; nothing processes it.",
    );
    this.topic.addSubscription(new SqsSubscription(this.notifications, { rawMessageDelivery: true }));
    if (props.notifyUrl) {
      this.topic.addSubscription(new UrlSubscription(props.notifyUrl, { rawMessageDelivery: true }));
    }

    this.processor = new PipelineFunction(this, "Processor", {
      entry: "functions/processor.ts",
      timeout: Duration.seconds(spec.processor.timeoutSeconds),
      // parquet-wasm's Node build reads its .wasm file from __dirname when it loads.
      bundledFiles: ["parquet-wasm/node/parquet_wasm_bg.wasm"],
      environment: processorEnvironment({
        bucketName: props.bucket.bucketName,
        topicArn: this.topic.topicArn,
        serviceName: functionServiceName(spec.prefix, "processor"),
        // One namespace per stack: two stages in an account must not add up their metrics.
        metricsNamespace: spec.prefix,
      }),
    });
    this.processor.addEventSource(
      new SqsEventSource(props.queue, {
        batchSize: spec.processor.batchSize,
        maxBatchingWindow: Duration.seconds(spec.processor.maxBatchingWindowSeconds),
        maxConcurrency: spec.processor.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    // Only what the processor does: put objects (conditional puts need nothing more).
    this.processor.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["s3:PutObject"],
        resources: [
          props.bucket.arnForObjects(`${LAKE_PREFIX}*`),
          props.bucket.arnForObjects(`${QUARANTINE_PREFIX}*`),
        ],
      }),
    );
    this.topic.grantPublish(this.processor);
    acknowledge(
      this.processor,
      "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
      "Publishing to a KMS-encrypted topic needs the key's GenerateDataKey* family; the grant names the one topic key.",
    );

    const bucketId = Stack.of(this).getLogicalId(props.bucket.node.defaultChild as s3.CfnBucket);
    for (const prefix of [LAKE_PREFIX, QUARANTINE_PREFIX]) {
      acknowledge(
        this.processor,
        `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
        `Object keys under ${prefix} are minted per message; the prefix is the narrowest scope that allows writing them.`,
      );
    }
  }
}
