/** The `ticklake` command line. Exit codes: 0 ok, 1 the run failed its checks, 2 bad usage. */
import { join } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { z } from "zod";
import { ObjectSync } from "../aws/object-sync.ts";
import { queueDepth } from "../aws/pipeline-view.ts";
import { redrive } from "../aws/redrive.ts";
import { replay } from "../aws/replay.ts";
import { readStackOutputs } from "../aws/stack-outputs.ts";
import { stageTotals } from "../aws/stage-metrics.ts";
import { ConfigError, TicklakeError } from "../core/errors.ts";
import { resourceSpec } from "../core/spec.ts";
import { provision } from "../local/provisioner.ts";
import { stateDirFrom } from "../local/state.ts";
import { instant, integer, number, option, type Target } from "./options.ts";
import { progressBar } from "./progress.ts";
import { formatResult, runQuery } from "./query.ts";
import { columnsMarkdown, envelopeJsonSchema } from "./schema.ts";
import { send } from "./send.ts";
import { formatStatus, pipelineSnapshot, status } from "./status.ts";
import { resolveTarget } from "./targets.ts";
import { BENCHES, type Bench, runBenches, runCdk } from "./tools.ts";
import { formatSummary, up } from "./up.ts";

const program = new Command()
  .name("ticklake")
  .description("Market-data log pipeline: web server → Kinesis → SQS → Lambda → S3 → SNS")
  .option(
    "--state-dir <dir>",
    "local state folder (emulator data, checkpoints, endpoints)",
    stateDirFrom(process.env),
  )
  .showHelpAfterError();

const targetOption = () =>
  new Option("--target <target>", "where the pipeline runs")
    .choices(["local", "localstack", "aws"])
    .default("local");

const defaultStack = `${resourceSpec({ stage: "dev" }).prefix}`;
const stackOption = () =>
  new Option(
    "--stack <name>",
    "with --target aws: the deployed stack whose outputs name the resources",
  ).default(defaultStack);

/** Options naming resources; by default the spec's names (local) or the stack's outputs (AWS). */
const awsNameOptions = (command: Command) =>
  command
    .addOption(stackOption())
    .option("--bucket <name>", "the lake bucket")
    .option("--topic-arn <arn>", "the data-available topic")
    .option("--stream <name>", "the stream");

const stateDir = () => program.opts().stateDir as string;

program
  .command("up")
  .description("run the whole pipeline on this machine, with traffic, until Ctrl-C or --duration")
  .option("--rate <n>", "HTTP requests per second from the load generator", "20")
  .option("--duration <seconds>", "stop after this many seconds; 0 runs until Ctrl-C", "0")
  .option("--ticks <n>", "market ticks per second, each logging every FX and stock quote", "1")
  .option("--news <n>", "simulated news articles per minute", "6")
  .option("--port <n>", "port of the market API and dashboard; 0 picks a free one", "3000")
  .option("--seed <n>", "seed of the simulated market and traffic", "42")
  .addOption(
    new Option("--session <session>", "stock trading hours: New York's sessions, or always open")
      .choices(["us", "always-open"])
      .default("always-open"),
  )
  .addOption(targetOption())
  .addOption(stackOption())
  .option("--drain-timeout <seconds>", "longest wait for the pipeline to drain on stop", "120")
  .action(async (raw: Record<string, string>) => {
    const summary = await up({
      stateDir: stateDir(),
      target: raw.target as Target,
      stack: raw.stack ?? defaultStack,
      rate: option("rate", raw.rate, number(0, 10_000), "a number from 0 to 10000"),
      duration: option("duration", raw.duration, number(0, 86_400), "seconds from 0 to 86400"),
      ticks: option("ticks", raw.ticks, number(0, 100), "a number from 0 to 100"),
      newsPerMinute: option("news", raw.news, number(0, 600), "a number from 0 to 600"),
      port: option("port", raw.port, integer(0, 65_535), "a port from 0 to 65535"),
      seed: option("seed", raw.seed, integer(0, 2 ** 31 - 1), "an integer from 0 to 2147483647"),
      session: raw.session as "us" | "always-open",
      drainTimeoutSeconds: option(
        "drain-timeout",
        raw.drainTimeout,
        integer(1, 3_600),
        "seconds from 1 to 3600",
      ),
    });
    process.stdout.write(`${formatSummary(summary)}\n`);
    process.exitCode = summary.balanced ? 0 : 1;
  });

