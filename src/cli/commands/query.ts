/** `ticklake query "SQL"`: one read-only SELECT over the lake; the work is in ../query.ts. */
import { join } from "node:path";
import { Option } from "@commander-js/extra-typings";
import type { Cli, Program } from "../context.ts";
import { withTarget } from "../context.ts";
import { number, parsed, stackOption, targetOption } from "../options.ts";

/** @default 120 s: long enough for a scan of a big local lake, short enough to notice a runaway. */
export const CLI_QUERY_TIMEOUT_SECONDS = 120;

export function register(program: Program, cli: Cli): void {
  program
    .command("query")
    .description(
      "run one read-only SELECT over the lake with DuckDB: one view per dataset (deduplicated on id), and quarantine",
    )
    .argument("<sql>", 'e.g. "SELECT pair, count(*) FROM fx_quotes GROUP BY pair"')
    .addOption(
      new Option("--format <format>", "output format")
        .choices(["table", "json", "csv"] as const)
        .default("table"),
    )
    .option(
      "--timeout <seconds>",
      "interrupt the query after this many seconds",
      parsed("timeout", number(1, 86_400), "seconds from 1 to 86400"),
      CLI_QUERY_TIMEOUT_SECONDS,
    )
    .option(
      "--cache-dir <dir>",
      "where lake objects are mirrored for DuckDB (default: <state-dir>/query-cache)",
    )
    .addOption(targetOption())
    .addOption(stackOption())
    .option("--bucket <name>", "the lake bucket (default: the spec's, or the stack's output)")
    .action(async (sql, options) => {
      const { formatResult, runQuery } = await import("../query.ts");
      const result = await withTarget(
        cli,
        {
          target: options.target,
          stack: options.stack,
          startIfStopped: true,
          ...(options.bucket ? { bucket: options.bucket } : {}),
        },
        (target) =>
          runQuery(
            target.clients.s3,
            target.bucket,
            sql,
            options.cacheDir ?? join(cli.stateDir, "query-cache"),
            {
              timeoutMs: options.timeout * 1000,
            },
          ),
      );
      cli.print(formatResult(result, options.format));
    });
}
