/**
 * `ticklake up` (= `npm start`): the whole pipeline on one machine. Starts the emulators,
 * provisions, runs the functions behind local event sources, serves the market API, drives
 * traffic, prints a status line a second, and on Ctrl-C (or after --duration) drains and
 * stops cleanly, then prints a summary whose counts must balance.
 */
import { hostname } from "node:os";
import { join } from "node:path";
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { KinesisShipper } from "../aws/shipper.ts";
import { ConfigError } from "../core/errors.ts";
import { resourceSpec } from "../core/spec.ts";
import { type RunningEmulators, startEmulators } from "../local/emulators.ts";
import { LocalPipeline, type StageCounts } from "../local/pipeline.ts";
import { ENDPOINTS_FILE } from "../local/state.ts";
import { build } from "../webserver/app.ts";
import { MarketFeed } from "../webserver/feed.ts";
import { TrafficGenerator } from "../webserver/traffic.ts";
import type { Target } from "./options.ts";

export interface UpOptions {
  stateDir: string;
  target: Target;
  /** HTTP requests per second from the load generator. */
  rate: number;
  /** Seconds to run; 0 runs until Ctrl-C. */
  duration: number;
  /** Market ticks per second, each logging every quote. */
  ticks: number;
  port: number;
  seed: number;
  /** How long the drain may take before giving up. */
  drainTimeoutSeconds: number;
  out?: (line: string) => void;
}

export interface UpSummary {
  /** Acknowledged by Kinesis from this run's web server. */
  produced: number;
  /** Read from the stream by the bridge: this run's records plus any from other producers. */
  bridged: number;
  refused: number;
  stored: number;
  quarantined: number;
  objectsWritten: number;
  notifiedObjects: number;
  dlq: number;
  drained: boolean;
  balanced: boolean;
}

async function countObjects(s3: S3Client, bucket: string): Promise<number> {
  let count = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    count += page.KeyCount ?? page.Contents?.length ?? 0;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return count;
}

function statusLine(elapsedS: number, produced: number, counts: StageCounts): string {
  return [
    `t=${String(elapsedS).padStart(4)}s`,
    `produced ${produced}`,
    `in stream ${Math.max(0, produced - counts.bridged)}`,
    `bridged ${counts.bridged}`,
    `queued ${counts.queued}+${counts.inFlight}`,
    `stored ${counts.stored}`,
    `quarantined ${counts.quarantined}`,
    `notified ${counts.objects}`,
    `DLQ ${counts.dlq}`,
  ].join(" | ");
}

