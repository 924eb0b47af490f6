/**
 * The one place AWS clients are made (DESIGN §4). The SDK's normal credential and region
 * chain applies; an endpoint from AWS_ENDPOINT_URL_<SERVICE> or AWS_ENDPOINT_URL is passed
 * explicitly, and with it the settings local servers need.
 */
import { Agent } from "node:http";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { GlueClient } from "@aws-sdk/client-glue";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { S3Client } from "@aws-sdk/client-s3";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";
import { NodeHttpHandler } from "@smithy/node-http-handler";

export type Service = "kinesis" | "sqs" | "sns" | "s3" | "glue";

export interface ClientOptions {
  /** Overrides the region chain. */
  region?: string;
  /** Endpoint per service; `undefined` means the real AWS endpoint. */
  endpoints?: Partial<Record<Service, string>>;
  /** Static credentials, used against local endpoints where no real ones exist. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Retries the SDK makes itself before an error reaches ticklake code. @default 3 */
  maxAttempts?: number;
}

/** Endpoints from the environment, the way the SDK names them. */
export function endpointsFromEnv(env: NodeJS.ProcessEnv): Partial<Record<Service, string>> {
  const endpoints: Partial<Record<Service, string>> = {};
  for (const service of ["kinesis", "sqs", "sns", "s3", "glue"] as const) {
    const url = env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`] ?? env.AWS_ENDPOINT_URL;
    if (url) endpoints[service] = url;
  }
  return endpoints;
}

export interface AwsClients {
  readonly kinesis: KinesisClient;
  /**
   * Kinesis without the SDK's own retries, for a KinesisShipper: it retries itself, and checks
   * first whether a call whose answer was lost was stored. An SDK retry of such a call would
   * be a copy in the stream that it cannot see.
   */
  readonly shippingKinesis: KinesisClient;
  readonly sqs: SQSClient;
  readonly sns: SNSClient;
  readonly s3: S3Client;
  /** The Glue Data Catalog: the table layer's catalog on AWS (DESIGN §9). */
  readonly glue: GlueClient;
  /** For reading the deployed stack's outputs; always the real AWS endpoint. */
  readonly cloudformation: CloudFormationClient;
  /** Metrics of a deployed stack (`status --target aws`); never local. */
  readonly cloudwatch: CloudWatchClient;
  destroy(): void;
}

/** Creates each client on first use, with keep-alive HTTP/1.1 connections. */
export function createClients(options: ClientOptions = {}): AwsClients {
  const made: Partial<{
    kinesis: KinesisClient;
    shippingKinesis: KinesisClient;
    sqs: SQSClient;
    sns: SNSClient;
    s3: S3Client;
    glue: GlueClient;
    cloudformation: CloudFormationClient;
    cloudwatch: CloudWatchClient;
  }> = {};
  const common = (service: Service) => {
    const endpoint = options.endpoints?.[service];
    return {
      ...(options.region ? { region: options.region } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(endpoint ? { endpoint } : {}),
      maxAttempts: options.maxAttempts ?? 3,
      // Local Kinesis servers fail the SDK's default HTTP/2 handler; HTTP/1.1 with keep-alive
      // works everywhere and keeps connection set-up off the hot path.
      requestHandler: new NodeHttpHandler({
        httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }),
        connectionTimeout: 5_000,
        requestTimeout: 30_000,
        // Without it the handler only logs a warning and the request waits for ever: a
        // shipper whose call never returns would stop shipping.
        throwOnRequestTimeout: true,
      }),
    };
  };
  const local = (service: Service) => options.endpoints?.[service] !== undefined;
  // Services ticklake only uses on AWS (stack outputs, metrics): no local endpoint, no handler.
  const awsOnly = {
    ...(options.region ? { region: options.region } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: options.maxAttempts ?? 3,
  };
  return {
    get kinesis() {
      made.kinesis ??= new KinesisClient(common("kinesis"));
      return made.kinesis;
    },
    get shippingKinesis() {
      made.shippingKinesis ??= new KinesisClient({ ...common("kinesis"), maxAttempts: 1 });
      return made.shippingKinesis;
    },
    get sqs() {
      made.sqs ??= new SQSClient({
        ...common("sqs"),
        // Local servers hand out queue URLs whose host names do not resolve.
        ...(local("sqs") ? { useQueueUrlAsEndpoint: false } : {}),
      });
      return made.sqs;
    },
    get sns() {
      made.sns ??= new SNSClient(common("sns"));
      return made.sns;
    },
    get s3() {
      made.s3 ??= new S3Client({
        ...common("s3"),
        ...(local("s3")
          ? {
              forcePathStyle: true,
              // Streamed uploads otherwise use aws-chunked framing that local servers mishandle.
              requestChecksumCalculation: "WHEN_REQUIRED" as const,
              responseChecksumValidation: "WHEN_REQUIRED" as const,
            }
          : {}),
      });
      return made.s3;
    },
    get glue() {
      made.glue ??= new GlueClient(common("glue"));
      return made.glue;
    },
    get cloudwatch() {
      made.cloudwatch ??= new CloudWatchClient(awsOnly);
      return made.cloudwatch;
    },
    get cloudformation() {
      made.cloudformation ??= new CloudFormationClient(awsOnly);
      return made.cloudformation;
    },
    destroy() {
      for (const client of Object.values(made)) client?.destroy();
    },
  };
}
