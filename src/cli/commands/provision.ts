/** `ticklake provision`: the spec's resources, created idempotently (../../local/provisioner.ts). */
import { Option } from "@commander-js/extra-typings";
import { resourceSpec } from "../../core/spec.ts";
import type { Cli, Program } from "../context.ts";
import { withTarget } from "../context.ts";
import { DEFAULT_STACK } from "../options.ts";

export function register(program: Program, cli: Cli): void {
  program
    .command("provision")
    .description("create the pipeline's resources from the resource spec, idempotently (local or LocalStack)")
    .addOption(
      new Option("--target <target>", "where").choices(["local", "localstack"] as const).default("local"),
    )
    .action(async (options) => {
      const { provision } = await import("../../local/provisioner.ts");
      const resources = await withTarget(
        cli,
        { target: options.target, stack: DEFAULT_STACK, startIfStopped: true },
        (target) => provision(target.clients, resourceSpec()),
      );
      cli.print(JSON.stringify(resources, null, 2));
    });
}
