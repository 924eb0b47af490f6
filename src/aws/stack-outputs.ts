/** The deployed stack's outputs (infra/stack.ts): what `--target aws` commands need to know. */
import { DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { z } from "zod";
import { ConfigError } from "../core/errors.ts";
import type { AwsClients } from "./clients.ts";

export const StackOutputs = z.object({
  StreamName: z.string().min(1),
  QueueUrl: z.url(),
  DlqUrl: z.url(),
  BucketName: z.string().min(3),
  TopicArn: z.string().startsWith("arn:"),
  NotificationQueueUrl: z.url(),
  ApiUrl: z.string(),
});
export type StackOutputs = z.infer<typeof StackOutputs>;

export async function readStackOutputs(clients: AwsClients, stackName: string): Promise<StackOutputs> {
  let outputs: Record<string, string>;
  try {
    const { Stacks = [] } = await clients.cloudformation.send(
      new DescribeStacksCommand({ StackName: stackName }),
    );
    outputs = Object.fromEntries(
      (Stacks[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? "", o.OutputValue ?? ""]),
    );
  } catch (cause) {
    throw new ConfigError(
      `cannot read the outputs of stack ${stackName}: ${(cause as Error).message}; deploy it with \`npm run deploy\` or pass --stack`,
      { cause },
    );
  }
  const result = StackOutputs.safeParse(outputs);
  if (!result.success) {
    const missing = result.error.issues.map((issue) => issue.path.join(".")).join(", ");
    throw new ConfigError(`stack ${stackName} lacks the outputs ${missing}: is it a ticklake stack?`);
  }
  return result.data;
}
