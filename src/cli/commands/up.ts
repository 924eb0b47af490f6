/** `ticklake up` (= `npm start`): the whole pipeline on this machine; the work is in ../up.ts. */
import { Option } from "@commander-js/extra-typings";
import type { Cli, Program } from "../context.ts";
import { dlqHolds, REDRIVE_ADVICE } from "../dlq.ts";
import { endpointFailure } from "../failure.ts";
import { integer, number, parsed, stackOption, targetOption } from "../options.ts";
import type { UpSummary } from "../up.ts";

/** Which of the summary's checks failed, in words (`balanced` is false when any does). */
export function failedChecks(summary: UpSummary): string[] {
  const failed: string[] = [];
  if (!summary.drained) failed.push("the pipeline did not drain in time (raise --drain-timeout)");
  if (summary.bridged !== summary.stored + summary.quarantined || summary.bridged < summary.produced) {
    failed.push("records bridged ≠ stored + quarantined");
  }
  if (summary.objectsWritten !== summary.notifiedObjects) failed.push("objects written ≠ objects notified");
  if (summary.leftInSpool > 0) failed.push(`${summary.leftInSpool} records left in the spool`);
  if (summary.dlq > 0) failed.push(`${dlqHolds(summary.dlq)}: ${REDRIVE_ADVICE}`);
  return failed;
}

export function register(program: Program, cli: Cli): void {
  program
    .command("up")
    .description("run the whole pipeline on this machine, with traffic, until Ctrl-C or --duration")
    .option(
      "--rate <n>",
      "HTTP requests per second from the load generator",
      parsed("rate", number(0, 10_000), "a number from 0 to 10000"),
      20,
    )
    .option(
      "--duration <seconds>",
      "stop after this many seconds; 0 runs until Ctrl-C",
      parsed("duration", number(0, 86_400), "seconds from 0 to 86400"),
      0,
    )
    .option(
      "--ticks <n>",
      "market ticks per second, each logging every FX and stock quote",
      parsed("ticks", number(0, 100), "a number from 0 to 100"),
      1,
    )
    .option(
      "--news <n>",
      "simulated news articles per minute",
      parsed("news", number(0, 600), "a number from 0 to 600"),
      6,
    )
    .option(
      "--port <n>",
      "port of the market API and dashboard; 0 picks a free one",
      parsed("port", integer(0, 65_535), "a port from 0 to 65535"),
      3000,
    )
    .option(
      "--seed <n>",
      "seed of the simulated market and traffic",
      parsed("seed", integer(0, 2 ** 31 - 1), "an integer from 0 to 2147483647"),
      42,
    )
    .addOption(
      new Option("--session <session>", "stock trading hours: New York's sessions, or always open")
        .choices(["us", "always-open"] as const)
        .default("always-open"),
    )
    .addOption(targetOption())
    .addOption(stackOption())
    .option(
      "--drain-timeout <seconds>",
      "longest wait for the pipeline to drain on stop",
      parsed("drain-timeout", integer(1, 3_600), "seconds from 1 to 3600"),
      120,
    )
    .action(async (options) => {
      const [{ up, formatSummary }, { localstackEndpoints }] = await Promise.all([
        import("../up.ts"),
        import("../targets.ts"),
      ]);
      let summary: UpSummary;
      try {
        summary = await up({
          stateDir: cli.stateDir,
          target: options.target,
          stack: options.stack,
          rate: options.rate,
          duration: options.duration,
          ticks: options.ticks,
          newsPerMinute: options.news,
          port: options.port,
          seed: options.seed,
          session: options.session,
          drainTimeoutSeconds: options.drainTimeout,
          out: (line) => cli.print(line),
          env: cli.io.env,
        });
      } catch (error) {
        const endpoint = options.target === "localstack" ? localstackEndpoints(cli.io.env).s3 : undefined;
        throw endpointFailure(error, { target: options.target, ...(endpoint ? { endpoint } : {}) }) ?? error;
      }
      cli.print(formatSummary(summary));
      if (!summary.balanced) cli.checkFailed(`the run did not balance: ${failedChecks(summary).join("; ")}`);
    });
}
