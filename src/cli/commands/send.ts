/** `ticklake send FILE`: records into the stream as they are; the work is in ../send.ts. */
import type { Cli, Program } from "../context.ts";
import { withTarget } from "../context.ts";
import { stackOption, targetOption } from "../options.ts";

export function register(program: Program, cli: Cli): void {
  program
    .command("send")
    .description("put newline-delimited records from FILE (or - for stdin) into the stream, as they are")
    .argument("<file>", "file of newline-delimited JSON records")
    .option(
      "--retime",
      "shift every record's ts so the latest is now (for sample files: events older than 7 days go to quarantine as late)",
      false,
    )
    .addOption(targetOption())
    .addOption(stackOption())
    .option("--stream <name>", "the stream (default: the spec's, or the stack's output)")
    .action(async (file, options) => {
      const { checkReadable, send } = await import("../send.ts");
      // A missing file is the user's to fix before any endpoint is asked.
      await checkReadable(file);
      const result = await withTarget(
        cli,
        {
          target: options.target,
          stack: options.stack,
          ...(options.stream ? { stream: options.stream } : {}),
        },
        async (target) => ({
          ...(await send(target.clients, target.streamName, file, { retime: options.retime })),
          streamName: target.streamName,
        }),
      );
      cli.print(
        `sent ${result.sent} of ${result.lines} records to ${result.streamName} (${result.invalid} not valid envelopes: expect them in quarantine)`,
      );
    });
}
