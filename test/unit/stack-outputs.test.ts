/** Error handling of the stack-outputs adapter (the SDK is mocked: no CloudFormation here). */
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { createClients } from "../../src/aws/clients.ts";
import { readStackOutputs } from "../../src/aws/stack-outputs.ts";

const cfn = mockClient(CloudFormationClient);
const clients = createClients({
  region: "eu-west-1",
  credentials: { accessKeyId: "a", secretAccessKey: "b" },
});
const output = (OutputKey: string, OutputValue: string) => ({ OutputKey, OutputValue });

describe("readStackOutputs", () => {
  afterEach(() => {
    cfn.reset();
  });

  it("returns the outputs of a ticklake stack", async () => {
    cfn.on(DescribeStacksCommand, { StackName: "ticklake-dev" }).resolves({
      Stacks: [
        {
          StackName: "ticklake-dev",
          CreationTime: new Date(),
          StackStatus: "CREATE_COMPLETE",
          Outputs: [
            output("StreamName", "ticklake-dev-logs"),
            output("QueueUrl", "https://sqs.eu-west-1.amazonaws.com/1/q"),
            output("DlqUrl", "https://sqs.eu-west-1.amazonaws.com/1/d"),
            output("BucketName", "ticklake-dev-lake5f1b"),
            output("TopicArn", "arn:aws:sns:eu-west-1:123456789012:t"),
            output("NotificationQueueUrl", "https://sqs.eu-west-1.amazonaws.com/1/n"),
            output("ApiUrl", "http://lb"),
          ],
        },
      ],
    });
    await expect(readStackOutputs(clients, "ticklake-dev")).resolves.toMatchObject({
      StreamName: "ticklake-dev-logs",
      BucketName: "ticklake-dev-lake5f1b",
    });
  });

  it("names the outputs a stack lacks", async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: "other",
          CreationTime: new Date(),
          StackStatus: "CREATE_COMPLETE",
          Outputs: [output("StreamName", "s")],
        },
      ],
    });
    await expect(readStackOutputs(clients, "other")).rejects.toThrow(
      "stack other lacks the outputs QueueUrl, DlqUrl, BucketName, TopicArn, NotificationQueueUrl, ApiUrl: is it a ticklake stack?",
    );
  });

  it("says how to fix a stack that cannot be read", async () => {
    cfn.on(DescribeStacksCommand).rejects(new Error("Stack with id nope does not exist"));
    await expect(readStackOutputs(clients, "nope")).rejects.toThrow(
      "cannot read the outputs of stack nope: Stack with id nope does not exist; deploy it with `npm run deploy` or pass --stack",
    );
  });
});
