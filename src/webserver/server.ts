/**
 * The web server as a process of its own (the container on ECS, or `node --import tsx
 * src/webserver/server.ts` by hand): market API + tick log + shipper to the stream named by
 * STREAM_NAME. SIGTERM (ECS's stop signal) and SIGINT stop the API, flush the shipper, exit.
 */
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { endpointsFromEnv } from "../aws/clients.ts";
import type { LogShipper } from "../aws/shipper.ts";
import { ShipperWorker } from "../aws/shipper-worker.ts";
import { readConfig } from "../core/config.ts";
import { build } from "./app.ts";
import { MarketFeed } from "./feed.ts";

export const ServerConfig = z.object({
  STREAM_NAME: z.string().regex(/^[\w.-]{1,128}$/, "must be a Kinesis stream name"),
  PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  HOST: z.string().min(1).default("0.0.0.0"),
  TICKS_PER_SECOND: z.coerce.number().min(0).max(100).default(1),
  SEED: z.coerce.number().int().min(0).default(42),
  SESSION: z.enum(["us", "always-open"]).default("us"),
  NEWS_PER_MINUTE: z.coerce.number().min(0).max(600).default(1),
  INSTANCE_ID: z.string().min(1).max(128).default(hostname()),
  METRICS_INTERVAL_MS: z.coerce.number().int().min(1_000).default(60_000),
  SPOOL_DIR: z.string().min(1).default(join(tmpdir(), "ticklake-spool")),
});
export type ServerConfig = z.infer<typeof ServerConfig>;

/**
 * The shipper's counters as one JSON log line. On AWS a metric filter on `$.shipper.buffered`
 * and `$.shipper.refused` turns these into the metrics the spool alarms watch.
 */
export function shipperLogLine(shipper: LogShipper): string {
  const { sent, retried, refused, dropped, putRecordsCalls } = shipper.stats;
  return JSON.stringify({
    level: "INFO",
    message: "shipper",
    shipper: {
      buffered: shipper.buffered,
      sent,
      retried,
      spooled: shipper.stats.spooled,
      refused,
      dropped,
      putRecordsCalls,
    },
  });
}

export async function startServer(config: ServerConfig) {
  // On a worker thread: aggregation, PutRecords and the spool stay off the API's thread.
  const shipper = new ShipperWorker({
    clientOptions: { endpoints: endpointsFromEnv(process.env) },
    streamName: config.STREAM_NAME,
    spoolDir: config.SPOOL_DIR,
  });
  const source = { service: "ticklake-webserver", instance: config.INSTANCE_ID };
  const feed = new MarketFeed({
    seed: config.SEED,
    source,
    sink: shipper,
    ticksPerSecond: config.TICKS_PER_SECOND,
    session: config.SESSION,
    newsPerMinute: config.NEWS_PER_MINUTE,
  });
  const app = await build({
    feed,
    source,
    gauges: () => ({
      shipper_buffered: shipper.buffered,
      shipper_sent: shipper.stats.sent,
      shipper_retried: shipper.stats.retried,
      shipper_spooled: shipper.stats.spooled,
      shipper_refused: shipper.stats.refused,
      shipper_dropped: shipper.stats.dropped,
    }),
  });
  await app.listen({ port: config.PORT, host: config.HOST });
  feed.start();
  const metrics = setInterval(
    () => process.stdout.write(`${shipperLogLine(shipper)}\n`),
    config.METRICS_INTERVAL_MS,
  );
  return {
    app,
    shipper,
    async stop() {
      clearInterval(metrics);
      feed.stop();
      await app.close();
      // ECS allows 30 s between SIGTERM and SIGKILL; what Kinesis cannot take by then stays in
      // the spool, which a task on the same disk replays.
      await shipper.close(20_000);
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startServer(readConfig(ServerConfig, process.env));
  process.stdout.write(
    `ticklake web server on port ${(server.app.server.address() as { port: number }).port}\n`,
  );
  const stop = async () => {
    await server.stop();
    process.stdout.write(
      `stopped; shipped ${server.shipper.stats.sent} records, dropped ${server.shipper.stats.dropped}\n`,
    );
    process.exit(0);
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
