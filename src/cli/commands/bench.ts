/** `ticklake bench [names…]`: the benchmarks under bench/, with the terminal (../tools.ts). */
import { ConfigError } from "../../core/errors.ts";
import type { Cli, Program } from "../context.ts";
import { BENCHES, type Bench, runBenches } from "../tools.ts";

const isBench = (name: string): name is Bench => (BENCHES as readonly string[]).includes(name);

export function register(program: Program, cli: Cli): void {
  program
    .command("bench")
    .description("run benchmarks and write their results to bench/results/ (see bench/README.md)")
    .argument("[names...]", `which: ${BENCHES.join(", ")} (default: all, in that order)`)
    .action(async (names) => {
      const unknown = names.filter((name) => !isBench(name));
      if (unknown.length > 0) {
        throw new ConfigError(
          `bench names must be among ${BENCHES.join(", ")} (got ${JSON.stringify(unknown)})`,
        );
      }
      const chosen = names.length === 0 ? [...BENCHES] : names.filter(isBench);
      cli.handOver(await runBenches(chosen, cli.io.stderr));
    });
}
