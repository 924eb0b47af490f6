/**
 * The emulator host: a child process that serves Kinesis (kinesalite, LevelDB on disk) and
 * SQS, SNS and S3 (fauxqs, with S3 persisted by S3Persistence and SQS's query protocol
 * translated by installSqsQueryProtocol) on 127.0.0.1.
 * `emulator-host-main.ts` runs it in a child process started by `startEmulators`.
 */
import { mkdir } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { buildApp } from "fauxqs";
// Before kinesalite: it patches one of kinesalite's actions, which kinesalite reads on load.
import "./kinesalite-fixes.ts";
import kinesalite from "kinesalite";
import { S3Persistence } from "./s3-persistence.ts";
import { installSqsQueryProtocol } from "./sqs-query-protocol.ts";

export interface HostOptions {
  stateDir: string;
  host: string;
  kinesisPort: number;
  awsPort: number;
  region: string;
}

export interface HostReady {
  type: "ready";
  kinesisPort: number;
  awsPort: number;
  restoredObjects: number;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

export async function runHost(
  options: HostOptions,
): Promise<{ ready: HostReady; stop: () => Promise<void> }> {
  await mkdir(join(options.stateDir, "kinesis"), { recursive: true });
  const kinesis = kinesalite({
    path: join(options.stateDir, "kinesis"),
    createStreamMs: 0,
    deleteStreamMs: 0,
    updateStreamMs: 0,
    shardLimit: 100,
  });
  const kinesisPort = await listen(kinesis, options.kinesisPort, options.host);

  const app = buildApp({ logger: false, defaultRegion: options.region });
  const persistence = new S3Persistence(app, join(options.stateDir, "s3"));
  persistence.install();
  installSqsQueryProtocol(app);
  await app.ready();
  const restoredObjects = await persistence.restore();
  await app.listen({ port: options.awsPort, host: options.host });
  const awsPort = (app.server.address() as AddressInfo).port;

  const stop = async () => {
    await app.close();
    await new Promise<void>((resolve) => kinesis.close(() => resolve()));
  };
  return { ready: { type: "ready", kinesisPort, awsPort, restoredObjects }, stop };
}
