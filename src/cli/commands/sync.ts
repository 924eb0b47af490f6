/** `ticklake sync DIR`: mirror each new object as its notification arrives (../../aws/object-sync.ts). */
import { Option } from "@commander-js/extra-typings";
import { resourceSpec } from "../../core/spec.ts";
import type { Cli, Program } from "../context.ts";
import { withTarget } from "../context.ts";
import { stackOption, targetOption } from "../options.ts";

export function register(program: Program, cli: Cli): void {
  program
    .command("sync")
    .description("mirror each new object to DIR as its SNS notification arrives, until Ctrl-C")
    .argument("<dir>", "local folder; objects land under their keys")
    .addOption(
      new Option("--kind <kind>", "which objects")
        .choices(["lake", "quarantine", "all"] as const)
        .default("all"),
    )
    .option("--backfill", "first copy the objects that exist already", false)
    .option("--once", "stop when no notification is waiting", false)
    .option("--queue <name>", "the subscriber queue to create or reuse", `${resourceSpec().prefix}-sync`)
    .addOption(targetOption())
    .addOption(stackOption())
    .option("--bucket <name>", "the lake bucket (default: the spec's, or the stack's output)")
    .option("--topic-arn <arn>", "the data-available topic (default: the spec's, or the stack's output)")
    .action(async (dir, options) => {
      const { ObjectSync } = await import("../../aws/object-sync.ts");
      let stop = false;
      const requestStop = () => {
        stop = true;
      };
      process.once("SIGINT", requestStop);
      process.once("SIGTERM", requestStop);
      try {
        await withTarget(
          cli,
          {
            target: options.target,
            stack: options.stack,
            ...(options.bucket ? { bucket: options.bucket } : {}),
            ...(options.topicArn ? { topicArn: options.topicArn } : {}),
          },
          async (target) => {
            const sync = new ObjectSync({
              clients: target.clients,
              bucket: target.bucket,
              topicArn: await target.topicArn(),
              dir,
              queueName: options.queue,
              kinds: options.kind === "all" ? ["lake", "quarantine"] : [options.kind],
              backfill: options.backfill,
              waitSeconds: options.once ? 1 : 10,
              onObject: (manifest, downloaded) =>
                cli.print(
                  `${downloaded ? "synced " : "present"} ${manifest.key} (${manifest.records} records)`,
                ),
            });
            await sync.start();
            if (sync.stats.backfilled > 0) cli.print(`backfilled ${sync.stats.backfilled} objects`);
            while (!stop) {
              const received = await sync.receiveOnce();
              if (options.once && received === 0) break;
            }
            const { downloaded, skipped, bytes } = sync.stats;
            cli.print(
              `synced ${downloaded} objects (${bytes} bytes), ${skipped} already present, into ${dir}`,
            );
          },
        );
      } finally {
        process.off("SIGINT", requestStop);
        process.off("SIGTERM", requestStop);
      }
    });
}
