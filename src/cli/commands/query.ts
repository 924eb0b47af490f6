/** `ticklake query "SQL"`: one read-only SELECT over the lake's tables; the work is in ../query.ts. */
import { join } from "node:path";
import { Option } from "@commander-js/extra-typings";
import type { Cli, Program } from "../context.ts";
import { withTarget } from "../context.ts";
import { instant, number, parsed, stackOption, targetOption } from "../options.ts";

/** @default 120 s: long enough for a scan of a big local lake, short enough to notice a runaway. */
export const CLI_QUERY_TIMEOUT_SECONDS = 120;

export function register(program: Program, cli: Cli): void {
  program
    .command("query")
    .description(
      "run one read-only SELECT with DuckDB over the lake's tables (one view per dataset, deduplicated on id) and quarantine",
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
      "--as-of <time>",
      "read each table as it was at this time: ISO-8601 with a zone, or a span before now (90s, 15m, 2h, 1d)",
      (value: string) => instant("as-of", value),
    )
    .option(
      "--cache-dir <dir>",
      "where table files are mirrored for DuckDB (default: <state-dir>/query-cache)",
    )
    .addOption(targetOption())
    .addOption(stackOption())
    .option("--bucket <name>", "the lake bucket (default: the spec's, or the stack's output)")
    .option(
      "--namespace <name>",
      "the tables' namespace, the Glue database on AWS (default: the stack's name with underscores, e.g. ticklake_local)",
    )
    .action(async (sql, options) => {
      const { formatResult, querySource, runQuery } = await import("../query.ts");
      const result = await withTarget(
        cli,
        {
          target: options.target,
          stack: options.stack,
          startIfStopped: true,
          ...(options.bucket ? { bucket: options.bucket } : {}),
          ...(options.namespace ? { namespace: options.namespace } : {}),
        },
        (target) =>
          runQuery(
            querySource(
              target.clients,
              target.bucket,
              target.tables,
              options.cacheDir ?? join(cli.stateDir, "query-cache"),
            ),
            sql,
            {
              timeoutMs: options.timeout * 1000,
              ...(options.asOf === undefined ? {} : { asOfMs: options.asOf }),
            },
          ),
      );
      // On stderr: JSON and CSV on stdout stay parseable.
      for (const note of result.notes) cli.io.stderr.write(`note: ${note}\n`);
      cli.print(formatResult(result, options.format));
    });
}
