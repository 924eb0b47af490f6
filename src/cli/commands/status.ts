/** `ticklake status`: the pipeline's stages at a glance; the work is in ../status.ts. */
import type { Cli, Program } from "../context.ts";
import { withTarget } from "../context.ts";
import { dlqHolds, REDRIVE_ADVICE } from "../dlq.ts";
import { instant, stackOption, targetOption } from "../options.ts";

export function register(program: Program, cli: Cli): void {
  program
    .command("status")
    .description(
      "counts per stage (from a running up, or on AWS from CloudWatch), queue depths, the DLQ, objects in the lake and quarantine",
    )
    .addOption(targetOption())
    .addOption(stackOption())
    .option("--since <time>", "with --target aws: the window of the counts per stage", "1h")
    .option("--json", "print JSON", false)
    .action(async (options) => {
      const now = Date.now();
      const sinceMs = instant("since", options.since, now);
      const [{ formatStatus, pipelineSnapshot, status }, { readStackOutputs }, { stageTotals }] =
        await Promise.all([
          import("../status.ts"),
          import("../../aws/stack-outputs.ts"),
          import("../../aws/stage-metrics.ts"),
        ]);
      const result = await withTarget(
        cli,
        { target: options.target, stack: options.stack },
        async (target) => {
          const pipeline = options.target === "local" ? await pipelineSnapshot(cli.stateDir) : undefined;
          let deployed: Parameters<typeof status>[3];
          if (options.target === "aws") {
            const outputs = await readStackOutputs(target.clients, options.stack);
            const scope = {
              prefix: options.stack,
              streamName: outputs.StreamName,
              topicName: outputs.TopicArn.slice(outputs.TopicArn.lastIndexOf(":") + 1),
            };
            const totals = await stageTotals(target.clients.cloudwatch, scope, sinceMs, now);
            deployed = { ...totals, windowSeconds: Math.round((now - sinceMs) / 1000) };
          }
          return status(target, options.target !== "aws", pipeline, deployed);
        },
      );
      cli.print(options.json ? JSON.stringify(result) : formatStatus(result));
      // Worth an exit status: scripts and cron can alert on it.
      const parked = result.dlq.visible + result.dlq.inFlight;
      if (parked > 0) cli.checkFailed(`${dlqHolds(parked)}: ${REDRIVE_ADVICE}`);
    });
}
