/**
 * The web server, assembled once for every place that runs it (the container on ECS,
 * `src/webserver/server.ts`, and `ticklake up`): the log shipper on its worker thread, the
 * market feed logging into it, the market API with the shipper's gauges, and the shipper's
 * counters as a JSON log line. The caller may register plugins on `app` (the dashboard)
 * before `start()`.
 */

import { ShipperWorker, type WorkerShipperOptions } from "../aws/shipper-worker.ts";
import type { EnvelopeSource } from "../core/events.ts";
import { shipperGauges, shipperLogLine, shipperReport } from "../core/shipping.ts";
import { build, type MarketApp } from "./app.ts";
import { MarketFeed, type MarketFeedOptions } from "./feed.ts";

export interface WebServerOptions {
  /** Where the logs go: the stream, how to reach Kinesis, the spool folder. */
  shipper: WorkerShipperOptions;
  /** The simulated market: seed, ticks per second, session, news per minute. */
  market: Omit<MarketFeedOptions, "source" | "sink">;
  /** Who the logged envelopes say served them. */
  source: EnvelopeSource;
  listen: { port: number; host: string };
  /** Requests per client address per minute before 429. @default 6000 */
  rateLimitPerMinute?: number;
  /** Proxies in front whose X-Forwarded-For is trusted: 1 behind a load balancer. @default 0 */
  trustProxyHops?: number;
  /**
   * Writes the shipper's counters as one JSON line (no newline) every `intervalMs`: on AWS, the
   * metric filters read them from the container's log.
   */
  shipperLog?: { intervalMs: number; write: (line: string) => void };
}

export interface WebServer {
  /** The market API, not yet listening: register plugins on it before `start()`. */
  readonly app: MarketApp;
  readonly feed: MarketFeed;
  readonly shipper: ShipperWorker;
  /** Listens, starts the market ticking and the shipper's log line; returns the API's URL. */
  start(): Promise<string>;
  /** Stops the market and the API (open streams end); the shipper keeps what it accepted. */
  stopServing(): Promise<void>;
  /**
   * Stops serving if it still does, then flushes the shipper for at most `timeoutMs`; what
   * Kinesis has not taken by then stays in the spool. Returns how many records that is.
   */
  close(timeoutMs: number): Promise<number>;
}

export async function createWebServer(options: WebServerOptions): Promise<WebServer> {
  // On a worker thread: aggregation, PutRecords and the spool stay off the API's thread.
  const shipper = new ShipperWorker(options.shipper);
  const feed = new MarketFeed({ ...options.market, source: options.source, sink: shipper });
  const app = await build({
    feed,
    source: options.source,
    gauges: () => shipperGauges(shipperReport(shipper)),
    ...(options.rateLimitPerMinute === undefined ? {} : { rateLimitPerMinute: options.rateLimitPerMinute }),
    ...(options.trustProxyHops === undefined ? {} : { trustProxyHops: options.trustProxyHops }),
  });
  let shipperLog: NodeJS.Timeout | undefined;
  let serving = false;
  const stopServing = async () => {
    if (!serving) return;
    serving = false;
    clearInterval(shipperLog);
    feed.stop();
    await app.close();
  };
  return {
    app,
    feed,
    shipper,
    async start() {
      const url = await app.listen(options.listen);
      serving = true;
      feed.start();
      const { shipperLog: log } = options;
      if (log)
        shipperLog = setInterval(() => log.write(shipperLogLine(shipperReport(shipper))), log.intervalMs);
      return url;
    },
    stopServing,
    async close(timeoutMs) {
      await stopServing();
      return shipper.close(timeoutMs);
    },
  };
}
