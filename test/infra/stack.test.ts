/**
 * The CDK stack: template assertions for each resource's key properties (GIVEN the spec,
 * WHEN synthesized, THEN …), and cdk-nag's AwsSolutions checks with no unacknowledged finding.
 */

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { CURRENTLY_RECOMMENDED_FLAGS } from "aws-cdk-lib/cx-api";
import { AwsSolutionsChecks } from "cdk-nag";
import { beforeAll, describe, expect, it } from "vitest";
import { DEPLOYED } from "../../bench/cost-model.ts";
import { TicklakeStack } from "../../infra/stack.ts";
import { columnsOf, sqlTypeOf } from "../../src/core/columns.ts";
import { DATASETS } from "../../src/core/events.ts";
import { BRIDGE_METRICS, functionServiceName, PROCESSOR_METRICS } from "../../src/core/metrics.ts";
import { resourceSpec } from "../../src/core/spec.ts";
import { PROJECT_CONTEXT, projectApp } from "../support/cdk.ts";

const spec = resourceSpec({ stage: "test" });
const env = { account: "123456789012", region: "eu-west-1" };

function synth(props: Partial<ConstructorParameters<typeof TicklakeStack>[2]> = {}) {
  const app = projectApp();
  const stack = new TicklakeStack(app, "Ticklake", { spec, env, ...props });
  return { app, stack, template: Template.fromStack(stack) };
}

