/**
 * The web server as a process of its own (the container on ECS, or `node --import tsx
 * src/webserver/server.ts` by hand): market API + tick log + shipper to the stream named by
 * STREAM_NAME. SIGTERM (ECS's stop signal) and SIGINT stop the API, flush the shipper, exit.
 */
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { endpointsFromEnv } from "../aws/clients.ts";
import { readConfig } from "../core/config.ts";
import { createWebServer } from "./web-server.ts";

const WHOLE_HOPS = "must be a whole number of proxies, 0 or more";

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
  /** Proxies in front whose X-Forwarded-For is trusted: 1 behind the AWS load balancer. */
  TRUST_PROXY_HOPS: z.coerce
    .number({ error: WHOLE_HOPS })
    .int({ error: WHOLE_HOPS })
    .min(0, { error: WHOLE_HOPS })
    .default(0),
});
export type ServerConfig = z.infer<typeof ServerConfig>;

export async function startServer(config: ServerConfig) {
  const server = await createWebServer({
    shipper: {
      clientOptions: { endpoints: endpointsFromEnv(process.env) },
      streamName: config.STREAM_NAME,
      spoolDir: config.SPOOL_DIR,
    },
    market: {
      seed: config.SEED,
      ticksPerSecond: config.TICKS_PER_SECOND,
      session: config.SESSION,
      newsPerMinute: config.NEWS_PER_MINUTE,
    },
    source: { service: "ticklake-webserver", instance: config.INSTANCE_ID },
    listen: { port: config.PORT, host: config.HOST },
    trustProxyHops: config.TRUST_PROXY_HOPS,
    shipperLog: {
      intervalMs: config.METRICS_INTERVAL_MS,
      write: (line) => process.stdout.write(`${line}\n`),
    },
  });
  await server.start();
  return {
    app: server.app,
    shipper: server.shipper,
    // ECS allows 30 s between SIGTERM and SIGKILL; what Kinesis cannot take by then stays in
    // the spool, which a task on the same disk replays.
    stop: () => server.close(20_000),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startServer(readConfig(ServerConfig, process.env, "web server configuration"));
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
