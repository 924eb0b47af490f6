/**
 * Starts and stops the emulator host child process (DESIGN §5), from its bundle
 * (src/local/bundle.ts). The pipeline talks to it over real HTTP with the real SDK; tests
 * can kill and restart it.
 */
import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundled } from "./bundle.ts";
import type { HostOptions, HostReady } from "./emulator-host.ts";
import { ENDPOINTS_FILE, type Endpoints, writeJsonAtomic } from "./state.ts";

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
  /**
   * The host process's memory, as its own `process.memoryUsage()` reports it: as it is, or right
   * after a full garbage collection (what its heap holds on to; the collection pauses the host).
   */
  memory(options?: MemoryRequest): Promise<NodeJS.MemoryUsage>;
}

export interface MemoryRequest {
  /** @default false */
  afterFullCollection?: boolean;
  /** @default 5_000 */
  timeoutMs?: number;
}

const HOST = "127.0.0.1";

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

function memoryOf(
  child: ChildProcess,
  { afterFullCollection = false, timeoutMs = 5_000 }: MemoryRequest,
): Promise<NodeJS.MemoryUsage> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type?: unknown; usage?: NodeJS.MemoryUsage }) => {
      if (message?.type !== "memory" || !message.usage) return;
      done();
      resolve(message.usage);
    };
    const onExit = () => {
      done();
      reject(new Error("emulator host exited before it reported its memory"));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`emulator host did not report its memory within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
    if (!child.connected) onExit();
    else child.send({ type: "memory", afterFullCollection });
  });
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
  const host = await bundled(new URL("./emulator-host-main.ts", import.meta.url), "process");
  const child = fork(fileURLToPath(host), [], {
    execArgv: [],
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
    memory: (request = {}) => memoryOf(child, request),
  };
}
