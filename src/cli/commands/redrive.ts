/** `ticklake redrive`: the DLQ's messages back to the queue (../../aws/redrive.ts). */
import type { Cli, Program } from "../context.ts";
import { withTarget } from "../context.ts";
import { stackOption, targetOption } from "../options.ts";

export function register(program: Program, cli: Cli): void {
  program
    .command("redrive")
    .description("move every message from the dead-letter queue back to the packed-message queue")
    .addOption(targetOption())
    .addOption(stackOption())
    .action(async (options) => {
      const [{ queueDepth }, { redrive }, { progressBar }] = await Promise.all([
        import("../../aws/pipeline-view.ts"),
        import("../../aws/redrive.ts"),
        import("../progress.ts"),
      ]);
      const result = await withTarget(
        cli,
        { target: options.target, stack: options.stack },
        async (target) => {
          const { queue, dlq } = await target.queueUrls();
          const parked = await queueDepth(target.clients, dlq);
          const total = parked.visible + parked.inFlight;
          const bar =
            cli.io.stderr.isTTY && total > 0 ? progressBar("redrive", total, cli.io.stderr) : undefined;
          const moved = await redrive(target.clients.sqs, dlq, queue, (done) =>
            bar?.update(Math.min(done, total), `${done} of ${total} messages`),
          );
          bar?.stop();
          return moved;
        },
      );
      cli.print(
        `moved ${result.moved} messages from the DLQ back to the queue; ${result.failed} could not be sent`,
      );
      if (result.failed > 0) {
        cli.checkFailed(
          `${result.failed} messages could not be sent back and stay in the DLQ: run redrive again`,
        );
      }
    });
}
