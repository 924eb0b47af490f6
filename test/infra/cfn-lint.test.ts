/**
 * cfn-lint, AWS's CloudFormation linter (shared/DESIGN.md §10), on the app's template with
 * every optional context key set: the resources only some deployments have (a provisioned
 * stream, HTTPS, subscriptions). The default template is linted by the `cdk synth` test in
 * stack.test.ts. 0 errors; warnings only those `.cfnlintrc.yaml` acknowledges.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cfnLint, synthesizeApp } from "../support/cdk.ts";

const EVERY_OPTION = {
  stage: "lint",
  streamMode: "provisioned",
  shardCount: "3",
  bridgeWindowSeconds: "30",
  alertEmail: "ops@example.com",
  notifyUrl: "https://example.com/hook",
  certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555",
  webServerTasks: "2",
};

describe("cfn-lint", () => {
  it("finds nothing in the app's template with every option set", async () => {
    const out = await mkdtemp(join(tmpdir(), "ticklake-lint-"));
    try {
      // GIVEN the template `cdk synth` writes with every context key set
      const templates = await synthesizeApp(out, EVERY_OPTION);
      expect(templates.map((path) => path.slice(out.length + 1))).toEqual(["ticklake-lint.template.json"]);
      // WHEN cfn-lint reads it THEN it finds no error and no unacknowledged warning
      expect(await cfnLint(templates)).toEqual([]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 180_000);
});
