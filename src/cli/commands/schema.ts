/** `ticklake schema`: the data contract as documents, from the zod schemas (../schema.ts). */
import { Option } from "@commander-js/extra-typings";
import type { Cli, Program } from "../context.ts";

export function register(program: Program, cli: Cli): void {
  program
    .command("schema")
    .description("print the data contract, generated from the zod schemas")
    .addOption(
      new Option("--format <format>", "what to print")
        .choices(["columns", "json-schema"] as const)
        .default("columns"),
    )
    .action(async (options) => {
      const { columnsMarkdown, envelopeJsonSchema } = await import("../schema.ts");
      cli.io.stdout.write(options.format === "json-schema" ? envelopeJsonSchema() : `${columnsMarkdown()}\n`);
    });
}
