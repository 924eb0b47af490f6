/**
 * Commands that hand over to another program with the terminal: the benchmarks (each a script
 * under bench/) and the CDK CLI. Exit codes pass through.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The benchmarks `ticklake bench` runs, in order: bench/<name>.bench.ts. */
export const BENCHES = ["pipeline", "processor", "shipper", "webserver", "cost", "local-lake"] as const;
export type Bench = (typeof BENCHES)[number];

/** Runs a program in the project root with the terminal attached; resolves to its exit code. */
export function runAttached(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: "inherit", env: { ...process.env, ...env } });
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** Runs the benchmarks in order, a header for each on `log`; stops at the first that fails. */
export async function runBenches(names: readonly Bench[], log: NodeJS.WritableStream): Promise<number> {
  for (const name of names) {
    log.write(`\n== bench ${name} ==\n`);
    const code = await runAttached(process.execPath, ["--import", "tsx", `bench/${name}.bench.ts`]);
    if (code !== 0) return code;
  }
  return 0;
}

/** `cdk deploy` (or `cdk synth` for a dry run) of the stack for `stage`, extra arguments passed on. */
export function runCdk(action: "deploy" | "synth", stage: string, extra: readonly string[]): Promise<number> {
  const args = ["cdk", action, "--no-notices", "-c", `stage=${stage}`];
  if (action === "deploy") args.push("--require-approval", "broadening");
  else args.push("--quiet");
  return runAttached("npx", [...args, ...extra], { CDK_DISABLE_CLI_TELEMETRY: "true" });
}
