/** The `ticklake` command line. Exit codes: 0 ok, 1 the run failed its checks, 2 bad usage. */
import { Command, InvalidArgumentError } from "commander";
import { createClients } from "../aws/clients.ts";
import { TicklakeError } from "../core/errors.ts";
import { resourceSpec } from "../core/spec.ts";
import { localClients } from "../local/pipeline.ts";
import { readEndpoints, stateDirFrom } from "../local/state.ts";
import { integer, number, option, Target } from "./options.ts";
import { send } from "./send.ts";
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

const targetOption = (value: string) => {
  const parsed = Target.safeParse(value);
  if (!parsed.success)
    throw new InvalidArgumentError(`must be one of local, localstack, aws (got "${value}")`);
  return parsed.data;
};

program
  .command("up")
  .description("run the whole pipeline on this machine, with traffic, until Ctrl-C or --duration")
  .option("--rate <n>", "HTTP requests per second from the load generator", "20")
  .option("--duration <seconds>", "stop after this many seconds; 0 runs until Ctrl-C", "0")
  .option("--ticks <n>", "market ticks per second, each logging every FX and stock quote", "1")
  .option("--port <n>", "port of the market API; 0 picks a free one", "3000")
  .option("--seed <n>", "seed of the simulated market and traffic", "42")
  .option("--target <target>", "local | localstack | aws", targetOption, "local")
  .option("--drain-timeout <seconds>", "longest wait for the pipeline to drain on stop", "120")
  .action(async (raw: Record<string, string>) => {
    const summary = await up({
      stateDir: program.opts().stateDir,
      target: raw.target as Target,
      rate: option("rate", raw.rate, number(0, 10_000), "a number from 0 to 10000"),
      duration: option("duration", raw.duration, number(0, 86_400), "seconds from 0 to 86400"),
      ticks: option("ticks", raw.ticks, number(0, 100), "a number from 0 to 100"),
      port: option("port", raw.port, integer(0, 65_535), "a port from 0 to 65535"),
      seed: option("seed", raw.seed, integer(0, 2 ** 31 - 1), "an integer from 0 to 2147483647"),
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

program
  .command("send")
  .description("put newline-delimited records from FILE (or - for stdin) into the stream, as they are")
  .argument("<file>", "file of newline-delimited JSON records")
  .option("--target <target>", "local | localstack | aws", targetOption, "local")
  .option("--stream <name>", "stream name", resourceSpec().stream.name)
  .action(async (file: string, raw: { target: Target; stream: string }) => {
    const clients =
      raw.target === "local"
        ? localClients(await readEndpoints(program.opts().stateDir))
        : raw.target === "localstack"
          ? createClients({
              region: process.env.AWS_REGION ?? "us-east-1",
              credentials: { accessKeyId: "test", secretAccessKey: "test" },
              endpoints: Object.fromEntries(
                (["kinesis", "sqs", "sns", "s3"] as const).map((s) => [
                  s,
                  process.env.LOCALSTACK_ENDPOINT ?? "http://localhost:4566",
                ]),
              ),
            })
          : createClients();
    try {
      const result = await send(clients, raw.stream, file);
      process.stdout.write(
        `sent ${result.sent} of ${result.lines} records to ${raw.stream} (${result.invalid} not valid envelopes: expect them in quarantine)\n`,
      );
    } finally {
      clients.destroy();
    }
  });

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof TicklakeError) {
    process.stderr.write(`ticklake: ${error.message}\n`);
    process.exitCode = 2;
  } else {
    throw error;
  }
}
