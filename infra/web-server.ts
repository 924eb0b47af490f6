/**
 * The web server on ECS Fargate behind a public Application Load Balancer: the market API and
 * its log shipper, which writes to the stream (and reads it back after a lost answer).
 */
import { RemovalPolicy } from "aws-cdk-lib";
import { Certificate } from "aws-cdk-lib/aws-certificatemanager";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import { Platform } from "aws-cdk-lib/aws-ecr-assets";
import * as ecs from "aws-cdk-lib/aws-ecs";
import { ApplicationLoadBalancedFargateService } from "aws-cdk-lib/aws-ecs-patterns";
import type * as kinesis from "aws-cdk-lib/aws-kinesis";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { acknowledge } from "./function.ts";
import { webServerImageDirectory } from "./web-server-image.ts";

export interface WebServerProps {
  /** The stream the shipper writes (`Ingest.stream`). */
  readonly stream: kinesis.IStream;
  /** Where the load balancer and the VPC flow logs write their logs (`Lake.accessLogs`). */
  readonly accessLogs: s3.IBucket;
  /** An ACM certificate ARN: the load balancer then serves HTTPS and redirects HTTP. @default HTTP only */
  readonly certificateArn?: string;
  /** Fargate tasks. @default 1 */
  readonly tasks?: number;
}

/**
 * The load balancer is the one proxy in front of the tasks: the server takes the client's
 * address from the last `X-Forwarded-For` hop, so its rate limit is per client, not per
 * load balancer node.
 */
const PROXY_HOPS = 1;

export class WebServer extends Construct {
  readonly service: ApplicationLoadBalancedFargateService;
  /** The containers' stdout: the shipper's counters once a minute, which the alarms read. */
  readonly logGroup: logs.LogGroup;
  /** `http(s)://` and the load balancer's DNS name. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: WebServerProps) {
    super(scope, id);
    const vpc = new ec2.Vpc(this, "Vpc", {
      maxAzs: 2,
      // Public subnets only: tasks pull images and reach Kinesis without a NAT gateway's cost.
      natGateways: 0,
      subnetConfiguration: [{ name: "public", subnetType: ec2.SubnetType.PUBLIC }],
      flowLogs: {
        toS3: { destination: ec2.FlowLogDestination.toS3(props.accessLogs, "vpc-flow-logs/") },
      },
    });
    const cluster = new ecs.Cluster(this, "Cluster", {
      vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    this.logGroup = new logs.LogGroup(this, "Logs", {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.service = new ApplicationLoadBalancedFargateService(this, "Service", {
      cluster,
      cpu: 512,
      memoryLimitMiB: 1024,
      desiredCount: props.tasks ?? 1,
      circuitBreaker: { rollback: true },
      minHealthyPercent: 100,
      publicLoadBalancer: true,
      assignPublicIp: true,
      taskSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      // The image is built for arm64 wherever `cdk deploy` runs (an x86 CI or an arm64 laptop),
      // and the task runs on arm64: the bundle is plain JavaScript, and Graviton costs less.
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
      taskImageOptions: {
        image: ecs.ContainerImage.fromAsset(webServerImageDirectory(), { platform: Platform.LINUX_ARM64 }),
        containerPort: 8080,
        environment: {
          STREAM_NAME: props.stream.streamName,
          TICKS_PER_SECOND: "1",
          TRUST_PROXY_HOPS: String(PROXY_HOPS),
        },
        logDriver: ecs.LogDrivers.awsLogs({ streamPrefix: "webserver", logGroup: this.logGroup }),
      },
      ...(props.certificateArn
        ? {
            certificate: Certificate.fromCertificateArn(this, "Certificate", props.certificateArn),
            redirectHTTP: true,
          }
        : {}),
    });
    this.service.targetGroup.configureHealthCheck({ path: "/health" });
    this.service.loadBalancer.logAccessLogs(props.accessLogs, "alb");
    props.stream.grantWrite(this.service.taskDefinition.taskRole);
    // Reading too: after a call whose answer was lost, the shipper looks in the stream for
    // what that call stored before sending it again.
    props.stream.grantRead(this.service.taskDefinition.taskRole);
    this.url = `${props.certificateArn ? "https" : "http"}://${this.service.loadBalancer.loadBalancerDnsName}`;

    acknowledge(
      this.service.loadBalancer,
      "AwsSolutions-EC23",
      "The market API is public: the load balancer accepts the internet on its listener port.",
    );
    acknowledge(
      this.service.taskDefinition,
      "AwsSolutions-ECS2",
      "Environment variables hold names and settings, no secrets.",
    );
    acknowledge(
      this.service.taskDefinition,
      "AwsSolutions-IAM5[Resource::*]",
      "ecr:GetAuthorizationToken, which the execution role needs to pull the image, has no resource-level scope.",
    );
  }
}