awsNameOptions(
  program
    .command("send")
    .description("put newline-delimited records from FILE (or - for stdin) into the stream, as they are")
    .argument("<file>", "file of newline-delimited JSON records")
    .option(
      "--retime",
      "shift every record's ts so the latest is now (for sample files: events older than 7 days go to quarantine as late)",
      false,
    )
    .addOption(targetOption()),
).action(async (file: string, raw: { target: Target; stack: string; stream?: string; retime: boolean }) => {
  const target = await resolveTarget({
    target: raw.target,
    stateDir: stateDir(),
    stack: raw.stack,
    ...(raw.stream ? { stream: raw.stream } : {}),
  });
  try {
    const result = await send(target.clients, target.streamName, file, { retime: raw.retime });
    process.stdout.write(
      `sent ${result.sent} of ${result.lines} records to ${target.streamName} (${result.invalid} not valid envelopes: expect them in quarantine)\n`,
    );
  } finally {
    await target.close();
  }
});

awsNameOptions(
  program
    .command("query")
    .description(
      "run SQL over the lake with DuckDB: one view per dataset (deduplicated on id), and quarantine",
    )
    .argument("<sql>", 'e.g. "SELECT pair, count(*) FROM fx_quotes GROUP BY pair"')
    .addOption(
      new Option("--format <format>", "output format").choices(["table", "json", "csv"]).default("table"),
    )
    .option(
      "--cache-dir <dir>",
      "where lake objects are mirrored for DuckDB (default: <state-dir>/query-cache)",
    )
    .addOption(targetOption()),
).action(
  async (
    sql: string,
    raw: {
      target: Target;
      stack: string;
      format: "table" | "json" | "csv";
      cacheDir?: string;
      bucket?: string;
    },
  ) => {
    const target = await resolveTarget({
      target: raw.target,
      stateDir: stateDir(),
      stack: raw.stack,
      startIfStopped: true,
      ...(raw.bucket ? { bucket: raw.bucket } : {}),
    });
    try {
      const result = await runQuery(
        target.clients.s3,
        target.bucket,
        sql,
        raw.cacheDir ?? join(stateDir(), "query-cache"),
      );
      process.stdout.write(`${formatResult(result, raw.format)}\n`);
    } finally {
      await target.close();
    }
  },
);

awsNameOptions(
  program
    .command("sync")
    .description("mirror each new object to DIR as its SNS notification arrives, until Ctrl-C")
    .argument("<dir>", "local folder; objects land under their keys")
    .addOption(
      new Option("--kind <kind>", "which objects").choices(["lake", "quarantine", "all"]).default("all"),
    )
    .option("--backfill", "first copy the objects that exist already", false)
    .option("--once", "stop when no notification is waiting", false)
    .option("--queue <name>", "the subscriber queue to create or reuse", `${resourceSpec().prefix}-sync`)
    .addOption(targetOption()),
).action(
  async (
    dir: string,
    raw: {
      target: Target;
      stack: string;
      kind: string;
      backfill: boolean;
      once: boolean;
      queue: string;
      bucket?: string;
      topicArn?: string;
    },
  ) => {
    const target = await resolveTarget({
      target: raw.target,
      stateDir: stateDir(),
      stack: raw.stack,
      ...(raw.bucket ? { bucket: raw.bucket } : {}),
      ...(raw.topicArn ? { topicArn: raw.topicArn } : {}),
    });
    let stop = false;
    const requestStop = () => {
      stop = true;
    };
    process.once("SIGINT", requestStop);
    process.once("SIGTERM", requestStop);
    try {
      const sync = new ObjectSync({
        clients: target.clients,
        bucket: target.bucket,
        topicArn: await target.topicArn(),
        dir,
        queueName: raw.queue,
        kinds: raw.kind === "all" ? ["lake", "quarantine"] : [raw.kind as "lake" | "quarantine"],
        backfill: raw.backfill,
        waitSeconds: raw.once ? 1 : 10,
        onObject: (manifest, downloaded) =>
          process.stdout.write(
            `${downloaded ? "synced " : "present"} ${manifest.key} (${manifest.records} records)\n`,
          ),
      });
      await sync.start();
      if (sync.stats.backfilled > 0) process.stdout.write(`backfilled ${sync.stats.backfilled} objects\n`);
      while (!stop) {
        const received = await sync.receiveOnce();
        if (raw.once && received === 0) break;
      }
      const { downloaded, skipped, bytes } = sync.stats;
      process.stdout.write(
        `synced ${downloaded} objects (${bytes} bytes), ${skipped} already present, into ${dir}\n`,
      );
    } finally {
      process.off("SIGINT", requestStop);
      process.off("SIGTERM", requestStop);
      await target.close();
    }
  },
);

