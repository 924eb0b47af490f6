/**
 * moto (shared/DESIGN.md §10), a second implementation of the AWS APIs that nobody here wrote,
 * in server mode on 127.0.0.1 at a free port: one endpoint for Kinesis, SQS, SNS and S3. The
 * end-to-end tests run on it as well as on the embedded emulators, so no behaviour may rest on a
 * quirk of either. Its state lives in memory until it stops.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import type { Endpoints } from "../../src/local/state.ts";
import { venvTool } from "./tools.ts";

export interface RunningMoto {
  readonly endpoints: Endpoints;
  stop(): Promise<void>;
}

/** A port free right now on 127.0.0.1 (moto_server takes a number, not 0). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startMoto(region = "us-east-1"): Promise<RunningMoto> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(venvTool("moto_server"), ["-H", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4_000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited at start:\n${stderr}`);
    const up = await fetch(`${url}/moto-api/`).then(
      (response) => response.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`moto_server did not answer on ${url} within 30 s:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    endpoints: { kinesis: url, sqs: url, sns: url, s3: url, region, pid: child.pid ?? 0 },
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
