/**
 * `ticklake sync DIR`: mirror each new object as its notification arrives
 * (../../aws/object-sync.ts), or each table's committed files as its "table updated"
 * notifications arrive (`--kind table`, ../../aws/table-sync.ts).
 */
import { Option } from "@commander-js/extra-typings";
import { DATASETS } from "../../core/events.ts";
import { resourceSpec } from "../../core/spec.ts";
import type { Cli, Program } from "../context.ts";
import { withTarget } from "../context.ts";
import { stackOption, targetOption } from "../options.ts";

export function register(program: Program, cli: Cli): void {
  program
    .command("sync")
    .description(
      "mirror each new object to DIR as its SNS notification arrives, or with --kind table each table's committed files, until Ctrl-C",
    )
    .argument("<dir>", "local folder; objects land under their keys, table files under <table>/<key>")
    .addOption(
      new Option(
        "--kind <kind>",
        "which notifications: objects (lake, quarantine, or all of both), or table: each committed data file once, by table, from the tables' notifications",
      )
        .choices(["lake", "quarantine", "all", "table"] as const)
        .default("all"),
    )
    .option(
      "--backfill",
      "first copy what exists: the objects, or with --kind table each table's current snapshot",
      false,
    )
    .option("--once", "stop when no notification is waiting", false)
    .option("--queue <name>", "the subscriber queue to create or reuse", `${resourceSpec().prefix}-sync`)
    .addOption(targetOption())
    .addOption(stackOption())
    .option("--bucket <name>", "the lake bucket (default: the spec's, or the stack's output)")
    .option(
      "--topic-arn <arn>",
      "the topic the notifications come from (default: the data-available topic, the spec's or the stack's output)",
    )
    .option(
      "--namespace <name>",
      "with --kind table --backfill: the tables' namespace (default: the stack's name with underscores)",
    )
    .action(async (dir, options) => {
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
            ...(options.namespace ? { namespace: options.namespace } : {}),
          },
          async (target) => {
            const receiving = { waitSeconds: options.once ? 1 : 10, queueName: options.queue, dir };
            const follow = async (receiveOnce: () => Promise<number>) => {
              while (!stop) {
                const received = await receiveOnce();
                if (options.once && received === 0) break;
              }
            };
            if (options.kind === "table") {
              const { TableSync } = await import("../../aws/table-sync.ts");
              const { tableDeps } = await import("../../aws/tables.ts");
              const sync = new TableSync({
                ...receiving,
                clients: target.clients,
                topicArn: await target.topicArn(),
                ...(options.backfill
                  ? {
                      backfill: {
                        catalog: tableDeps(target.clients, target.tables).catalog,
                        namespace: target.tables.namespace,
                        tables: DATASETS,
                      },
                    }
                  : {}),
                onFile: (table, path, downloaded) =>
                  cli.print(`${downloaded ? "synced " : "present"} ${table} ${path}`),
                onRemoved: (table, path) => cli.print(`removed ${table} ${path} (replaced by compaction)`),
                onSkipped: (reason) => cli.print(`skipped a message: ${reason}`),
              });
              await sync.start();
              if (options.backfill) cli.print(`backfilled ${sync.stats.backfilled} table files`);
              await follow(() => sync.receiveOnce());
              const { downloaded, present, removed, skipped, bytes } = sync.stats;
              cli.print(
                `synced ${downloaded} table files (${bytes} bytes), ${present} already present, ${removed} removed, ${skipped} messages skipped, into ${dir}`,
              );
              return;
            }
            const { ObjectSync } = await import("../../aws/object-sync.ts");
            const sync = new ObjectSync({
              ...receiving,
              clients: target.clients,
              bucket: target.bucket,
              topicArn: await target.topicArn(),
              kinds: options.kind === "all" ? ["lake", "quarantine"] : [options.kind],
              backfill: options.backfill,
              onObject: (manifest, downloaded) =>
                cli.print(
                  `${downloaded ? "synced " : "present"} ${manifest.key} (${manifest.records} records)`,
                ),
            });
            await sync.start();
            if (sync.stats.backfilled > 0) cli.print(`backfilled ${sync.stats.backfilled} objects`);
            await follow(() => sync.receiveOnce());
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
