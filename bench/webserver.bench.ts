/**
 * Request throughput of the market API with logging on (every response logged with the data
 * it served, shipped to the local Kinesis by the worker-thread shipper, as `up` and the
 * server do) against logging off, in the same run, with autocannon. The rounds alternate,
 * so both see the same machine.
 *
 *   npm run bench:webserver          writes bench/results/webserver.json
 */
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateStreamCommand } from "@aws-sdk/client-kinesis";
import autocannon from "autocannon";
import { ShipperWorker } from "../src/aws/shipper-worker.ts";
import { startEmulators } from "../src/local/emulators.ts";
import { localClientOptions, localClients } from "../src/local/pipeline.ts";
import { build } from "../src/webserver/app.ts";
import { MarketFeed } from "../src/webserver/feed.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const dir = await mkdtemp(join(tmpdir(), "ticklake-bench-"));
const emulators = await startEmulators({ stateDir: dir });
const clients = localClients(emulators.endpoints);
await clients.kinesis.send(new CreateStreamCommand({ StreamName: "web", ShardCount: 2 }));
await new Promise((resolve) => setTimeout(resolve, 300));

async function measure(logRequests: boolean): Promise<number> {
  const shipper = new ShipperWorker({
    clientOptions: localClientOptions(emulators.endpoints),
    streamName: "web",
    maxBufferedRecords: 10_000_000,
  });
  const source = { service: "bench", instance: "1" };
  const feed = new MarketFeed({ seed: 1, source, sink: shipper, ticksPerSecond: 0 });
  const app = await build({ feed, source, logRequests, rateLimitPerMinute: 100_000_000 });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const port = (app.server.address() as { port: number }).port;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: 20,
    duration: SECONDS,
    requests: [{ path: "/v1/stocks/AAPL" }, { path: "/v1/fx/EURUSD" }, { path: "/v1/fx/rates?base=USD" }],
  });
  await app.close();
  await shipper.close(60_000);
  return result.requests.average;
}

const on: number[] = [];
const off: number[] = [];
try {
  await measure(true); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    off.push(await measure(false));
    on.push(await measure(true));
  }
} finally {
  clients.destroy();
  await emulators.stop();
  await rm(dir, { recursive: true, force: true });
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const output = {
  date: new Date().toISOString(),
  node: process.version,
  secondsPerRun: SECONDS,
  rounds: ROUNDS,
  requestsPerSecondLoggingOff: Math.round(median(off)),
  requestsPerSecondLoggingOn: Math.round(median(on)),
  loggingCost: Number((1 - median(on) / median(off)).toFixed(3)),
  // Each round's off/on pair ran back to back: their spread shows the machine's noise.
  loggingCostPerRound: on.map((value, i) => Number((1 - value / (off[i] ?? value)).toFixed(3))),
  target: { loggingCostAtMost: 0.15 },
};
writeFileSync(new URL("./results/webserver.json", import.meta.url), `${JSON.stringify(output, null, 2)}\n`);
console.log(JSON.stringify(output, null, 2));