program
  .command("status")
  .description(
    "counts per stage (from a running up, or on AWS from CloudWatch), queue depths, the DLQ, objects in the lake and quarantine",
  )
  .addOption(targetOption())
  .addOption(stackOption())
  .option("--since <time>", "with --target aws: the window of the counts per stage", "1h")
  .option("--json", "print JSON", false)
  .action(async (raw: { target: Target; stack: string; json: boolean; since: string }) => {
    const now = Date.now();
    const sinceMs = instant("since", raw.since, now);
    const target = await resolveTarget({ target: raw.target, stateDir: stateDir(), stack: raw.stack });
    try {
      const pipeline = raw.target === "local" ? await pipelineSnapshot(stateDir()) : undefined;
      let deployed: (Awaited<ReturnType<typeof stageTotals>> & { windowSeconds: number }) | undefined;
      if (raw.target === "aws") {
        const outputs = await readStackOutputs(target.clients, raw.stack);
        const scope = {
          prefix: raw.stack,
          streamName: outputs.StreamName,
          topicName: outputs.TopicArn.slice(outputs.TopicArn.lastIndexOf(":") + 1),
        };
        const totals = await stageTotals(target.clients.cloudwatch, scope, sinceMs, now);
        deployed = { ...totals, windowSeconds: Math.round((now - sinceMs) / 1000) };
      }
      const result = await status(target, raw.target !== "aws", pipeline, deployed);
      process.stdout.write(`${raw.json ? JSON.stringify(result) : formatStatus(result)}\n`);
      // A non-empty DLQ is worth an exit status: scripts and cron can alert on it.
      process.exitCode = result.dlq.visible + result.dlq.inFlight > 0 ? 1 : 0;
    } finally {
      await target.close();
    }
  });

