/** `ticklake replay --from TIME`: re-read the stream; the lake gains no duplicate (../../aws/replay.ts). */
import { ConfigError } from "../../core/errors.ts";
import { resourceSpec } from "../../core/spec.ts";
import type { Cli, Program } from "../context.ts";
import { withTarget } from "../context.ts";
import { dlqHolds } from "../dlq.ts";
import { PreconditionError } from "../errors.ts";
import { instant, stackOption, targetOption } from "../options.ts";

export function register(program: Program, cli: Cli): void {
  program
    .command("replay")
    .description(
      "re-read the stream from a time and send its records through the pipeline again; objects already in the lake are not written twice",
    )
    .requiredOption("--from <time>", "ISO-8601 time with a zone, or a span before now: 90s, 15m, 2h, 1d")
    .option(
      "--to <time>",
      "replay records that arrived before this; newer ones are left to the running pipeline",
      "1m",
    )
    .option(
      "--force",
      "replay even while the DLQ holds messages (their records may then be stored twice)",
      false,
    )
    .addOption(targetOption())
    .addOption(stackOption())
    .action(async (options) => {
      const now = Date.now();
      const fromMs = instant("from", options.from, now);
      const toMs = instant("to", options.to, now);
      if (fromMs >= toMs) {
        throw new ConfigError(
          `--from must be before --to (got ${new Date(fromMs).toISOString()} and ${new Date(toMs).toISOString()})`,
        );
      }
      const [{ queueDepth }, { replay }, { progressBar }] = await Promise.all([
        import("../../aws/pipeline-view.ts"),
        import("../../aws/replay.ts"),
        import("../progress.ts"),
      ]);
      const report = await withTarget(
        cli,
        { target: options.target, stack: options.stack },
        async (target) => {
          const { queue, dlq } = await target.queueUrls();
          const parked = await queueDepth(target.clients, dlq);
          if (parked.visible + parked.inFlight > 0 && !options.force) {
            throw new PreconditionError(
              `${dlqHolds(parked.visible + parked.inFlight)}: run \`ticklake redrive\` first (or pass --force), since a replay would pack their records anew`,
            );
          }
          const bar = cli.io.stderr.isTTY ? progressBar("replay", 100, cli.io.stderr) : undefined;
          const done = await replay(target.clients, {
            streamName: target.streamName,
            bucket: target.bucket,
            queueUrl: queue,
            from: { atMs: fromMs },
            to: { beforeMs: toMs },
            maxMessageBytes: resourceSpec().bridge.maxMessageBytes,
            onProgress: ({ done, records }) => bar?.update(Math.round(done * 100), `${records} records read`),
          });
          bar?.stop();
          return done;
        },
      );
      cli.print(
        [
          `replayed ${new Date(fromMs).toISOString()} → ${new Date(toMs).toISOString()} from ${report.shards} shards: ${report.read} records read`,
          `  ${report.restated} already in the lake or quarantine: sent again under their own keys (no new objects)`,
          `  ${report.missing} missing: sent as new objects`,
          `  ${report.skipped} skipped: their stored message began before --from or ended after --to`,
          `  ${report.messages} packed messages sent to the queue; the processor writes what is missing`,
        ].join("\n"),
      );
    });
}