describe("TicklakeStack", () => {
  let stack: TicklakeStack;
  let app: App;
  let template: Template;

  beforeAll(() => {
    ({ app, stack, template } = synth({
      alertEmail: "ops@example.com",
      notifyUrl: "https://example.com/hook",
    }));
  }, 120_000);

  it("has an encrypted on-demand stream by default, and a provisioned one with the spec's shards on request", () => {
    template.hasResourceProperties("AWS::Kinesis::Stream", {
      Name: spec.stream.name,
      StreamModeDetails: { StreamMode: "ON_DEMAND" },
      StreamEncryption: { EncryptionType: "KMS", KeyId: "alias/aws/kinesis" },
      RetentionPeriodHours: spec.stream.retentionHours,
    });
    synth({ streamMode: "provisioned" }).template.hasResourceProperties("AWS::Kinesis::Stream", {
      StreamModeDetails: { StreamMode: "PROVISIONED" },
      ShardCount: spec.stream.shardCount,
    });
  });

  it("runs both functions on arm64 with the newest Node.js runtime", () => {
    const functions = template.findResources("AWS::Lambda::Function", {
      Properties: { Environment: { Variables: Match.objectLike({ NODE_OPTIONS: "--enable-source-maps" }) } },
    });
    expect(Object.keys(functions)).toHaveLength(2);
    for (const fn of Object.values(functions)) {
      expect(fn.Properties.Runtime).toBe("nodejs24.x");
      expect(fn.Properties.Architectures).toEqual(["arm64"]);
    }
  });

  it("keeps each stage's metrics apart: the namespace and service names carry the stack's prefix", () => {
    // The pipeline's functions: the ones with settings (the VPC's default-security-group
    // custom resource has none).
    const services = Object.values(
      template.findResources("AWS::Lambda::Function", { Properties: { Environment: Match.anyValue() } }),
    ).map((fn) => fn.Properties.Environment?.Variables);
    expect(services.map((v) => [v?.POWERTOOLS_SERVICE_NAME, v?.POWERTOOLS_METRICS_NAMESPACE]).sort()).toEqual(
      [
        [`${spec.prefix}-bridge`, spec.prefix],
        [`${spec.prefix}-processor`, spec.prefix],
      ],
    );
    for (const filter of Object.values(template.findResources("AWS::Logs::MetricFilter"))) {
      expect(filter.Properties.MetricTransformations[0].MetricNamespace).toBe(spec.prefix);
    }
  });

  it("feeds the bridge from the stream with the spec's batching, retries until records expire, and an on-failure destination", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: spec.bridge.batchSize,
      MaximumBatchingWindowInSeconds: spec.bridge.maxBatchingWindowSeconds,
      StartingPosition: "TRIM_HORIZON",
      MaximumRetryAttempts: 10_000,
      MaximumRecordAgeInSeconds: spec.stream.retentionHours * 3600,
      BisectBatchOnFunctionError: true,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
  });

  it("gives the queue a visibility timeout of at least 6 × the processor's timeout and a DLQ after maxReceiveCount", () => {
    const queue = Object.values(
      template.findResources("AWS::SQS::Queue", { Properties: { QueueName: spec.queue.name } }),
    )[0];
    const processor = Object.values(
      template.findResources("AWS::Lambda::Function", {
        Properties: { Environment: { Variables: Match.objectLike({ TOPIC_ARN: Match.anyValue() }) } },
      }),
    )[0];
    expect(queue?.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * processor?.Properties.Timeout);
    expect(queue?.Properties.RedrivePolicy.maxReceiveCount).toBe(spec.queue.maxReceiveCount);
    expect(queue?.Properties.SqsManagedSseEnabled).toBe(true);
  });

  it("feeds the processor from the queue with partial batch responses, batching and maximum concurrency", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: spec.processor.batchSize,
      MaximumBatchingWindowInSeconds: spec.processor.maxBatchingWindowSeconds,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: spec.processor.maxConcurrency },
    });
  });

  it("refuses plain HTTP on every queue, bucket and topic", () => {
    const denyInsecure = Match.arrayWith([
      Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
    ]);
    for (const [type, count] of [
      ["AWS::SQS::QueuePolicy", 4],
      ["AWS::S3::BucketPolicy", 3],
      ["AWS::SNS::TopicPolicy", 2],
    ] as const) {
      const policies = template.findResources(type, {
        Properties: { PolicyDocument: { Statement: denyInsecure } },
      });
      expect(Object.keys(policies).length, type).toBeGreaterThanOrEqual(count);
    }
  });

  it("blocks public access to the lake, encrypts it, logs access and moves old objects to cheaper storage", () => {
    template.hasResourceProperties("AWS::S3::Bucket", {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: Match.anyValue(),
      LoggingConfiguration: { DestinationBucketName: Match.anyValue(), LogFilePrefix: "s3/lake/" },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Prefix: "lake/",
            Transitions: [{ StorageClass: "INTELLIGENT_TIERING", TransitionInDays: 30 }],
          }),
          Match.objectLike({ Prefix: "quarantine/", ExpirationInDays: 365 }),
        ]),
      },
    });
  });

  it("lets the processor write only under lake/ and quarantine/, and publish only to its topic", () => {
    const processorPolicy = Object.values(template.findResources("AWS::IAM::Policy")).find((policy) =>
      JSON.stringify(policy).includes("sns:Publish"),
    );
    const statements = processorPolicy?.Properties.PolicyDocument.Statement as Array<{
      Action: string | string[];
      Resource: unknown;
    }>;
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions.filter((a) => a.startsWith("s3:"))).toEqual(["s3:PutObject"]);
    const s3Resources = JSON.stringify(
      statements.filter((s) => JSON.stringify(s.Action).includes("s3:")).map((s) => s.Resource),
    );
    expect(s3Resources).toContain("/lake/*");
    expect(s3Resources).toContain("/quarantine/*");
    expect(s3Resources).not.toMatch(/Arn"\]\},"\/\*"/);
    expect(actions).not.toContain("s3:GetObject");
    expect(actions).not.toContain("s3:DeleteObject*");
  });

  it("encrypts the topic, delivers raw manifests to the notification queue, and subscribes e-mail and HTTPS from context", () => {
    template.hasResourceProperties("AWS::SNS::Topic", {
      TopicName: spec.topic.name,
      KmsMasterKeyId: Match.anyValue(),
    });
    template.hasResourceProperties("AWS::SNS::Subscription", { Protocol: "sqs", RawMessageDelivery: true });
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "ops@example.com",
    });
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "https",
      Endpoint: "https://example.com/hook",
      RawMessageDelivery: true,
    });
    expect(Object.keys(synth().template.findResources("AWS::SNS::Subscription"))).toHaveLength(1);
  });

  it("declares one Glue table per dataset, columns derived from the zod schemas, with partition projection", () => {
    for (const dataset of DATASETS) {
      template.hasResourceProperties("AWS::Glue::Table", {
        TableInput: {
          Name: dataset,
          PartitionKeys: [
            { Name: "dt", Type: "string" },
            { Name: "hour", Type: "string" },
          ],
          Parameters: Match.objectLike({
            "projection.enabled": "true",
            "projection.dt.type": "date",
            "projection.hour.range": "0,23",
          }),
          StorageDescriptor: Match.objectLike({
            SerdeInfo: {
              SerializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
            },
            Columns: columnsOf(dataset).map((c) => ({
              Name: c.name,
              Type: sqlTypeOf(c.type, "hive"),
              Comment: c.description,
            })),
          }),
        },
      });
    }
    template.hasResourceProperties("AWS::Athena::WorkGroup", {
      WorkGroupConfiguration: Match.objectLike({
        EnforceWorkGroupConfiguration: true,
        ResultConfiguration: Match.objectLike({ EncryptionConfiguration: { EncryptionOption: "SSE_S3" } }),
      }),
    });
  });

  it("alarms on iterator age, DLQ depth, function errors and throttles, and the shipper's spool, to an alarm topic", () => {
    const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm"));
    // A metric-math alarm names its metrics inside `Metrics`.
    const names = alarms.flatMap((a) =>
      a.Properties.MetricName
        ? [a.Properties.MetricName as string]
        : (a.Properties.Metrics as Array<{ MetricStat?: { Metric: { MetricName: string } } }>).flatMap((m) =>
            m.MetricStat ? [m.MetricStat.Metric.MetricName] : [],
          ),
    );
    for (const metric of [
      "IteratorAge",
      "ApproximateNumberOfMessagesVisible",
      "Errors",
      "Throttles",
      "ShipperBuffered",
      "ShipperRefused",
    ]) {
      expect(names, metric).toContain(metric);
    }
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toHaveLength(1);
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
  });

  it("runs the web server on Fargate behind a load balancer, health-checked, allowed to write and read the stream", () => {
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", {
      HealthCheckPath: "/health",
      Port: 80,
    });
    template.hasResourceProperties("AWS::ECS::Service", {
      LaunchType: "FARGATE",
      DeploymentConfiguration: Match.objectLike({
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      }),
    });
    const taskPolicies = Object.values(template.findResources("AWS::IAM::Policy")).filter((p) =>
      JSON.stringify(p).includes("kinesis:PutRecords"),
    );
    expect(taskPolicies).toHaveLength(1);
    // The shipper reads the stream back after a call whose answer was lost.
    for (const action of ["kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"]) {
      expect(JSON.stringify(taskPolicies[0]), action).toContain(action);
    }
  });

  it("passes cdk-nag's AwsSolutions checks: every finding fixed or acknowledged with a reason", () => {
    const report = new AwsSolutionsChecks(app).validateScope(stack);
    const open = report.violations.map(
      (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(", ")}`,
    );
    expect(open).toEqual([]);
  });
});

describe("TicklakeStack: what a first deploy would hit (issue 16)", () => {
  let app: App;
  let stack: TicklakeStack;
  let template: Template;
  /** Resources of a type, by logical id. */
  const resources = (type: string) => template.findResources(type);
  /** The logical id a `Ref` or `Fn::GetAtt` value points to. */
  const target = (value: unknown): string | undefined => {
    const v = value as { Ref?: string; "Fn::GetAtt"?: [string, string] };
    return v?.Ref ?? v?.["Fn::GetAtt"]?.[0];
  };

  beforeAll(() => {
    // GIVEN the stack as `cdk synth` makes it, with an alert e-mail and an HTTPS subscriber
    ({ app, stack, template } = synth({
      spec: resourceSpec({ stage: "test", target: "aws" }),
      alertEmail: "ops@example.com",
      notifyUrl: "https://example.com/hook",
    }));
  }, 120_000);

  it("a. builds the web server image for arm64 wherever it is deployed from, and runs the task on arm64", () => {
    // WHEN the cloud assembly is written
    const assembly = app.synth();
    const manifest = JSON.parse(
      readFileSync(join(assembly.directory, `${stack.artifactId}.assets.json`), "utf8"),
    ) as { dockerImages: Record<string, { source: { platform?: string } }> };
    // THEN the one image asset is pinned to linux/arm64, and so is the task
    expect(Object.values(manifest.dockerImages).map((image) => image.source.platform)).toEqual([
      "linux/arm64",
    ]);
    template.hasResourceProperties("AWS::ECS::TaskDefinition", {
      RuntimePlatform: { CpuArchitecture: "ARM64", OperatingSystemFamily: "LINUX" },
    });
  });

  it("b. deletes every named resource with the stack, and retains only the buckets, whose names are generated", () => {
    // WHEN the template is read for deletion behaviour
    const all = template.toJSON().Resources as Record<
      string,
      { Type: string; DeletionPolicy?: string; Properties?: Record<string, unknown> }
    >;
    const retained = Object.values(all).filter(
      (r) => r.DeletionPolicy === "Retain" || r.DeletionPolicy === "Snapshot",
    );
    // THEN what survives a destroy is the three buckets (docs/deploy-aws.md, "Teardown") …
    expect(retained.map((r) => r.Type)).toEqual(["AWS::S3::Bucket", "AWS::S3::Bucket", "AWS::S3::Bucket"]);
    // … with CloudFormation's generated names, so a new deploy of the stage makes new ones …
    for (const bucket of retained) expect(bucket.Properties?.BucketName).toBeUndefined();
    // … and every resource with a fixed name is deleted, so the next deploy can create it again.
    const nameKeys = ["Name", "StreamName", "QueueName", "TopicName", "DashboardName", "AlarmName"];
    const named = Object.entries(all).filter(([, r]) =>
      nameKeys.some((key) => r.Properties?.[key] !== undefined),
    );
    expect(named.map(([id]) => id)).toEqual(expect.arrayContaining([expect.stringMatching(/^IngestStream/)]));
    for (const [id, r] of named) expect(r.DeletionPolicy ?? "Delete", id).toBe("Delete");
  });

  it("c. encrypts both topics with a customer-managed key that CloudWatch's alarms may use, and lets them publish", () => {
    // WHEN the topics, the key and the alarm topic's policy are read
    const keys = Object.keys(resources("AWS::KMS::Key"));
    const topics = Object.values(resources("AWS::SNS::Topic"));
    // THEN every topic uses a key of this stack (not alias/aws/sns, which no service principal may use)
    expect(topics).toHaveLength(2);
    for (const topic of topics) expect(keys).toContain(target(topic.Properties.KmsMasterKeyId));
    template.hasResourceProperties("AWS::KMS::Key", {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
            Condition: Match.objectLike({ StringEquals: { "aws:SourceAccount": "123456789012" } }),
          }),
        ]),
      },
    });
    const alarmTopic = Object.keys(resources("AWS::SNS::Topic")).find((id) =>
      id.startsWith("MonitoringAlarms"),
    );
    template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      Topics: [{ Ref: alarmTopic }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "sns:Publish",
          }),
        ]),
      },
    });
    // … and every alarm publishes to that topic
    for (const alarm of Object.values(resources("AWS::CloudWatch::Alarm"))) {
      expect(alarm.Properties.AlarmActions.map(target)).toEqual([alarmTopic]);
    }
  });

  it("d. subscribes the alert e-mail to the alarm topic only, never to data-available", () => {
    // WHEN the subscriptions are grouped by topic
    const topicOf = (protocol: string) =>
      Object.values(resources("AWS::SNS::Subscription"))
        .filter((sub) => sub.Properties.Protocol === protocol)
        .map((sub) => target(sub.Properties.TopicArn));
    // THEN the e-mail goes to alarms, the queue and the HTTPS hook to data-available
    expect(topicOf("email")).toEqual([expect.stringMatching(/^MonitoringAlarms/)]);
    expect(topicOf("sqs")).toEqual([expect.stringMatching(/^ProcessingDataAvailable/)]);
    expect(topicOf("https")).toEqual([expect.stringMatching(/^ProcessingDataAvailable/)]);
  });

  it("e. tells the web server that one proxy (the load balancer) stands in front of it, and health-checks /health", () => {
    // WHEN the task's environment and the target group are read
    const [task] = Object.values(resources("AWS::ECS::TaskDefinition"));
    const environment = Object.fromEntries(
      (
        (task?.Properties.ContainerDefinitions[0].Environment ?? []) as Array<{
          Name: string;
          Value: unknown;
        }>
      ).map((variable) => [variable.Name, variable.Value]),
    );
    // THEN the server derives each client's address from X-Forwarded-For, one hop deep
    expect(environment.TRUST_PROXY_HOPS).toBe("1");
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", {
      HealthCheckPath: "/health",
    });
  });

  it("f. alarms within a minute on the processor's own failed-message count, not only once the DLQ fills", () => {
    // THEN an alarm watches MessagesFailed of this stage's processor, one-minute periods, one breach
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: spec.prefix,
      MetricName: PROCESSOR_METRICS.messagesFailed,
      Dimensions: [{ Name: "service", Value: functionServiceName(spec.prefix, "processor") }],
      Statistic: "Sum",
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "notBreaching",
    });
  });

  it("g. alarms on new shipper refusals (the increase of a counter that only grows), so it can notify again", () => {
    // WHEN the ShipperRefused alarm is found by its metric
    const alarm = Object.values(resources("AWS::CloudWatch::Alarm")).find((a) =>
      JSON.stringify(a.Properties.Metrics ?? []).includes('"ShipperRefused"'),
    );
    const metrics = alarm?.Properties.Metrics as Array<{
      Id: string;
      Expression?: string;
      MetricStat?: { Metric: { MetricName: string }; Stat: string };
    }>;
    // THEN it alarms on DIFF of the counter's maximum, not on the counter
    const counter = metrics.find((m) => m.MetricStat?.Metric.MetricName === "ShipperRefused");
    expect(counter?.MetricStat?.Stat).toBe("Maximum");
    expect(metrics.find((m) => m.Expression)?.Expression).toBe(`DIFF(${counter?.Id})`);
    expect(alarm?.Properties).toMatchObject({ Threshold: 0, ComparisonOperator: "GreaterThanThreshold" });
  });

  it("h. sets every feature flag the CDK recommends, and the log bucket's policy grants each delivery before it starts", () => {
    // THEN cdk.json carries the CDK's currently recommended flags, with their values
    expect(PROJECT_CONTEXT).toMatchObject(CURRENTLY_RECOMMENDED_FLAGS);
    // … the access-log bucket takes no ACLs, and its policy (written by CloudFormation) grants
    // S3's, the VPC flow logs' and the load balancer's deliveries, so no service writes its own
    const logBucket = Object.keys(resources("AWS::S3::Bucket")).find((id) => id.startsWith("LakeAccessLogs"));
    template.hasResourceProperties("AWS::S3::Bucket", {
      OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] },
    });
    const [policyId, policy] =
      Object.entries(resources("AWS::S3::BucketPolicy")).find(
        ([, p]) => target(p.Properties.Bucket) === logBucket,
      ) ?? [];
    const principals = JSON.stringify(
      ((policy?.Properties.PolicyDocument.Statement ?? []) as Array<{ Effect: string; Principal: unknown }>)
        .filter((statement) => statement.Effect === "Allow")
        .map((statement) => statement.Principal),
    );
    expect(principals).toContain("logging.s3.amazonaws.com");
    expect(principals).toContain("delivery.logs.amazonaws.com");
    expect(principals).toMatch(/arn:aws:iam::\d{12}:root/); // the region's load-balancer account
    // … and the flow log and the load balancer are created only once that policy exists
    for (const type of ["AWS::EC2::FlowLog", "AWS::ElasticLoadBalancingV2::LoadBalancer"]) {
      const [resource] = Object.values(template.findResources(type));
      expect(resource?.DependsOn, type).toContain(policyId);
    }
  });

  it("k. is what the cost model prices: task size, load balancer zones, alarm metrics, keys, dashboard, batching", () => {
    // WHEN the template's cost-bearing resources are counted
    const [task] = Object.values(resources("AWS::ECS::TaskDefinition"));
    const [service] = Object.values(resources("AWS::ECS::Service"));
    const [balancer] = Object.values(resources("AWS::ElasticLoadBalancingV2::LoadBalancer"));
    const alarmMetrics = Object.values(resources("AWS::CloudWatch::Alarm")).reduce(
      (sum, alarm) =>
        sum +
        (alarm.Properties.Metrics
          ? (alarm.Properties.Metrics as Array<{ MetricStat?: unknown }>).filter((m) => m.MetricStat).length
          : 1),
      0,
    );
    // THEN they are the deployment bench/cost-model.ts prices
    expect(Number(task?.Properties.Cpu) / 1024).toBe(DEPLOYED.taskVcpu);
    expect(Number(task?.Properties.Memory) / 1024).toBe(DEPLOYED.taskMemoryGB);
    expect(task?.Properties.RuntimePlatform.CpuArchitecture).toBe("ARM64");
    expect(service?.Properties.DesiredCount).toBe(DEPLOYED.tasks);
    expect(balancer?.Properties.Subnets).toHaveLength(DEPLOYED.loadBalancerZones);
    expect(alarmMetrics).toBe(DEPLOYED.alarmMetrics);
    expect(Object.keys(resources("AWS::KMS::Key"))).toHaveLength(DEPLOYED.kmsKeys);
    expect(Object.keys(resources("AWS::CloudWatch::Dashboard"))).toHaveLength(DEPLOYED.dashboards);
    expect(Object.keys(resources("AWS::Logs::MetricFilter"))).toHaveLength(
      DEPLOYED.customMetrics - Object.keys(PROCESSOR_METRICS).length - Object.keys(BRIDGE_METRICS).length,
    );
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      MaximumBatchingWindowInSeconds: DEPLOYED.spec.bridge.maxBatchingWindowSeconds,
      BatchSize: DEPLOYED.spec.bridge.batchSize,
    });
  });

  it("i. bundles each function alone: its code and, for the processor, parquet-wasm's .wasm, no node_modules", () => {
    // WHEN the functions' assets are listed
    const assembly = app.synth();
    const functions = Object.values(
      template.findResources("AWS::Lambda::Function", { Properties: { Environment: Match.anyValue() } }),
    );
    const files = functions.map((fn) =>
      readdirSync(
        join(assembly.directory, `asset.${String(fn.Properties.Code.S3Key).replace(/\.zip$/, "")}`),
      ).sort(),
    );
    // THEN each holds its bundle and source map, and nothing else but the processor's wasm
    expect(files.sort()).toEqual([
      ["index.js", "index.js.map"],
      ["index.js", "index.js.map", "parquet_wasm_bg.wasm"],
    ]);
  });
});
