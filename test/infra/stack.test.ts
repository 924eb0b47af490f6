/**
 * The CDK stack: template assertions for each resource's key properties (GIVEN the spec,
 * WHEN synthesized, THEN …), and cdk-nag's AwsSolutions checks with no unacknowledged finding.
 */
import { App, type Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { beforeAll, describe, expect, it } from "vitest";
import { TicklakeStack } from "../../infra/stack.ts";
import { columnsOf, sqlTypeOf } from "../../src/core/columns.ts";
import { DATASETS } from "../../src/core/events.ts";
import { resourceSpec } from "../../src/core/spec.ts";

const spec = resourceSpec({ stage: "test" });
const env = { account: "123456789012", region: "eu-west-1" };

function synth(props: Partial<ConstructorParameters<typeof TicklakeStack>[2]> = {}) {
  const app = new App();
  const stack = new TicklakeStack(app, "Ticklake", { spec, env, ...props });
  return { app, stack, template: Template.fromStack(stack) };
}

describe("TicklakeStack", () => {
  let stack: Stack;
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
    const services = Object.values(template.findResources("AWS::Lambda::Function")).map(
      (fn) => fn.Properties.Environment?.Variables,
    );
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
    const names = alarms.map((a) => a.Properties.MetricName as string);
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

describe("cdk synth", () => {
  it("synthesizes offline from the command line, cdk-nag and cfn validation passing", async () => {
    const { execFile } = await import("node:child_process");
    const { mkdtemp, readFile, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const out = await mkdtemp(join(tmpdir(), "ticklake-cdk-"));
    try {
      await new Promise<void>((resolve, reject) =>
        execFile(
          "npx",
          ["cdk", "synth", "--no-notices", "--quiet", "--output", out],
          {
            cwd: new URL("../..", import.meta.url).pathname,
            env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: "true" },
          },
          (error, _stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve()),
        ),
      );
      const template = JSON.parse(await readFile(join(out, "ticklake-dev.template.json"), "utf8"));
      expect(
        Object.values(template.Resources).filter((r) => (r as { Type: string }).Type === "AWS::Glue::Table"),
      ).toHaveLength(4);
      // cdk-nag errors would have failed the synth (a non-zero exit) before this point.
      const report = JSON.parse(await readFile(join(out, "validation-report.json"), "utf8"));
      for (const plugin of report.pluginReports) expect(plugin.conclusion, plugin.pluginName).toBe("success");
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 120_000);
});
