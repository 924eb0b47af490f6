/**
 * The CDK app: `npx cdk synth` (offline) and `npm run deploy`. Settings come from CDK context
 * (`cdk.json`, or `-c key=value`), validated here with the names of the keys.
 */
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { z } from "zod";
import { readConfig } from "../src/core/config.ts";
import { resourceSpec } from "../src/core/spec.ts";
import { TicklakeStack } from "./stack.ts";

const Context = z.object({
  stage: z.string().default("dev"),
  streamMode: z.enum(["on-demand", "provisioned"]).default("on-demand"),
  shardCount: z.coerce.number().int().min(1).max(500).optional(),
  bridgeWindowSeconds: z.coerce.number().int().min(0).max(300).optional(),
  alertEmail: z.email().optional(),
  notifyUrl: z.url({ protocol: /^https$/ }).optional(),
  certificateArn: z.string().startsWith("arn:aws:acm:").optional(),
  webServerTasks: z.coerce.number().int().min(0).max(20).optional(),
});

const app = new App();
const keys = Object.keys(Context.shape);
const context = readConfig(
  Context,
  Object.fromEntries(
    keys.flatMap((key) =>
      app.node.tryGetContext(key) === undefined ? [] : [[key, String(app.node.tryGetContext(key))]],
    ),
  ),
  "CDK context (cdk.json or -c key=value)",
);
const spec = resourceSpec({
  stage: context.stage,
  target: "aws",
  ...(context.bridgeWindowSeconds !== undefined ? { bridgeWindowSeconds: context.bridgeWindowSeconds } : {}),
  ...(context.shardCount ? { shardCount: context.shardCount } : {}),
});
new TicklakeStack(app, spec.prefix, {
  spec,
  streamMode: context.streamMode,
  ...(context.alertEmail ? { alertEmail: context.alertEmail } : {}),
  ...(context.notifyUrl ? { notifyUrl: context.notifyUrl } : {}),
  ...(context.certificateArn ? { certificateArn: context.certificateArn } : {}),
  ...(context.webServerTasks !== undefined ? { webServerTasks: context.webServerTasks } : {}),
  env: {
    account: process.env.CDK_DEFAULT_ACCOUNT,
    region: process.env.CDK_DEFAULT_REGION ?? process.env.AWS_REGION ?? "us-east-1",
  },
  description: "ticklake: market-data log pipeline (web server → Kinesis → SQS → Lambda → S3 → SNS)",
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
