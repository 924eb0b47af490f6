/**
 * The command line's hand-overs, through the bin script as a user runs it: `ticklake deploy
 * --dry-run` synthesizes the stage's stack with the CDK CLI (offline, cdk-nag included), and bad
 * names are refused before anything runs.
 */
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";

describe("ticklake deploy and bench", () => {
  it("deploy --dry-run synthesizes the stage's stack without AWS", { timeout: 120_000 }, async () => {
    const { code, stderr } = await runCli(["deploy", "--dry-run", "--stage", "clitest"]);
    expect(code, stderr).toBe(0);
    const template = JSON.parse(
      await readFile(new URL("../../cdk.out/ticklake-clitest.template.json", import.meta.url), "utf8"),
    );
    const streams = Object.values(
      template.Resources as Record<string, { Type: string; Properties: { Name?: string } }>,
    ).filter((resource) => resource.Type === "AWS::Kinesis::Stream");
    expect(streams.map((stream) => stream.Properties.Name)).toEqual(["ticklake-clitest-logs"]);
  });

  it("refuses a bad stage or bench name with exit code 2 and says what is allowed", async () => {
    const stage = await runCli(["deploy", "--stage", "Bad Stage"]);
    expect(stage.code).toBe(2);
    expect(stage.stderr).toContain(
      '--stage must be 1-20 lowercase letters, digits or dashes, starting with a letter (got "Bad Stage")',
    );
    const bench = await runCli(["bench", "pipeline", "nope"]);
    expect(bench.code).toBe(2);
    expect(bench.stderr).toContain(
      'bench names must be among pipeline, processor, shipper, webserver, cost (got ["nope"])',
    );
  });

  it("the bin script prints the command table and exits 0 (each command's help: test/integration/cli.test.ts)", async () => {
    const { code, stdout } = await runCli(["--help"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: ticklake \[options\] \[command\]$/m);
    expect(stdout).toMatch(/^ {2}deploy \[options\] \[cdkArgs\.\.\.\]/m);
  });
});
