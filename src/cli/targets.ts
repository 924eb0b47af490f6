/**
 * Where a command's AWS resources are: the local emulators (endpoints from the state file,
 * started for the command when no pipeline runs), LocalStack, or AWS itself.
 */
import { CreateTopicCommand } from "@aws-sdk/client-sns";
import { type AwsClients, createClients } from "../aws/clients.ts";
import { ConfigError } from "../core/errors.ts";
import { resourceSpec } from "../core/spec.ts";
import { startEmulators } from "../local/emulators.ts";
import { LOCAL_CREDENTIALS, localClients } from "../local/pipeline.ts";
import { readEndpoints } from "../local/state.ts";
import type { Target } from "./options.ts";

export interface TargetOptions {
  target: Target;
  stateDir: string;
  /** Locally: start the emulators for this command when no pipeline is running. */
  startIfStopped?: boolean;
  /** Names on AWS (until the stack's outputs are read): bucket, topic ARN, stream. */
  bucket?: string;
  topicArn?: string;
  stream?: string;
}

export interface ResolvedTarget {
  clients: AwsClients;
  bucket: string;
  streamName: string;
  /** Looks the topic up (creating is idempotent where the command may create it). */
  topicArn(): Promise<string>;
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
    const required = (name: string, value: string | undefined) => {
      if (!value) throw new ConfigError(`--${name} is required with --target aws (got nothing)`);
      return value;
    };
    const clients = createClients();
    return {
      clients,
      bucket: options.bucket ?? "",
      streamName: options.stream ?? "",
      topicArn: async () => required("topic-arn", options.topicArn),
      close: async () => clients.destroy(),
    };
  }

  let clients: AwsClients;
  let stopEmulators = async () => {};
  if (options.target === "localstack") {
    const endpoint = process.env.LOCALSTACK_ENDPOINT ?? "http://localhost:4566";
    clients = createClients({
      region: process.env.AWS_REGION ?? "us-east-1",
      credentials: LOCAL_CREDENTIALS,
      endpoints: { kinesis: endpoint, sqs: endpoint, sns: endpoint, s3: endpoint },
    });
  } else {
    const endpoints = await readEndpoints(options.stateDir).catch(() => undefined);
    if (endpoints && isRunning(endpoints.pid)) {
      clients = localClients(endpoints);
    } else if (options.startIfStopped) {
      const emulators = await startEmulators({ stateDir: options.stateDir });
      clients = localClients(emulators.endpoints);
      stopEmulators = () => emulators.stop();
    } else {
      throw new ConfigError(
        `no local pipeline is running for ${options.stateDir}: start it with \`npm start\` first`,
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
    close: async () => {
      clients.destroy();
      await stopEmulators();
    },
  };
}
