/** The `ticklake` command as a user runs it (a child process), or in-process, with its output collected. */
import { type ChildProcess, spawn } from "node:child_process";
import { Writable } from "node:stream";
import { run } from "../../src/cli/program.ts";

const BIN = new URL("../../bin/ticklake.mjs", import.meta.url).pathname;

export interface CliRun {
  child: ChildProcess;
  /** stdout and stderr, line by line, as they arrive. */
  output: string[];
  exit: Promise<number | null>;
}

export function startCli(args: string[]): CliRun {
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  });
  const output: string[] = [];
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => output.push(...chunk.split("\n")));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => output.push(...chunk.split("\n")));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output, exit };
}

/** `ticklake up` on its own state folder, on a free port, with light traffic. */
export function startUp(stateDir: string, args: string[]): CliRun {
  return startCli(["--state-dir", stateDir, "up", "--port", "0", "--rate", "40", ...args]);
}

/** The summary `up` prints when it stops, as label → value. */
export function summaryOf(run: CliRun): Record<string, string> {
  const start = run.output.indexOf("summary");
  const lines = run.output.slice(start + 1).filter((line) => line.startsWith("  "));
  return Object.fromEntries(
    lines.map((line) => {
      const match = /^\s+(.+?)\s{2,}(\S.*)$/.exec(line);
      return [match?.[1] ?? line, match?.[2] ?? ""];
    }),
  );
}

/** Runs a `ticklake` command to its end: its exit code and what it printed. */
export async function runCli(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = startCli(args);
  const [stdout, stderr] = [[] as string[], [] as string[]];
  run.child.stdout?.on("data", (chunk: string) => stdout.push(chunk));
  run.child.stderr?.on("data", (chunk: string) => stderr.push(chunk));
  const code = await run.exit;
  return { code, stdout: stdout.join(""), stderr: stderr.join("") };
}

/**
 * Runs `ticklake <args…>` in this process, as bin/ticklake.mjs does but without a child: its
 * exit code and what it wrote. `env` replaces the environment the command sees.
 */
export async function runInProcess(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Collected();
  const stderr = new Collected();
  const code = await run(args, { stdout, stderr, env });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** A stream that keeps what is written to it, as text. */
class Collected extends Writable {
  text = "";
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (error?: Error | null) => void) {
    this.text += chunk.toString();
    done();
  }
}