program
  .command("redrive")
  .description("move every message from the dead-letter queue back to the packed-message queue")
  .addOption(targetOption())
  .addOption(stackOption())
  .action(async (raw: { target: Target; stack: string }) => {
    const target = await resolveTarget({ target: raw.target, stateDir: stateDir(), stack: raw.stack });
    try {
      const { queue, dlq } = await target.queueUrls();
      const parked = await queueDepth(target.clients, dlq);
      const total = parked.visible + parked.inFlight;
      const bar = process.stderr.isTTY && total > 0 ? progressBar("redrive", total) : undefined;
      const result = await redrive(target.clients.sqs, dlq, queue, (moved) =>
        bar?.update(Math.min(moved, total), `${moved} of ${total} messages`),
      );
      bar?.stop();
      process.stdout.write(
        `moved ${result.moved} messages from the DLQ back to the queue; ${result.failed} could not be sent\n`,
      );
      if (result.failed > 0) process.exitCode = 1;
    } finally {
      await target.close();
    }
  });

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
  .action(async (raw: { from: string; to: string; force: boolean; target: Target; stack: string }) => {
    const now = Date.now();
    const fromMs = instant("from", raw.from, now);
    const toMs = instant("to", raw.to, now);
    if (fromMs >= toMs) {
      throw new ConfigError(
        `--from must be before --to (got ${new Date(fromMs).toISOString()} and ${new Date(toMs).toISOString()})`,
      );
    }
    const target = await resolveTarget({ target: raw.target, stateDir: stateDir(), stack: raw.stack });
    try {
      const { queue, dlq } = await target.queueUrls();
      const parked = await queueDepth(target.clients, dlq);
      if (parked.visible + parked.inFlight > 0 && !raw.force) {
        throw new ConfigError(
          `the DLQ holds ${parked.visible + parked.inFlight} messages: run \`ticklake redrive\` first (or pass --force), since a replay would pack their records anew`,
        );
      }
      const bar = process.stderr.isTTY ? progressBar("replay", 100) : undefined;
      const report = await replay(target.clients, {
        streamName: target.streamName,
        bucket: target.bucket,
        queueUrl: queue,
        from: { atMs: fromMs },
        to: { beforeMs: toMs },
        maxMessageBytes: resourceSpec().bridge.maxMessageBytes,
        onProgress: ({ done, records }) => bar?.update(Math.round(done * 100), `${records} records read`),
      });
      bar?.stop();
      const lines = [
        `replayed ${new Date(fromMs).toISOString()} → ${new Date(toMs).toISOString()} from ${report.shards} shards: ${report.read} records read`,
        `  ${report.restated} already in the lake or quarantine: sent again under their own keys (no new objects)`,
        `  ${report.missing} missing: sent as new objects`,
        `  ${report.skipped} skipped: their stored message began before --from or ended after --to`,
        `  ${report.messages} packed messages sent to the queue; the processor writes what is missing`,
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
    } finally {
      await target.close();
    }
  });

program
  .command("bench")
  .description("run benchmarks and write their results to bench/results/ (see bench/README.md)")
  .argument("[names...]", `which: ${BENCHES.join(", ")} (default: all, in that order)`)
  .action(async (names: string[]) => {
    const unknown = names.filter((name) => !(BENCHES as readonly string[]).includes(name));
    if (unknown.length > 0) {
      throw new ConfigError(
        `bench names must be among ${BENCHES.join(", ")} (got ${JSON.stringify(unknown)})`,
      );
    }
    const chosen = names.length === 0 ? [...BENCHES] : (names as Bench[]);
    process.exitCode = await runBenches(chosen);
  });

program
  .command("deploy")
  .description("deploy the stack to AWS with the CDK (credentials and region from the usual AWS chain)")
  .option("--stage <stage>", "stage: the stack is ticklake-<stage>", "dev")
  .option(
    "--dry-run",
    "synthesize and check the templates (cdk-nag) without deploying; needs no AWS account",
    false,
  )
  .argument("[cdkArgs...]", "more arguments for `cdk deploy`, after --, e.g. -- -c streamMode=provisioned")
  .action(async (cdkArgs: string[], raw: { stage: string; dryRun: boolean }) => {
    const stage = option(
      "stage",
      raw.stage,
      z.string().regex(/^[a-z][a-z0-9-]{0,19}$/),
      "1-20 lowercase letters, digits or dashes, starting with a letter",
    );
    process.exitCode = await runCdk(raw.dryRun ? "synth" : "deploy", stage, cdkArgs);
  });

program
  .command("provision")
  .description("create the pipeline's resources from the resource spec, idempotently (local or LocalStack)")
  .addOption(new Option("--target <target>", "where").choices(["local", "localstack"]).default("local"))
  .action(async (raw: { target: "local" | "localstack" }) => {
    const target = await resolveTarget({
      target: raw.target,
      stateDir: stateDir(),
      stack: defaultStack,
      startIfStopped: true,
    });
    try {
      const resources = await provision(target.clients, resourceSpec());
      process.stdout.write(`${JSON.stringify(resources, null, 2)}\n`);
    } finally {
      await target.close();
    }
  });

program
  .command("schema")
  .description("print the data contract, generated from the zod schemas")
  .addOption(
    new Option("--format <format>", "what to print").choices(["columns", "json-schema"]).default("columns"),
  )
  .action((raw: { format: "columns" | "json-schema" }) => {
    process.stdout.write(raw.format === "json-schema" ? envelopeJsonSchema() : `${columnsMarkdown()}\n`);
  });

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof TicklakeError || error instanceof InvalidArgumentError) {
    process.stderr.write(`ticklake: ${error.message}\n`);
    process.exitCode = 2;
  } else {
    throw error;
  }
}
