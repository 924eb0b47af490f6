/**
 * Starts and stops the emulator host child process (DESIGN §5). The pipeline talks to it
 * over real HTTP with the real SDK; tests can kill and restart it.
 */
import { type ChildProcess, fork } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { HostOptions, HostReady } from "./emulator-host.ts";
import { ENDPOINTS_FILE, type Endpoints, writeJsonAtomic } from "./state.ts";

/** File URL of tsx's loader, so child processes run TypeScript from any working directory. */
export const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

export interface EmulatorOptions {
  stateDir: string;
  /** 0 picks a free port. @default 0 */
  kinesisPort?: number;
  /** Port of SQS, SNS and S3. 0 picks a free port. @default 0 */
  awsPort?: number;
  region?: string;
  /** How long the host may take to start. @default 30_000 */
  startTimeoutMs?: number;
}

export interface RunningEmulators {
  readonly endpoints: Endpoints;
  readonly restoredObjects: number;
  /** SIGTERM: the host closes its servers and LevelDB, then exits. */
  stop(): Promise<void>;
  /** SIGKILL: a crash, for fault tests. */
  kill(): Promise<void>;
}

const HOST = "127.0.0.1";

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

export async function startEmulators(options: EmulatorOptions): Promise<RunningEmulators> {
  const region = options.region ?? "us-east-1";
  const hostOptions: HostOptions = {
    stateDir: options.stateDir,
    host: HOST,
    kinesisPort: options.kinesisPort ?? 0,
    awsPort: options.awsPort ?? 0,
    region,
  };
  const child = fork(fileURLToPath(new URL("./emulator-host-main.ts", import.meta.url)), [], {
    execArgv: ["--import", TSX_LOADER],
    env: { ...process.env, TICKLAKE_HOST_OPTIONS: JSON.stringify(hostOptions) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });

  const ready = await new Promise<HostReady>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`emulator host did not start within ${options.startTimeoutMs ?? 30_000} ms`)),
      options.startTimeoutMs ?? 30_000,
    );
    child.once("message", (message) => {
      clearTimeout(timer);
      resolve(message as HostReady);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`emulator host exited during start-up (code ${code}, signal ${signal})`));
    });
  });

  const aws = `http://${HOST}:${ready.awsPort}`;
  const endpoints: Endpoints = {
    kinesis: `http://${HOST}:${ready.kinesisPort}`,
    sqs: aws,
    sns: aws,
    s3: aws,
    region,
    pid: child.pid ?? 0,
  };
  await writeJsonAtomic(join(options.stateDir, ENDPOINTS_FILE), endpoints);

  return {
    endpoints,
    restoredObjects: ready.restoredObjects,
    async stop() {
      child.kill("SIGTERM");
      await exited(child);
    },
    async kill() {
      child.kill("SIGKILL");
      await exited(child);
    },
  };
}
