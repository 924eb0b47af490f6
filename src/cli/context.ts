/**
 * What every command shares: where it writes, the environment it reads, the global options, how
 * it reports a failed check, and `withTarget`, the one place a command gets its AWS resources
 * and releases them. Cheap to import: the SDK and the emulators load only when a command runs.
 */
import type { Command } from "@commander-js/extra-typings";
import { endpointFailure } from "./failure.ts";
import type { ResolvedTarget, TargetOptions } from "./targets.ts";

/** A stream a command writes to: the process's own, or a test's. */
export type Output = NodeJS.WritableStream & { readonly isTTY?: boolean };

/** The command line's surroundings, injectable so that tests run it in-process. */
export interface CliIo {
  stdout: Output;
  stderr: Output;
  env: NodeJS.ProcessEnv;
}

/** The program with its global options, as each command module's `register` receives it. */
export type Program = Command<[], { stateDir: string }>;

/**
 * Exit codes, as documented: 0 done; 1 done, but a check failed (the DLQ holds messages, the
 * run did not balance); 2 not done (a bad option, a precondition, an error).
 */
export const EXIT = { done: 0, checkFailed: 1, notDone: 2 } as const;

export class Cli {
  readonly io: CliIo;
  #exitCode: number = EXIT.done;
  #failedCheck: string | undefined;
  readonly #stateDir: () => string;

  constructor(io: CliIo, stateDir: () => string) {
    this.io = io;
    this.#stateDir = stateDir;
  }

  /** The global --state-dir (default `.ticklake`, or TICKLAKE_STATE_DIR). */
  get stateDir(): string {
    return this.#stateDir();
  }

  get debug(): boolean {
    return Boolean(this.io.env.TICKLAKE_DEBUG);
  }

  /** Prints text and a newline on stdout. */
  print(text: string): void {
    this.io.stdout.write(`${text}\n`);
  }

  /** The command finished, but a check failed: exit code 1, and one line that says which. */
  checkFailed(message: string): void {
    this.#exitCode = EXIT.checkFailed;
    this.#failedCheck = message;
  }

  /** The exit code of a program the command handed over to (the CDK, a benchmark). */
  handOver(code: number): void {
    this.#exitCode = code;
  }

  get exitCode(): number {
    return this.#exitCode;
  }

  get failedCheck(): string | undefined {
    return this.#failedCheck;
  }
}

/**
 * Runs `use` with the target's clients and names, and always releases them (and stops the
 * emulators it started). An endpoint that is down or is not AWS becomes an EndpointError that
 * says what to do.
 */
export async function withTarget<T>(
  cli: Cli,
  options: Omit<TargetOptions, "stateDir" | "env">,
  use: (target: ResolvedTarget) => Promise<T>,
): Promise<T> {
  const { resolveTarget, localstackEndpoints } = await import("./targets.ts");
  const context = {
    target: options.target,
    ...(options.target === "localstack" ? { endpoint: localstackEndpoints(cli.io.env).s3 } : {}),
  };
  try {
    const target = await resolveTarget({ ...options, stateDir: cli.stateDir, env: cli.io.env });
    try {
      return await use(target);
    } finally {
      await target.close();
    }
  } catch (error) {
    throw endpointFailure(error, context) ?? error;
  }
}