export async function up(options: UpOptions): Promise<UpSummary> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  if (options.target !== "local") {
    throw new ConfigError(
      `--target ${options.target} is not available for \`up\` yet: only "local" runs the whole pipeline (got "${options.target}")`,
    );
  }
  const spec = resourceSpec();
  // Listening from the start: a Ctrl-C during start-up also ends in a drained, clean stop.
  // A second Ctrl-C finds no listener and ends the process at once.
  let requestStop = () => {};
  const stopRequested = new Promise<void>((resolve) => {
    requestStop = () => {
      process.off("SIGINT", requestStop);
      process.off("SIGTERM", requestStop);
      resolve();
    };
  });
  process.on("SIGINT", requestStop);
  process.on("SIGTERM", requestStop);

  let emulators: RunningEmulators | undefined;
  let pipeline: LocalPipeline | undefined;
  let durationTimer: NodeJS.Timeout | undefined;
  try {
    emulators = await startEmulators({ stateDir: options.stateDir });
    const { endpoints } = emulators;
    out(
      `emulators: kinesis ${endpoints.kinesis}  sqs/sns/s3 ${endpoints.s3}  (restored ${emulators.restoredObjects} objects)`,
    );
    out(`endpoints written to ${join(options.stateDir, ENDPOINTS_FILE)}`);
    pipeline = await LocalPipeline.start({
      stateDir: options.stateDir,
      spec,
      endpoints,
      onError: (stage, error) => {
        if (process.env.TICKLAKE_DEBUG) out(`[${stage}] ${(error as Error).message}`);
      },
    });
    const { resources } = pipeline;
    const objectsBefore = await countObjects(pipeline.clients.s3, resources.bucket);
    out(
      `stream ${resources.streamName} → queue ${spec.queue.name} → bucket ${resources.bucket} → topic ${spec.topic.name}`,
    );
    out(
      `try: aws --endpoint-url ${endpoints.s3} s3 ls s3://${resources.bucket}/lake/ --recursive   (any credentials, region ${endpoints.region})`,
    );

    const shipper = new KinesisShipper({
      kinesis: pipeline.clients.kinesis,
      streamName: resources.streamName,
    });
    const source = { service: "ticklake-webserver", instance: `${hostname()}-${process.pid}` };
    const feed = new MarketFeed({ seed: options.seed, source, sink: shipper, ticksPerSecond: options.ticks });
    const app = build({ feed, source });
    await app.listen({ port: options.port, host: "127.0.0.1" });
    const baseUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    out(`market API on ${baseUrl}  (try ${baseUrl}/v1/stocks/AAPL)`);
    feed.start();
    const traffic = new TrafficGenerator({ baseUrl, rate: options.rate, seed: options.seed });
    traffic.start();

    const started = Date.now();
    const running = pipeline;
    const statusTimer = setInterval(async () => {
      const counts = await running.counts().catch(() => undefined);
      if (counts) out(statusLine(Math.round((Date.now() - started) / 1000), shipper.stats.sent, counts));
    }, 1000);

    if (options.duration > 0) durationTimer = setTimeout(requestStop, options.duration * 1000);
    await stopRequested;

    out("stopping: web server, then the shipper flushes, then the pipeline drains…");
    await traffic.stop();
    feed.stop();
    await app.close();
    await shipper.flush();
    const drained = await running.drain(options.drainTimeoutSeconds * 1000);
    clearInterval(statusTimer);
    const counts = await running.counts();
    const objectsWritten = (await countObjects(running.clients.s3, resources.bucket)) - objectsBefore;
    const summary: UpSummary = {
      produced: shipper.stats.sent,
      bridged: counts.bridged,
      refused: shipper.stats.refused + feed.refused,
      stored: counts.stored,
      quarantined: counts.quarantined,
      objectsWritten,
      notifiedObjects: counts.objects,
      dlq: counts.dlq,
      drained,
      balanced: false,
    };
    summary.balanced =
      drained &&
      summary.bridged >= summary.produced &&
      summary.bridged === summary.stored + summary.quarantined &&
      summary.objectsWritten === summary.notifiedObjects &&
      summary.dlq === 0;
    return summary;
  } finally {
    clearTimeout(durationTimer);
    process.off("SIGINT", requestStop);
    process.off("SIGTERM", requestStop);
    await pipeline?.stop();
    await emulators?.stop();
  }
}

export function formatSummary(summary: UpSummary): string {
  const check = (ok: boolean) => (ok ? "ok" : "MISMATCH");
  const others = summary.bridged - summary.produced;
  return [
    "summary",
    `  produced (web server → Kinesis)     ${summary.produced}`,
    `  from other producers                ${others}  (ticklake send, aws kinesis put-record, an earlier run's backlog)`,
    `  stored in the lake                  ${summary.stored}`,
    `  quarantined                         ${summary.quarantined}`,
    `  produced + other = stored + quarantined  ${check(others >= 0 && summary.bridged === summary.stored + summary.quarantined)}`,
    `  objects written                     ${summary.objectsWritten}`,
    `  objects notified                    ${summary.notifiedObjects}  ${check(summary.objectsWritten === summary.notifiedObjects)}`,
    `  DLQ                                 ${summary.dlq}  ${check(summary.dlq === 0)}`,
    `  records refused by a full shipper   ${summary.refused}`,
    `  drained                             ${summary.drained ? "yes" : "NO (timed out)"}`,
  ].join("\n");
}
