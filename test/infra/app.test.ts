/**
 * The CDK app as the CLI builds it (infra/ticklake-app.ts): with cdk.json's context it is the
 * dev stage with AWS's batching; `ticklake deploy --dry-run` with every context key set
 * synthesizes offline through the CDK CLI (cdk-nag included), the resources only some
 * deployments have among them (a provisioned stream, HTTPS, subscriptions); and cfn-lint, AWS's
 * CloudFormation linter (shared/DESIGN.md §10), finds nothing in either template: 0 errors,
 * warnings only those `.cfnlintrc.yaml` acknowledges. The one CLI synth of the suite: each
 * takes tens of seconds.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { APP_CONTEXT_KEYS, buildTicklakeApp } from "../../infra/ticklake-app.ts";
import { BRIDGE_WINDOW_SECONDS } from "../../src/core/spec.ts";
import { cfnLint, projectApp } from "../support/cdk.ts";
import { runCli } from "../support/cli.ts";

const EVERY_OPTION = {
  streamMode: "provisioned",
  shardCount: "3",
  bridgeWindowSeconds: "30",
  commitIntervalSeconds: "20",
  alertEmail: "ops@example.com",
  notifyUrl: "https://example.com/hook",
  certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555",
  webServerTasks: "2",
};

describe("the CDK app", () => {
  it("with every option, synthesizes from `ticklake deploy --dry-run`; cfn-lint passes it and the default app", async () => {
    // GIVEN the default app, built in-process with cdk.json's context
    const app = projectApp();
    const stack = buildTicklakeApp(app);
    const assembly = app.synth();
    const defaults = Template.fromStack(stack);
    expect(stack.stackName).toBe("ticklake-dev");
    defaults.resourceCountIs("AWS::Glue::Table", 4);
    // it deploys with the AWS batching defaults of the resource spec, not the local ones
    const windows = Object.values(
      defaults.findResources("AWS::Lambda::EventSourceMapping") as Record<
        string,
        { Properties: { MaximumBatchingWindowInSeconds?: number } }
      >,
    ).map((mapping) => mapping.Properties.MaximumBatchingWindowInSeconds);
    expect(windows).toContain(BRIDGE_WINDOW_SECONDS.aws);

    // AND the stage "lint" with every context key the app reads
    expect(["stage", ...Object.keys(EVERY_OPTION)].sort()).toEqual([...APP_CONTEXT_KEYS].sort());
    // WHEN the command line synthesizes it (a non-zero exit if cdk-nag found anything)
    const context = Object.entries(EVERY_OPTION).flatMap(([key, value]) => ["-c", `${key}=${value}`]);
    const { code, stderr } = await runCli(["deploy", "--dry-run", "--stage", "lint", "--", ...context]);
    expect(code, stderr).toBe(0);
    const path = new URL("../../cdk.out/ticklake-lint.template.json", import.meta.url).pathname;
    const options = JSON.parse(await readFile(path, "utf8")) as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    const resources = Object.values(options.Resources);
    expect(
      resources
        .filter((r) => r.Type === "AWS::Kinesis::Stream")
        .map((r) => [r.Properties.Name, r.Properties.ShardCount]),
    ).toEqual([["ticklake-lint-logs", 3]]);
    expect(resources.filter((r) => r.Type === "AWS::SNS::Subscription")).not.toHaveLength(0);
    // the two windows the context sets: the bridge's and the committer's (the commit interval)
    expect(
      resources
        .filter((r) => r.Type === "AWS::Lambda::EventSourceMapping")
        .map((r) => r.Properties.MaximumBatchingWindowInSeconds),
    ).toEqual(expect.arrayContaining([20, 30]));

    // THEN cfn-lint finds no error and no unacknowledged warning in either template
    expect(await cfnLint([join(assembly.directory, "ticklake-dev.template.json"), path])).toEqual([]);
  }, 240_000);
});
