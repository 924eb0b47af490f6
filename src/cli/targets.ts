/**
 * Where a command's AWS resources are: the local emulators (endpoints from the state file,
 * started for the command when no pipeline runs), LocalStack, or AWS itself.
 */
import { CreateTopicCommand } from "@aws-sdk/client-sns";
import { GetQueueUrlCommand } from "@aws-sdk/client-sqs";
import { type AwsClients, createClients } from "../aws/clients.ts";
import { readStackOutputs } from "../aws/stack-outputs.ts";
import { resourceSpec } from "../core/spec.ts";
import { startEmulators } from "../local/emulators.ts";
import { localClients } from "../local/pipeline.ts";
import { type Endpoints, readEndpoints } from "../local/state.ts";
import { PreconditionError } from "./errors.ts";
import type { Target } from "./options.ts";

export interface TargetOptions {
  target: Target;
  stateDir: string;
  /** Where LOCALSTACK_ENDPOINT and AWS_REGION are read. */
  env: NodeJS.ProcessEnv;
  /** Locally: start the emulators for this command when no pipeline is running. */
  startIfStopped?: boolean;
  /** With --target aws: the deployed stack whose outputs name the resources. */
  stack: string;
  /** Names that override the spec's (locally) or the stack's outputs (on AWS). */
  bucket?: string;
  topicArn?: string;
  stream?: string;
}

/** LocalStack's single endpoint (LOCALSTACK_ENDPOINT, default http://localhost:4566) for every service. */
export function localstackEndpoints(env: NodeJS.ProcessEnv = process.env): Endpoints {
  const endpoint = env.LOCALSTACK_ENDPOINT ?? "http://localhost:4566";
  return {
    kinesis: endpoint,
    sqs: endpoint,
    sns: endpoint,
    s3: endpoint,
    region: env.AWS_REGION ?? "us-east-1",
    pid: 0,
  };
}

export interface ResolvedTarget {
  clients: AwsClients;
  bucket: string;
  streamName: string;
  /** Looks the topic up (creating is idempotent where the command may create it). */
  topicArn(): Promise<string>;
  /** The packed-message queue and its DLQ. */
  queueUrls(): Promise<{ queue: string; dlq: string }>;
  close(): Promise<void>;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function resolveTarget(options: TargetOptions): Promise<ResolvedTarget> {
  const spec = resourceSpec();
  if (options.target === "aws") {
    const clients = createClients();
    // Names not given on the command line come from the deployed stack's outputs.
    const outputs =
      options.bucket && options.topicArn && options.stream
        ? undefined
        : await readStackOutputs(clients, options.stack);
    return {
      clients,
      bucket: options.bucket ?? outputs?.BucketName ?? "",
      streamName: options.stream ?? outputs?.StreamName ?? "",
      topicArn: async () => options.topicArn ?? outputs?.TopicArn ?? "",
      queueUrls: async () => {
        const named = outputs ?? (await readStackOutputs(clients, options.stack));
        return { queue: named.QueueUrl, dlq: named.DlqUrl };
      },
      close: async () => clients.destroy(),
    };
  }

  let clients: AwsClients;
  let stopEmulators = async () => {};
  if (options.target === "localstack") {
    clients = localClients(localstackEndpoints(options.env));
  } else {
    const endpoints = await readEndpoints(options.stateDir).catch(() => undefined);
    if (endpoints && isRunning(endpoints.pid)) {
      clients = localClients(endpoints);
    } else if (options.startIfStopped) {
      const emulators = await startEmulators({ stateDir: options.stateDir });
      clients = localClients(emulators.endpoints);
      stopEmulators = () => emulators.stop();
    } else {
      throw new PreconditionError(
        `no local pipeline is running for ${options.stateDir}: start it with \`npm start\` first (or pass the --state-dir it runs with)`,
      );
    }
  }
  return {
    clients,
    bucket: options.bucket ?? spec.bucket.name,
    streamName: options.stream ?? spec.stream.name,
    topicArn: async () => {
      if (options.topicArn) return options.topicArn;
      const { TopicArn } = await clients.sns.send(new CreateTopicCommand({ Name: spec.topic.name }));
      if (!TopicArn) throw new Error(`no ARN for topic ${spec.topic.name}`);
      return TopicArn;
    },
    queueUrls: async () => {
      const url = async (name: string) => {
        const { QueueUrl } = await clients.sqs.send(new GetQueueUrlCommand({ QueueName: name }));
        if (!QueueUrl) throw new PreconditionError(`no queue named ${name}: is the pipeline running?`);
        return QueueUrl;
      };
      return { queue: await url(spec.queue.name), dlq: await url(spec.queue.dlqName) };
    },
    close: async () => {
      clients.destroy();
      await stopEmulators();
    },
  };
}
