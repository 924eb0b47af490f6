/** `ticklake deploy`: `cdk deploy` (or a dry-run synth) of a stage's stack (../tools.ts). */
import { z } from "zod";
import type { Cli, Program } from "../context.ts";
import { parsed } from "../options.ts";
import { runCdk } from "../tools.ts";

const Stage = z.string().regex(/^[a-z][a-z0-9-]{0,19}$/);

export function register(program: Program, cli: Cli): void {
  program
    .command("deploy")
    .description("deploy the stack to AWS with the CDK (credentials and region from the usual AWS chain)")
    .option(
      "--stage <stage>",
      "stage: the stack is ticklake-<stage>",
      parsed("stage", Stage, "1-20 lowercase letters, digits or dashes, starting with a letter"),
      "dev",
    )
    .option(
      "--dry-run",
      "synthesize and check the templates (cdk-nag) without deploying; needs no AWS account",
      false,
    )
    .argument("[cdkArgs...]", "more arguments for `cdk deploy`, after --, e.g. -- -c streamMode=provisioned")
    .action(async (cdkArgs, options) => {
      cli.handOver(await runCdk(options.dryRun ? "synth" : "deploy", options.stage, cdkArgs));
    });
}
