/**
 * The `ticklake` program: the command table, one module per command under commands/, each
 * registering itself. `run(argv, io)` runs it in-process and never exits the process: it
 * resolves to the exit code, so tests call it as the bin script does.
 */
import { Command, CommanderError } from "@commander-js/extra-typings";
import { stateDirFrom } from "../local/state.ts";
import * as bench from "./commands/bench.ts";
import * as deploy from "./commands/deploy.ts";
import * as provision from "./commands/provision.ts";
import * as query from "./commands/query.ts";
import * as redrive from "./commands/redrive.ts";
import * as replay from "./commands/replay.ts";
import * as schema from "./commands/schema.ts";
import * as send from "./commands/send.ts";
import * as status from "./commands/status.ts";
import * as sync from "./commands/sync.ts";
import * as up from "./commands/up.ts";
import { Cli, type CliIo, EXIT, type Program } from "./context.ts";
import { debugDetails, failureLine } from "./failure.ts";

/** In the order `--help` lists them. */
const COMMANDS = [up, send, query, sync, status, redrive, replay, bench, deploy, provision, schema];

/** The program and its context, every command registered; output goes to `io`. */
export function createProgram(io: CliIo): { program: Program; cli: Cli } {
  const program: Program = new Command()
    .name("ticklake")
    .description("Market-data log pipeline: web server → Kinesis → SQS → Lambda → S3 → SNS")
    .option(
      "--state-dir <dir>",
      "local state folder (emulator data, checkpoints, endpoints)",
      stateDirFrom(io.env),
    )
    // Set before the commands are added, so that every command inherits them.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // run() prints commander's errors as one `ticklake:` line, naming the command's help.
      outputError: () => {},
    });
  const cli = new Cli(io, () => program.opts().stateDir);
  for (const command of COMMANDS) command.register(program, cli);
  return { program, cli };
}

const processIo = (): CliIo => ({ stdout: process.stdout, stderr: process.stderr, env: process.env });

/** Runs `ticklake <argv…>`; resolves to the exit code (0 done, 1 a check failed, 2 not done). */
export async function run(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const { program, cli } = createProgram(io);
  let command = "";
  program.hook("preSubcommand", (_program, subcommand) => {
    command = subcommand.name();
  });
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return EXIT.done;
      // No command given: the help went to stderr.
      if (error.code === "commander.help") return EXIT.notDone;
      const message = error.message.replace(/^error: /, "").replace(/\s*\n\s*/g, " ");
      io.stderr.write(`ticklake: ${message} (see \`ticklake ${command ? `${command} ` : ""}--help\`)\n`);
      return EXIT.notDone;
    }
    io.stderr.write(`ticklake: ${failureLine(error)}\n`);
    if (cli.debug) io.stderr.write(`${debugDetails(error)}\n`);
    return EXIT.notDone;
  }
  if (cli.failedCheck) io.stderr.write(`ticklake: ${cli.failedCheck}\n`);
  return cli.exitCode;
}
