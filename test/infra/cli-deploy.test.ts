/**
 * The command line's hand-overs, through the bin script as a user runs it: bad names are refused
 * before anything runs. (`ticklake deploy --dry-run`, which synthesizes with the CDK CLI:
 * app.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";

describe("ticklake deploy and bench", () => {
  it("refuses a bad stage or bench name with exit code 2 and says what is allowed", async () => {
    const stage = await runCli(["deploy", "--stage", "Bad Stage"]);
    expect(stage.code).toBe(2);
    expect(stage.stderr).toContain(
      '--stage must be 1-20 lowercase letters, digits or dashes, starting with a letter (got "Bad Stage")',
    );
    const bench = await runCli(["bench", "pipeline", "nope"]);
    expect(bench.code).toBe(2);
    expect(bench.stderr).toContain(
      'bench names must be among pipeline, processor, shipper, webserver, cost, local-lake (got ["nope"])',
    );
  });

  it("the bin script prints the command table and exits 0 (each command's help: test/integration/cli.test.ts)", async () => {
    const { code, stdout } = await runCli(["--help"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: ticklake \[options\] \[command\]$/m);
    expect(stdout).toMatch(/^ {2}deploy \[options\] \[cdkArgs\.\.\.\]/m);
  });
});
