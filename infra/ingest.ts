/**
 * Ingest: the Kinesis stream the web server ships its logs into, and the bridge function that
 * packs the stream's records into SQS messages on the packed queue (DESIGN §1), with the
 * queue's DLQ and the bridge's on-failure destination.
 */
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as kinesis from "aws-cdk-lib/aws-kinesis";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { KinesisEventSource, SqsDlq } from "aws-cdk-lib/aws-lambda-event-sources";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { functionServiceName } from "../src/core/metrics.ts";
import type { ResourceSpec } from "../src/core/spec.ts";
import { bridgeEnvironment } from "../src/functions/config.ts";
import { acknowledge, PipelineFunction } from "./function.ts";

/** Encrypted with SQS-managed keys, TLS only: every queue of the stack. */
export const QUEUE_DEFAULTS = { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true } as const;

export interface IngestProps {
  readonly spec: ResourceSpec;
  /**
   * Kinesis capacity mode; a provisioned stream has `spec.stream.shardCount` shards.
   * @default "on-demand"
   * @see https://docs.aws.amazon.com/streams/latest/dev/how-do-i-size-a-stream.html
   */
  readonly streamMode?: "on-demand" | "provisioned";
}

export class Ingest extends Construct {
  /** The log stream, named by the spec. Deleted with the stack: it only buffers (24 h). */
  readonly stream: kinesis.Stream;
  /** The bridge function: stream records → packed SQS messages. */
  readonly bridge: PipelineFunction;
  /** Packed messages waiting for the processor. */
  readonly queue: sqs.Queue;
  /** Packed messages received `maxReceiveCount` times without success (`ticklake redrive`). */
  readonly dlq: sqs.Queue;
  /** Descriptions of stream batches the bridge gave up on (the records aged out). */
  readonly bridgeFailures: sqs.Queue;

  constructor(scope: Construct, id: string, props: IngestProps) {
    super(scope, id);
    const { spec } = props;
    const provisioned = props.streamMode === "provisioned";
    this.stream = new kinesis.Stream(this, "Stream", {
      streamName: spec.stream.name,
      streamMode: provisioned ? kinesis.StreamMode.PROVISIONED : kinesis.StreamMode.ON_DEMAND,
      ...(provisioned ? { shardCount: spec.stream.shardCount } : {}),
      encryption: kinesis.StreamEncryption.MANAGED,
      retentionPeriod: Duration.hours(spec.stream.retentionHours),
      // A named stream that outlived its stack would bill by the hour and block the next deploy
      // of the stage ("already exists"); what it holds is at most a day of logs in transit.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.dlq = new sqs.Queue(this, "PackedDlq", {
      ...QUEUE_DEFAULTS,
      queueName: spec.queue.dlqName,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, "PackedQueue", {
      ...QUEUE_DEFAULTS,
      queueName: spec.queue.name,
      visibilityTimeout: Duration.seconds(spec.queue.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(spec.queue.retentionSeconds),
      deadLetterQueue: { queue: this.dlq, maxReceiveCount: spec.queue.maxReceiveCount },
    });
    this.bridgeFailures = new sqs.Queue(this, "BridgeFailures", {
      ...QUEUE_DEFAULTS,
      queueName: `${spec.prefix}-bridge-failures`,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(
      this.bridgeFailures,
      "AwsSolutions-SQS3",
      "On-failure destination of the Kinesis event source: it holds batch descriptions, it is the last stop.",
    );

    this.bridge = new PipelineFunction(this, "Bridge", {
      entry: "functions/bridge.ts",
      timeout: Duration.seconds(spec.bridge.timeoutSeconds),
      environment: bridgeEnvironment({
        queueUrl: this.queue.queueUrl,
        maxMessageBytes: spec.bridge.maxMessageBytes,
        serviceName: functionServiceName(spec.prefix, "bridge"),
        // One namespace per stack: two stages in an account must not add up their metrics.
        metricsNamespace: spec.prefix,
      }),
    });
    this.bridge.addEventSource(
      new KinesisEventSource(this.stream, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: spec.bridge.batchSize,
        maxBatchingWindow: Duration.seconds(spec.bridge.maxBatchingWindowSeconds),
        // Retry until the record expires: the bridge is idempotent, and skipping loses data.
        retryAttempts: 10_000,
        maxRecordAge: Duration.hours(spec.stream.retentionHours),
        bisectBatchOnError: true,
        parallelizationFactor: 1,
        onFailure: new SqsDlq(this.bridgeFailures),
      }),
    );
    this.queue.grantSendMessages(this.bridge);
  }
}
