/**
 * Tables (DESIGN §9): one Apache Iceberg table per dataset in the Glue Data Catalog, defined at
 * deploy time by a custom resource that runs the committer's own `ensureTable`; the committer,
 * which turns the processor's announcements into one snapshot per table per commit interval;
 * and table maintenance (compaction of closed hours, snapshot expiry, orphan removal) on an
 * EventBridge schedule.
 */
import { createHash } from "node:crypto";
import { CustomResource, Duration, RemovalPolicy, Stack, Token } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import * as sns from "aws-cdk-lib/aws-sns";
import { SqsSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import * as sqs from "aws-cdk-lib/aws-sqs";
import * as cr from "aws-cdk-lib/custom-resources";
import { Construct } from "constructs";
import { tableLayerOf } from "../src/aws/tables.ts";
import { DATASETS } from "../src/core/events.ts";
import { compactableRecords } from "../src/core/iceberg/compaction.ts";
import { icebergSchemaOf } from "../src/core/iceberg/schema.ts";
import { LAKE_PREFIX, TABLES_PREFIX } from "../src/core/layout.ts";
import { functionServiceName } from "../src/core/metrics.ts";
import type { ResourceSpec } from "../src/core/spec.ts";
import {
  committerEnvironment,
  maintenanceEnvironment,
  tableSetupEnvironment,
} from "../src/functions/config.ts";
import { acknowledge, PipelineFunction } from "./function.ts";
import { QUEUE_DEFAULTS } from "./ingest.ts";

/** parquet-wasm's Node build reads its .wasm file from __dirname when it loads. */
const PARQUET_WASM = ["parquet-wasm/node/parquet_wasm_bg.wasm"];

export interface TablesProps {
  readonly spec: ResourceSpec;
  /** The lake bucket: data files under `lake/`, the warehouse under `tables/`. */
  readonly bucket: s3.IBucket;
  /** The data-available topic: announcements in (`kind` = `lake`), "table updated" out. */
  readonly topic: sns.ITopic;
  /** The Glue database the tables are in (`Lake.databaseName`, = `spec.tables.namespace`). */
  readonly databaseName: string;
  /** Created before the tables. */
  readonly database: Construct;
}

export class Tables extends Construct {
  /** Announcements of lake files, for the committer (a filter on `kind` = `lake`). */
  readonly committerQueue: sqs.Queue;
  /** Announcements the committer failed `maxReceiveCount` times. */
  readonly committerDlq: sqs.Queue;
  readonly committer: PipelineFunction;
  readonly maintenance: PipelineFunction;
  /** Invokes `maintenance` every `spec.maintenance.intervalMinutes`. */
  readonly schedule: events.Rule;
  /** Defines the Iceberg tables in Glue (create, or evolve the schema) at each deploy. */
  readonly definition: CustomResource;

  constructor(scope: Construct, id: string, props: TablesProps) {
    super(scope, id);
    const { spec, bucket, topic } = props;
    const { account, region, partition } = Stack.of(this);
    const layer = tableLayerOf(spec, bucket.bucketName, "glue");
    const settings = { ...layer, namespace: props.databaseName };

    this.committerDlq = new sqs.Queue(this, "CommitterDlq", {
      ...QUEUE_DEFAULTS,
      queueName: spec.committerQueue.dlqName,
      retentionPeriod: Duration.seconds(spec.committerQueue.dlqRetentionSeconds),
    });
    acknowledge(this.committerDlq, "AwsSolutions-SQS3", "This queue is the committer's dead-letter queue.");
    this.committerQueue = new sqs.Queue(this, "CommitterQueue", {
      ...QUEUE_DEFAULTS,
      queueName: spec.committerQueue.name,
      visibilityTimeout: Duration.seconds(spec.committerQueue.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(spec.committerQueue.retentionSeconds),
      deadLetterQueue: { queue: this.committerDlq, maxReceiveCount: spec.committerQueue.maxReceiveCount },
    });
    // Lake files only: quarantine objects and the committer's own notifications stay out.
    topic.addSubscription(
      new SqsSubscription(this.committerQueue, {
        rawMessageDelivery: true,
        filterPolicy: { kind: sns.SubscriptionFilter.stringFilter({ allowlist: ["lake"] }) },
      }),
    );

    const glueResources = [
      `arn:${partition}:glue:${region}:${account}:catalog`,
      `arn:${partition}:glue:${region}:${account}:database/${props.databaseName}`,
      `arn:${partition}:glue:${region}:${account}:table/${props.databaseName}/*`,
    ];
    const warehouseObjects = bucket.arnForObjects(`${TABLES_PREFIX}*`);
    const bucketId = Stack.of(this).getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
    // cdk-nag names a resource as the template spells it: a pseudo parameter, or its value
    // when the stack's environment is known.
    const spelled = (value: string, pseudo: string) =>
      Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value;
    const tablesArn = `arn:${spelled(partition, "Partition")}:glue:${spelled(region, "Region")}:${spelled(account, "AccountId")}:table/${props.databaseName}/*`;
    const acknowledgeScopes = (fn: PipelineFunction, prefixes: string[], actions: string[]) => {
      for (const prefix of prefixes) {
        acknowledge(
          fn,
          `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
          `Table files are minted per commit under ${prefix}; the prefix is the narrowest scope.`,
        );
      }
      acknowledge(
        fn,
        `AwsSolutions-IAM5[Resource::${tablesArn}]`,
        "One Iceberg table per dataset in the stack's own database.",
      );
      for (const action of actions) {
        acknowledge(fn, `AwsSolutions-IAM5[Action::${action}]`, "Publishing to the KMS-encrypted topic.");
      }
    };

    this.committer = new PipelineFunction(this, "Committer", {
      entry: "functions/committer.ts",
      timeout: Duration.seconds(spec.committer.timeoutSeconds),
      bundledFiles: PARQUET_WASM,
      environment: committerEnvironment({
        ...settings,
        topicArn: topic.topicArn,
        serviceName: functionServiceName(spec.prefix, "committer"),
        metricsNamespace: spec.prefix,
      }),
    });
    this.committer.addEventSource(
      new SqsEventSource(this.committerQueue, {
        batchSize: spec.committer.batchSize,
        // The commit interval.
        maxBatchingWindow: Duration.seconds(spec.committer.maxBatchingWindowSeconds),
        maxConcurrency: spec.committer.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    // Reads and writes manifests and metadata files; never deletes, never touches lake/.
    this.committer.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["s3:GetObject", "s3:PutObject"], resources: [warehouseObjects] }),
    );
    this.committer.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["glue:GetTable", "glue:CreateTable", "glue:UpdateTable"],
        resources: glueResources,
      }),
    );
    topic.grantPublish(this.committer);
    acknowledgeScopes(this.committer, [TABLES_PREFIX], ["kms:GenerateDataKey*"]);

    this.maintenance = new PipelineFunction(this, "Maintenance", {
      entry: "functions/maintenance.ts",
      timeout: Duration.seconds(spec.maintenance.timeoutSeconds),
      memorySize: spec.maintenance.memoryMb,
      bundledFiles: PARQUET_WASM,
      environment: maintenanceEnvironment({
        ...settings,
        topicArn: topic.topicArn,
        timeTravelHours: spec.maintenance.timeTravelHours,
        ledgerRetentionDays: spec.maintenance.ledgerRetentionDays,
        maxHourRecords: compactableRecords(spec.maintenance.memoryMb),
        serviceName: functionServiceName(spec.prefix, "maintenance"),
        metricsNamespace: spec.prefix,
      }),
    });
    // Compaction reads the hour's data files (lake/ or tables/) and writes under tables/;
    // expiry deletes the files of expired snapshots; orphan removal lists the warehouse.
    this.maintenance.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["s3:GetObject", "s3:DeleteObject"],
        resources: [bucket.arnForObjects(`${LAKE_PREFIX}*`), warehouseObjects],
      }),
    );
    this.maintenance.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["s3:PutObject"], resources: [warehouseObjects] }),
    );
    this.maintenance.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["s3:ListBucket"],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { "s3:prefix": [`${TABLES_PREFIX}*`] } },
      }),
    );
    this.maintenance.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["glue:GetTable", "glue:UpdateTable"], resources: glueResources }),
    );
    topic.grantPublish(this.maintenance);
    acknowledgeScopes(this.maintenance, [LAKE_PREFIX, TABLES_PREFIX], ["kms:GenerateDataKey*"]);

    this.schedule = new events.Rule(this, "MaintenanceSchedule", {
      description: `${spec.prefix}: compacts closed hours, expires snapshots, removes orphans`,
      schedule: events.Schedule.rate(Duration.minutes(spec.maintenance.intervalMinutes)),
      targets: [
        new targets.LambdaFunction(this.maintenance, {
          event: events.RuleTargetInput.fromObject({}),
          // A failed run is retried by the next one; every step is safe to repeat.
          retryAttempts: 0,
        }),
      ],
    });

    const setup = new PipelineFunction(this, "TableSetup", {
      entry: "functions/table-setup.ts",
      timeout: Duration.minutes(2),
      bundledFiles: PARQUET_WASM,
      environment: tableSetupEnvironment({
        ...settings,
        serviceName: functionServiceName(spec.prefix, "table-setup"),
        metricsNamespace: spec.prefix,
      }),
    });
    setup.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["s3:GetObject", "s3:PutObject"], resources: [warehouseObjects] }),
    );
    setup.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["glue:GetTable", "glue:CreateTable", "glue:UpdateTable"],
        resources: glueResources,
      }),
    );
    acknowledgeScopes(setup, [TABLES_PREFIX], []);
    const provider = new cr.Provider(this, "TableSetupProvider", {
      onEventHandler: setup,
      // Deleted with the stack, like every function's logs (the framework's default retains it).
      logGroup: new logs.LogGroup(this, "TableSetupProviderLogs", {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });
    acknowledge(
      provider,
      "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
      "The CDK's custom-resource framework function only writes its own logs with it.",
    );
    const setupId = Stack.of(this).getLogicalId(setup.node.defaultChild as lambda.CfnFunction);
    acknowledge(
      provider,
      `AwsSolutions-IAM5[Resource::<${setupId}.Arn>:*]`,
      "The framework invokes the one table-setup function, any of its versions.",
    );
    this.definition = new CustomResource(this, "IcebergTables", {
      serviceToken: provider.serviceToken,
      resourceType: "Custom::IcebergTables",
      // A changed contract changes the digest, so the deploy updates the resource and the
      // tables' schemas evolve.
      properties: {
        Namespace: props.databaseName,
        Warehouse: layer.warehouse,
        Schemas: createHash("sha256")
          .update(JSON.stringify(DATASETS.map((dataset) => icebergSchemaOf(dataset))))
          .digest("hex"),
      },
    });
    this.definition.node.addDependency(props.database);
  }
}
