/**
 * The ticklake stack: the same pipeline as `npm start`, on AWS. It reads the resource spec
 * that the local provisioner reads (DESIGN §4), so local and AWS cannot drift.
 */
import { fileURLToPath } from "node:url";
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from "aws-cdk-lib";
import { CfnWorkGroup } from "aws-cdk-lib/aws-athena";
import { Certificate } from "aws-cdk-lib/aws-certificatemanager";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as ecs from "aws-cdk-lib/aws-ecs";
import { ApplicationLoadBalancedFargateService } from "aws-cdk-lib/aws-ecs-patterns";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kinesis from "aws-cdk-lib/aws-kinesis";
import * as kms from "aws-cdk-lib/aws-kms";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { KinesisEventSource, SqsDlq, SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as sns from "aws-cdk-lib/aws-sns";
import { EmailSubscription, SqsSubscription, UrlSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct, IConstruct } from "constructs";
import { LAKE_PREFIX, QUARANTINE_PREFIX } from "../src/core/layout.ts";
import type { ResourceSpec } from "../src/core/spec.ts";
import { LakeCatalog } from "./catalog.ts";

export interface TicklakeStackProps extends StackProps {
  spec: ResourceSpec;
  /** Kinesis capacity mode. @default "on-demand" */
  streamMode?: "on-demand" | "provisioned";
  /** E-mail address subscribed to the data-available topic and the alarm topic. */
  alertEmail?: string;
  /** HTTPS endpoint subscribed to the data-available topic (raw delivery). */
  notifyUrl?: string;
  /** ACM certificate ARN: the load balancer then serves HTTPS and redirects HTTP. */
  certificateArn?: string;
  /** Web server tasks. @default 1 */
  webServerTasks?: number;
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const source = (path: string) => fileURLToPath(new URL(`../src/${path}`, import.meta.url));

/** Acknowledges a cdk-nag finding on a construct, with the reason it is acceptable. */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

export class TicklakeStack extends Stack {
  constructor(scope: Construct, id: string, props: TicklakeStackProps) {
    super(scope, id, props);
    const { spec } = props;

    // --- Storage: access logs, the lake, Athena results ------------------------------------
    const logBucket = new s3.Bucket(this, "AccessLogs", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const lake = new s3.Bucket(this, "Lake", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      serverAccessLogsBucket: logBucket,
      serverAccessLogsPrefix: "s3/lake/",
      lifecycleRules: [
        {
          id: "lake-tiering",
          prefix: LAKE_PREFIX,
          transitions: [
            { storageClass: s3.StorageClass.INTELLIGENT_TIERING, transitionAfter: Duration.days(30) },
          ],
        },
        {
          id: "quarantine-archive",
          prefix: QUARANTINE_PREFIX,
          transitions: [
            { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(30) },
          ],
          expiration: Duration.days(365),
        },
        { id: "abort-multipart", abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const athenaResults = new s3.Bucket(this, "AthenaResults", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      serverAccessLogsBucket: logBucket,
      serverAccessLogsPrefix: "s3/athena-results/",
      lifecycleRules: [{ expiration: Duration.days(30) }],
      // A bucket with objects cannot be deleted by CloudFormation; emptying it would take a
      // custom resource. Retained, like the lake, and removed by hand (docs/deploy-aws.md).
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // --- Kinesis ---------------------------------------------------------------------------
    const provisioned = props.streamMode === "provisioned";
    const stream = new kinesis.Stream(this, "Stream", {
      streamName: spec.stream.name,
      streamMode: provisioned ? kinesis.StreamMode.PROVISIONED : kinesis.StreamMode.ON_DEMAND,
      ...(provisioned ? { shardCount: spec.stream.shardCount } : {}),
      encryption: kinesis.StreamEncryption.MANAGED,
      retentionPeriod: Duration.hours(spec.stream.retentionHours),
    });

    // --- Queues ----------------------------------------------------------------------------
    const queueDefaults = { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true };
    const dlq = new sqs.Queue(this, "PackedDlq", {
      ...queueDefaults,
      queueName: spec.queue.dlqName,
      retentionPeriod: Duration.days(14),
    });
    const queue = new sqs.Queue(this, "PackedQueue", {
      ...queueDefaults,
      queueName: spec.queue.name,
      visibilityTimeout: Duration.seconds(spec.queue.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(spec.queue.retentionSeconds),
      deadLetterQueue: { queue: dlq, maxReceiveCount: spec.queue.maxReceiveCount },
    });
    const bridgeFailures = new sqs.Queue(this, "BridgeFailures", {
      ...queueDefaults,
      queueName: `${spec.prefix}-bridge-failures`,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(
      bridgeFailures,
      "AwsSolutions-SQS3",
      "On-failure destination of the Kinesis event source: it holds batch descriptions, it is the last stop.",
    );

    // --- Topic -----------------------------------------------------------------------------
    const awsManagedSnsKey = kms.Alias.fromAliasName(this, "SnsKey", "alias/aws/sns");
    const topic = new sns.Topic(this, "DataAvailable", {
      topicName: spec.topic.name,
      enforceSSL: true,
      masterKey: awsManagedSnsKey,
    });
    const notifications = new sqs.Queue(this, "Notifications", {
      ...queueDefaults,
      queueName: spec.notificationQueue.name,
    });
    acknowledge(
      notifications,
      "AwsSolutions-SQS3",
      "A subscriber queue people and tools read; nothing processes it.",
    );
    topic.addSubscription(new SqsSubscription(notifications, { rawMessageDelivery: true }));
    if (props.alertEmail) topic.addSubscription(new EmailSubscription(props.alertEmail));
    if (props.notifyUrl)
      topic.addSubscription(new UrlSubscription(props.notifyUrl, { rawMessageDelivery: true }));

    // --- Functions -------------------------------------------------------------------------
    const functionDefaults = {
      runtime: lambda.Runtime.NODEJS_LATEST,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 1024,
      projectRoot: ROOT,
      depsLockFilePath: `${ROOT}package-lock.json`,
      bundling: { format: OutputFormat.CJS, minify: true, sourceMap: true },
    };
    const functionLogs = (name: string) =>
      new logs.LogGroup(this, `${name}Logs`, {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      });

    const bridge = new NodejsFunction(this, "Bridge", {
      ...functionDefaults,
      entry: source("functions/bridge.ts"),
      timeout: Duration.seconds(spec.bridge.timeoutSeconds),
      logGroup: functionLogs("Bridge"),
      environment: {
        QUEUE_URL: queue.queueUrl,
        MAX_MESSAGE_BYTES: String(spec.bridge.maxMessageBytes),
        POWERTOOLS_SERVICE_NAME: `${spec.prefix}-bridge`,
        POWERTOOLS_METRICS_NAMESPACE: spec.prefix,
        NODE_OPTIONS: "--enable-source-maps",
      },
    });
    bridge.addEventSource(
      new KinesisEventSource(stream, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: spec.bridge.batchSize,
        maxBatchingWindow: Duration.seconds(spec.bridge.maxBatchingWindowSeconds),
        // Retry until the record expires: the bridge is idempotent, and skipping loses data.
        retryAttempts: 10_000,
        maxRecordAge: Duration.hours(spec.stream.retentionHours),
        bisectBatchOnError: true,
        parallelizationFactor: 1,
        onFailure: new SqsDlq(bridgeFailures),
      }),
    );
    queue.grantSendMessages(bridge);

    const processor = new NodejsFunction(this, "Processor", {
      ...functionDefaults,
      bundling: {
        ...functionDefaults.bundling,
        // parquet-wasm's Node build reads its .wasm file from __dirname when it loads.
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) => [
            `cp ${inputDir}/node_modules/parquet-wasm/node/parquet_wasm_bg.wasm ${outputDir}/`,
          ],
        },
      },
      entry: source("functions/processor.ts"),
      timeout: Duration.seconds(spec.processor.timeoutSeconds),
      logGroup: functionLogs("Processor"),
      environment: {
        BUCKET_NAME: lake.bucketName,
        TOPIC_ARN: topic.topicArn,
        POWERTOOLS_SERVICE_NAME: `${spec.prefix}-processor`,
        // One namespace per stack: two stages in an account must not add up their metrics.
        POWERTOOLS_METRICS_NAMESPACE: spec.prefix,
        NODE_OPTIONS: "--enable-source-maps",
      },
    });
    processor.addEventSource(
      new SqsEventSource(queue, {
        batchSize: spec.processor.batchSize,
        maxBatchingWindow: Duration.seconds(spec.processor.maxBatchingWindowSeconds),
        maxConcurrency: spec.processor.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    // Only what the processor does: put objects (conditional puts need nothing more).
    processor.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["s3:PutObject"],
        resources: [lake.arnForObjects(`${LAKE_PREFIX}*`), lake.arnForObjects(`${QUARANTINE_PREFIX}*`)],
      }),
    );
    topic.grantPublish(processor);

    for (const fn of [bridge, processor]) {
      acknowledge(
        fn,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        "AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs.",
      );
    }
    const lakeArn = this.getLogicalId(lake.node.defaultChild as s3.CfnBucket);
    for (const prefix of [LAKE_PREFIX, QUARANTINE_PREFIX]) {
      acknowledge(
        processor,
        `AwsSolutions-IAM5[Resource::<${lakeArn}.Arn>/${prefix}*]`,
        `Object keys under ${prefix} are minted per message; the prefix is the narrowest scope that allows writing them.`,
      );
    }

    // --- Catalog and Athena ----------------------------------------------------------------
    const databaseName = spec.prefix.replaceAll("-", "_");
    new LakeCatalog(this, "Catalog", { databaseName, bucket: lake });
    const workGroup = new CfnWorkGroup(this, "WorkGroup", {
      name: spec.prefix,
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        resultConfiguration: {
          outputLocation: `s3://${athenaResults.bucketName}/results/`,
          encryptionConfiguration: { encryptionOption: "SSE_S3" },
        },
      },
    });

    // --- Web server on Fargate -------------------------------------------------------------
    const vpc = new ec2.Vpc(this, "Vpc", {
      maxAzs: 2,
      // Public subnets only: tasks pull images and reach Kinesis without a NAT gateway's cost.
      natGateways: 0,
      subnetConfiguration: [{ name: "public", subnetType: ec2.SubnetType.PUBLIC }],
      flowLogs: {
        toS3: { destination: ec2.FlowLogDestination.toS3(logBucket, "vpc-flow-logs/") },
      },
    });
    const cluster = new ecs.Cluster(this, "Cluster", {
      vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    const serverLogs = new logs.LogGroup(this, "WebServerLogs", {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const web = new ApplicationLoadBalancedFargateService(this, "WebServer", {
      cluster,
      cpu: 512,
      memoryLimitMiB: 1024,
      desiredCount: props.webServerTasks ?? 1,
      circuitBreaker: { rollback: true },
      minHealthyPercent: 100,
      publicLoadBalancer: true,
      assignPublicIp: true,
      taskSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
      taskImageOptions: {
        image: ecs.ContainerImage.fromAsset(ROOT, { file: "Dockerfile" }),
        containerPort: 8080,
        environment: { STREAM_NAME: stream.streamName, TICKS_PER_SECOND: "1" },
        logDriver: ecs.LogDrivers.awsLogs({ streamPrefix: "webserver", logGroup: serverLogs }),
      },
      ...(props.certificateArn
        ? {
            certificate: Certificate.fromCertificateArn(this, "Certificate", props.certificateArn),
            redirectHTTP: true,
          }
        : {}),
    });
    web.targetGroup.configureHealthCheck({ path: "/health" });
    web.loadBalancer.logAccessLogs(logBucket, "alb");
    stream.grantWrite(web.taskDefinition.taskRole);
    // Reading too: after a call whose answer was lost, the shipper looks in the stream for
    // what that call stored before sending it again.
    stream.grantRead(web.taskDefinition.taskRole);

    acknowledge(
      web.loadBalancer,
      "AwsSolutions-EC23",
      "The market API is public: the load balancer accepts the internet on its listener port.",
    );
    acknowledge(
      web.taskDefinition,
      "AwsSolutions-ECS2",
      "Environment variables hold names and settings, no secrets.",
    );
    acknowledge(
      web.taskDefinition,
      "AwsSolutions-IAM5[Resource::*]",
      "ecr:GetAuthorizationToken, which the execution role needs to pull the image, has no resource-level scope.",
    );

    // --- Monitoring ------------------------------------------------------------------------
    const alarmTopic = new sns.Topic(this, "Alarms", { enforceSSL: true, masterKey: awsManagedSnsKey });
    if (props.alertEmail) alarmTopic.addSubscription(new EmailSubscription(props.alertEmail));
    const alarmAction = new SnsAction(alarmTopic);

    // The web server logs its shipper's counters as JSON once a minute; a metric filter turns
    // them into metrics (EMF is only extracted from Lambda and the CloudWatch agent).
    const shipperMetric = (field: string) =>
      new logs.MetricFilter(this, `Shipper${field}`, {
        logGroup: serverLogs,
        metricNamespace: spec.prefix,
        metricName: `Shipper${field[0]?.toUpperCase()}${field.slice(1)}`,
        filterPattern: logs.FilterPattern.exists(`$.shipper.${field}`),
        metricValue: `$.shipper.${field}`,
      }).metric({ statistic: "Maximum", period: Duration.minutes(1) });

    /** Alarms as soon as a queue that should stay empty holds a message. */
    const queueNotEmpty = (id: string, queue: sqs.IQueue, alarmDescription: string) =>
      new cloudwatch.Alarm(this, id, {
        metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        alarmDescription,
      });

    const alarms = [
      new cloudwatch.Alarm(this, "BridgeIteratorAge", {
        metric: bridge.metric("IteratorAge", { statistic: "Maximum", period: Duration.minutes(1) }),
        threshold: 60_000,
        evaluationPeriods: 5,
        alarmDescription: "The bridge is more than a minute behind the stream for 5 minutes.",
      }),
      queueNotEmpty(
        "DlqNotEmpty",
        dlq,
        "Packed messages reached the DLQ: see docs/operations.md, then `ticklake redrive`.",
      ),
      queueNotEmpty(
        "BridgeFailuresNotEmpty",
        bridgeFailures,
        "The bridge gave up on stream records (they aged out).",
      ),
      ...[bridge, processor].flatMap((fn, i) => {
        const name = i === 0 ? "Bridge" : "Processor";
        return [
          new cloudwatch.Alarm(this, `${name}Errors`, {
            metric: fn.metricErrors({ period: Duration.minutes(5) }),
            threshold: 0,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluationPeriods: 1,
          }),
          new cloudwatch.Alarm(this, `${name}Throttles`, {
            metric: fn.metricThrottles({ period: Duration.minutes(5) }),
            threshold: 0,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluationPeriods: 1,
          }),
        ];
      }),
      new cloudwatch.Alarm(this, "ShipperSpool", {
        metric: shipperMetric("buffered"),
        threshold: 50_000,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: "The web server holds over 50,000 records Kinesis has not acknowledged.",
      }),
      new cloudwatch.Alarm(this, "ShipperRefused", {
        metric: shipperMetric("refused"),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: "The web server's shipper buffer was full and refused log records.",
      }),
    ];
    for (const alarm of alarms) alarm.addAlarmAction(alarmAction);

    const dashboard = new cloudwatch.Dashboard(this, "Dashboard", { dashboardName: spec.prefix });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Stream in / bridge behind",
        left: [stream.metricIncomingRecords({ period: Duration.minutes(1) })],
        right: [bridge.metric("IteratorAge", { statistic: "Maximum", period: Duration.minutes(1) })],
      }),
      new cloudwatch.GraphWidget({
        title: "Queue",
        left: [
          queue.metricApproximateNumberOfMessagesVisible(),
          queue.metricApproximateNumberOfMessagesNotVisible(),
          dlq.metricApproximateNumberOfMessagesVisible(),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: "Functions",
        left: [bridge.metricInvocations(), processor.metricInvocations()],
        right: [
          bridge.metricErrors(),
          processor.metricErrors(),
          bridge.metricDuration(),
          processor.metricDuration(),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: "Lake",
        left: ["RecordsStored", "RecordsQuarantined", "ObjectsWritten"].map(
          (metricName) =>
            new cloudwatch.Metric({
              namespace: spec.prefix,
              metricName,
              dimensionsMap: { service: `${spec.prefix}-processor` },
              statistic: "Sum",
              period: Duration.minutes(1),
            }),
        ),
      }),
      new cloudwatch.AlarmStatusWidget({ title: "Alarms", alarms }),
    );

    // --- Outputs: what `ticklake` commands and people need -----------------------------------
    const outputs: Record<string, string> = {
      StreamName: stream.streamName,
      QueueUrl: queue.queueUrl,
      DlqUrl: dlq.queueUrl,
      BucketName: lake.bucketName,
      TopicArn: topic.topicArn,
      NotificationQueueUrl: notifications.queueUrl,
      ApiUrl: `${props.certificateArn ? "https" : "http"}://${web.loadBalancer.loadBalancerDnsName}`,
      AthenaWorkGroup: workGroup.name,
      GlueDatabase: databaseName,
      DashboardName: spec.prefix,
    };
    for (const [name, value] of Object.entries(outputs)) new CfnOutput(this, name, { value });
  }
}
