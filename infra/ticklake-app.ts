/**
 * The CDK app's assembly: its settings come from CDK context (`cdk.json`, or `-c key=value`),
 * validated here with the names of the keys; then the stage's stack, checked by cdk-nag.
 * `infra/app.ts` runs it for the CDK CLI; tests build the same app in-process.
 */
import { type App, Validations } from "aws-cdk-lib";
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
  commitIntervalSeconds: z.coerce.number().int().min(1).max(300).optional(),
  alertEmail: z.email().optional(),
  notifyUrl: z.url({ protocol: /^https$/ }).optional(),
  certificateArn: z.string().startsWith("arn:aws:acm:").optional(),
  webServerTasks: z.coerce.number().int().min(0).max(20).optional(),
});

/** The context keys the app reads, each optional. */
export const APP_CONTEXT_KEYS = Object.keys(Context.shape) as Array<keyof z.infer<typeof Context>>;

/** Adds the stage's stack (named by the context) to `app`, with cdk-nag's checks. */
export function buildTicklakeApp(app: App): TicklakeStack {
  const context = readConfig(
    Context,
    Object.fromEntries(
      APP_CONTEXT_KEYS.flatMap((key) =>
        app.node.tryGetContext(key) === undefined ? [] : [[key, String(app.node.tryGetContext(key))]],
      ),
    ),
    "CDK context (cdk.json or -c key=value)",
  );
  const spec = resourceSpec({
    stage: context.stage,
    target: "aws",
    ...(context.bridgeWindowSeconds !== undefined
      ? { bridgeWindowSeconds: context.bridgeWindowSeconds }
      : {}),
    ...(context.commitIntervalSeconds !== undefined
      ? { commitIntervalSeconds: context.commitIntervalSeconds }
      : {}),
    ...(context.shardCount ? { shardCount: context.shardCount } : {}),
  });
  const stack = new TicklakeStack(app, spec.prefix, {
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
  return stack;
}
