/**
 * The ticklake stack: the same pipeline as `npm start`, on AWS. It reads the resource spec
 * that the local provisioner reads (DESIGN §4), so local and AWS cannot drift. Each concern is
 * a construct of its own; the stack composes them and says what `ticklake` needs (outputs).
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import * as kms from "aws-cdk-lib/aws-kms";
import type { Construct } from "constructs";
import type { ResourceSpec } from "../src/core/spec.ts";
import { Ingest } from "./ingest.ts";
import { Lake } from "./lake.ts";
import { Monitoring } from "./monitoring.ts";
import { Processing } from "./processing.ts";
import { WebServer } from "./web-server.ts";

export interface TicklakeStackProps extends StackProps {
  readonly spec: ResourceSpec;
  /** Kinesis capacity mode. @default "on-demand" */
  readonly streamMode?: "on-demand" | "provisioned";
  /** E-mail address subscribed to the alarm topic (not to data-available: one mail per object). */
  readonly alertEmail?: string;
  /** HTTPS endpoint subscribed to the data-available topic (raw delivery). */
  readonly notifyUrl?: string;
  /** ACM certificate ARN: the load balancer then serves HTTPS and redirects HTTP. */
  readonly certificateArn?: string;
  /** Web server tasks. @default 1 */
  readonly webServerTasks?: number;
}

export class TicklakeStack extends Stack {
  readonly ingest: Ingest;
  readonly lake: Lake;
  readonly processing: Processing;
  readonly webServer: WebServer;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: TicklakeStackProps) {
    super(scope, id, props);
    const { spec } = props;
    // One customer-managed key for both topics ($1 a month): unlike alias/aws/sns, its policy can
    // let service principals (CloudWatch's alarms) publish. Deleted with the stack, after
    // KMS's shortest waiting period.
    const topicKey = new kms.Key(this, "TopicKey", {
      description: `${spec.prefix}: encrypts the data-available and alarm topics`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });

    this.lake = new Lake(this, "Lake", { spec });
    this.ingest = new Ingest(this, "Ingest", {
      spec,
      ...(props.streamMode ? { streamMode: props.streamMode } : {}),
    });
    this.processing = new Processing(this, "Processing", {
      spec,
      queue: this.ingest.queue,
      bucket: this.lake.bucket,
      topicKey,
      ...(props.notifyUrl ? { notifyUrl: props.notifyUrl } : {}),
    });
    this.webServer = new WebServer(this, "WebServer", {
      stream: this.ingest.stream,
      accessLogs: this.lake.accessLogs,
      ...(props.certificateArn ? { certificateArn: props.certificateArn } : {}),
      ...(props.webServerTasks !== undefined ? { tasks: props.webServerTasks } : {}),
    });
    this.monitoring = new Monitoring(this, "Monitoring", {
      spec,
      ingest: this.ingest,
      processing: this.processing,
      webServer: this.webServer,
      topicKey,
      ...(props.alertEmail ? { alertEmail: props.alertEmail } : {}),
    });

    // What `ticklake` commands and people need.
    const outputs: Record<string, string> = {
      StreamName: this.ingest.stream.streamName,
      QueueUrl: this.ingest.queue.queueUrl,
      DlqUrl: this.ingest.dlq.queueUrl,
      BucketName: this.lake.bucket.bucketName,
      TopicArn: this.processing.topic.topicArn,
      NotificationQueueUrl: this.processing.notifications.queueUrl,
      ApiUrl: this.webServer.url,
      AthenaWorkGroup: this.lake.workGroup.name,
      GlueDatabase: this.lake.databaseName,
      DashboardName: spec.prefix,
    };
    for (const [name, value] of Object.entries(outputs)) new CfnOutput(this, name, { value });
  }
}
