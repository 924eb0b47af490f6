/**
 * CDK apps for tests, with the context `cdk synth` uses (cdk.json's feature flags); cfn-lint on
 * their templates.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { App } from "aws-cdk-lib";
import { venvTool } from "./tools.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);

/** cdk.json's `context`: the settings and feature flags every synth of the project gets. */
export const PROJECT_CONTEXT = JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8"))
  .context as Record<string, unknown>;

/** An App as `cdk synth` makes it: with cdk.json's context. */
export const projectApp = (): App => new App({ context: PROJECT_CONTEXT });

/** One cfn-lint finding, as its JSON output states it. */
export interface LintFinding {
  Rule: { Id: string };
  Level: string;
  Message: string;
  Location: { Path: Array<string | number> };
}

/**
 * cfn-lint (AWS's CloudFormation linter, from .venv/) on templates, with the project's
 * `.cfnlintrc.yaml`: its findings, one line each.
 */
export async function cfnLint(templates: string[]): Promise<string[]> {
  const args = ["--config-file", join(ROOT, ".cfnlintrc.yaml"), "--format", "json", "--", ...templates];
  const { stdout } = await run(venvTool("cfn-lint"), args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }).catch(
    (error: { stdout?: string; code?: unknown }) => {
      // It exits with 2 (errors), 4 (warnings) and 8 (informational), or'ed, when it finds any.
      if (typeof error.code !== "number" || error.code > 15 || error.stdout === undefined) throw error;
      return { stdout: error.stdout };
    },
  );
  return (JSON.parse(stdout || "[]") as LintFinding[]).map(
    (f) => `${f.Level} ${f.Rule.Id} ${f.Location.Path.join("/")}: ${f.Message}`,
  );
}
