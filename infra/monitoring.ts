/**
 * Monitoring: alarms on every stage, sent to an alarm topic (and the alert e-mail), and the
 * stage's CloudWatch dashboard.
 */
import { Duration, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sns from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import {
  COMMITTER_METRICS,
  functionServiceName,
  MAINTENANCE_METRICS,
  PROCESSOR_METRICS,
} from "../src/core/metrics.ts";
import type { ShipperReportField } from "../src/core/shipping.ts";
import type { ResourceSpec } from "../src/core/spec.ts";
import type { Ingest } from "./ingest.ts";
import type { Processing } from "./processing.ts";
import type { Tables } from "./tables.ts";
import type { WebServer } from "./web-server.ts";

export interface MonitoringProps {
  readonly spec: ResourceSpec;
  readonly ingest: Ingest;
  readonly processing: Processing;
  readonly tables: Tables;
  readonly webServer: WebServer;
  /** The customer-managed key that encrypts the alarm topic; CloudWatch is granted its use. */
  readonly topicKey: kms.IKey;
  /** Subscribed to the alarm topic (after the recipient confirms). @default none */
  readonly alertEmail?: string;
}

export class Monitoring extends Construct {
  /** Every alarm of the stack publishes here. */
  readonly alarmTopic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { spec, ingest, processing, webServer } = props;
    const { bridge, stream, queue, dlq, bridgeFailures } = ingest;
    const { processor } = processing;

    this.alarmTopic = new sns.Topic(this, "Alarms", { enforceSSL: true, masterKey: props.topicKey });
    if (props.alertEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alertEmail));
    const alarmAction = new SnsAction(this.alarmTopic);
    // CloudWatch publishes as its service principal: it needs the topic's policy and the key's
    // (the AWS-managed alias/aws/sns key grants no service principal anything). Scoped to this
    // account's alarms, against the confused deputy.
    // https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
    const { account, region, partition } = Stack.of(this);
    const cloudWatch = new iam.ServicePrincipal("cloudwatch.amazonaws.com").withConditions({
      StringEquals: { "aws:SourceAccount": account },
      ArnLike: { "aws:SourceArn": `arn:${partition}:cloudwatch:${region}:${account}:alarm:*` },
    });
    this.alarmTopic.grantPublish(cloudWatch);
    props.topicKey.grant(cloudWatch, "kms:Decrypt", "kms:GenerateDataKey*");

    // The web server logs its shipper's counters as JSON once a minute; a metric filter turns
    // them into metrics (EMF is only extracted from Lambda and the CloudWatch agent).
    const shipperMetric = (field: ShipperReportField, period = Duration.minutes(1)) =>
      new logs.MetricFilter(this, `Shipper${field}`, {
        logGroup: webServer.logGroup,
        metricNamespace: spec.prefix,
        metricName: `Shipper${field[0]?.toUpperCase()}${field.slice(1)}`,
        filterPattern: logs.FilterPattern.exists(`$.shipper.${field}`),
        metricValue: `$.shipper.${field}`,
      }).metric({ statistic: "Maximum", period });

    /** Alarms as soon as a queue that should stay empty holds a message. */
    const queueNotEmpty = (alarmId: string, watched: sqs.IQueue, alarmDescription: string) =>
      new cloudwatch.Alarm(this, alarmId, {
        metric: watched.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        alarmDescription,
      });

    const functionMetric = (fn: "processor" | "committer" | "maintenance", metricName: string) =>
      new cloudwatch.Metric({
        namespace: spec.prefix,
        metricName,
        dimensionsMap: { service: functionServiceName(spec.prefix, fn) },
        statistic: "Sum",
        period: Duration.minutes(fn === "maintenance" ? spec.maintenance.intervalMinutes : 1),
      });
    /** Alarms when a function's own count of failures is above 0. */
    const failuresCounted = (alarmId: string, metric: cloudwatch.Metric, alarmDescription: string) =>
      new cloudwatch.Alarm(this, alarmId, {
        metric,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription,
      });
    const { committer, maintenance, committerDlq } = props.tables;

    this.alarms = [
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
      // The processor reports failed messages as partial batch failures, so Lambda's Errors stay
      // 0 and the DLQ only fills after 5 receives × the visibility timeout: its own count says
      // it within a minute.
      failuresCounted(
        "ProcessorMessagesFailed",
        functionMetric("processor", PROCESSOR_METRICS.messagesFailed),
        "The processor failed packed messages (infrastructure errors); they return after the visibility timeout, and reach the DLQ after 5 receives.",
      ),
      // The committer reports a table whose commit failed as partial batch failures, like the
      // processor: its own count says it within a minute.
      failuresCounted(
        "CommitterCommitsFailed",
        functionMetric("committer", COMMITTER_METRICS.commitsFailed),
        "A table's commit failed; its announcements return after the visibility timeout and reach the committer DLQ after 5 receives.",
      ),
      failuresCounted(
        "CommitterAnnouncementsRefused",
        functionMetric("committer", COMMITTER_METRICS.announcementsRefused),
        "The committer received announcements it can never commit (see its log): their files are in no table.",
      ),
      failuresCounted(
        "CommitterNotificationsFailed",
        functionMetric("committer", COMMITTER_METRICS.notificationsFailed),
        "A snapshot was committed but its table updated notification was not published: its announcements come back to publish it again.",
      ),
      queueNotEmpty(
        "CommitterDlqNotEmpty",
        committerDlq,
        "Announcements reached the committer DLQ: their files are in no table, or their snapshot is unannounced; see docs/operations.md, Tables.",
      ),
      failuresCounted(
        "MaintenanceFailed",
        functionMetric("maintenance", MAINTENANCE_METRICS.runsFailed),
        "Table maintenance failed for a table; the next scheduled run tries again.",
      ),
      failuresCounted(
        "MaintenanceHoursTooLarge",
        functionMetric("maintenance", MAINTENANCE_METRICS.hoursTooLarge),
        "A closed hour holds more records than the maintenance function's memory can compact; it stays uncompacted.",
      ),
      ...(
        [
          ["Bridge", bridge],
          ["Processor", processor],
          ["Committer", committer],
          ["Maintenance", maintenance],
        ] as const
      ).flatMap(([name, fn]) => [
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
      ]),
      new cloudwatch.Alarm(this, "ShipperSpool", {
        metric: shipperMetric("buffered"),
        threshold: 50_000,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: "The web server holds over 50,000 records Kinesis has not acknowledged.",
      }),
      // `refused` counts since the task started and never falls, so the alarm watches its
      // increase: over 5 minutes, two datapoints apart (the line comes once a minute, so each
      // 5-minute maximum holds one). It returns to OK once refusals stop, and the next ones
      // notify again.
      new cloudwatch.Alarm(this, "ShipperRefused", {
        metric: new cloudwatch.MathExpression({
          expression: "DIFF(refused)",
          usingMetrics: { refused: shipperMetric("refused", Duration.minutes(5)) },
          period: Duration.minutes(5),
          label: "records refused in 5 minutes",
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        datapointsToAlarm: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: "The web server's shipper buffer was full and refused new log records.",
      }),
    ];
    for (const alarm of this.alarms) alarm.addAlarmAction(alarmAction);

    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", { dashboardName: spec.prefix });
    this.dashboard.addWidgets(
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
        left: [
          PROCESSOR_METRICS.recordsStored,
          PROCESSOR_METRICS.recordsQuarantined,
          PROCESSOR_METRICS.objectsWritten,
        ].map((name) => functionMetric("processor", name)),
      }),
      new cloudwatch.GraphWidget({
        title: "Tables",
        left: [COMMITTER_METRICS.recordsCommitted, COMMITTER_METRICS.filesAlreadyCommitted].map((name) =>
          functionMetric("committer", name),
        ),
        right: [
          new cloudwatch.Metric({
            namespace: spec.prefix,
            metricName: COMMITTER_METRICS.announcementAge,
            dimensionsMap: { service: functionServiceName(spec.prefix, "committer") },
            statistic: "Maximum",
            period: Duration.minutes(1),
          }),
        ],
      }),
      new cloudwatch.AlarmStatusWidget({ title: "Alarms", alarms: this.alarms }),
    );
  }
}
