/**
 * The emulator host: a child process that serves Kinesis (kinesalite, LevelDB on disk) and,
 * on one port, SQS and SNS (fauxqs, with SQS's query protocol translated by
 * installSqsQueryProtocol and messages expired as SQS does by `sqs-retention.ts`) and S3 (the
 * local S3 of `./s3/`, objects on disk) on 127.0.0.1.
 * `emulator-host-main.ts` runs it in a child process started by `startEmulators`.
 */
import { mkdir } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { buildApp } from "fauxqs";
import { kinesalite } from "./kinesalite-fixes.ts";
import { buildS3Api, isS3Request } from "./s3/api.ts";
import { S3DiskStore } from "./s3/store.ts";
import { installSqsQueryProtocol } from "./sqs-query-protocol.ts";
import { expireMessages, fauxqsStores, RETENTION_SWEEP_MS } from "./sqs-retention.ts";

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
  /** Objects in the local S3 when it started. */
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

  const stores = fauxqsStores();
  const queues = buildApp({ logger: false, defaultRegion: options.region, stores });
  const retention = setInterval(() => expireMessages(stores.sqsStore, Date.now()), RETENTION_SWEEP_MS);
  installSqsQueryProtocol(queues);
  const store = new S3DiskStore(join(options.stateDir, "s3"));
  const restoredObjects = await store.open();
  const s3 = buildS3Api({ store, region: options.region });
  await Promise.all([queues.ready(), s3.ready()]);
  // One port for SQS, SNS and S3, as before: the endpoints file names it for all three.
  const aws = createServer((request, response) =>
    (isS3Request(request) ? s3 : queues).routing(request, response),
  );
  // As Fastify's own server (which served all three before): SDK clients keep idle sockets open
  // indefinitely, and Node's 5 s default would close them under a client about to reuse them.
  aws.keepAliveTimeout = 72_000;
  const awsPort = await listen(aws, options.awsPort, options.host);

  const stop = async () => {
    clearInterval(retention);
    const closed = new Promise<void>((resolve) => aws.close(() => resolve()));
    aws.closeAllConnections();
    await closed;
    await Promise.all([queues.close(), s3.close()]);
    await store.close();
    await new Promise<void>((resolve) => kinesis.close(() => resolve()));
  };
  return { ready: { type: "ready", kinesisPort, awsPort, restoredObjects }, stop };
}
