/**
 * The web server stays responsive while the dashboard runs a long query: `/health` latency
 * while DuckDB works on `SELECT count(*) FROM range(…)` until the dashboard's 10 s limit
 * interrupts it, against `/health` latency with no query, in alternating rounds of the same
 * run. The query runs with its default limits (1 thread, 1 GB) on DuckDB's own threads, so the
 * event loop should stay free: the goal is /health within 100 ms at p99 while a query runs.
 *
 *   npm run bench:query-health     writes bench/results/query-health.json
 */
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { runQuery } from "../src/cli/query.ts";
import { resourceSpec } from "../src/core/spec.ts";
import { quantile } from "../src/core/stats.ts";
import { dashboard, QUERY_TIMEOUT_MS } from "../src/dashboard/plugin.ts";
import { startEmulators } from "../src/local/emulators.ts";
import { localClients } from "../src/local/pipeline.ts";
import { provision } from "../src/local/provisioner.ts";
import { build } from "../src/webserver/app.ts";
import { MarketFeed } from "../src/webserver/feed.ts";
import { wholeNumberFromEnv } from "./support.ts";

const ROUNDS = wholeNumberFromEnv("BENCH_ROUNDS", 3, 1, 20);
/** Between two health checks, as a load balancer's checks (much more often than one's). */
const GAP_MS = 50;
const LONG_QUERY = "SELECT count(*) FROM range(100000000000)";
const GOAL_MS = 100;

const dir = await mkdtemp(join(tmpdir(), "ticklake-bench-query-"));
const emulators = await startEmulators({ stateDir: join(dir, "state") });
const clients = localClients(emulators.endpoints);
const source = { service: "bench", instance: "query-health" };
const app = await build({ feed: new MarketFeed({ seed: 1, source, sink: { ship: () => {} } }), source });
try {
  const { bucket } = await provision(clients, resourceSpec({ stage: "bench" }));
  await app.register(dashboard, {
    query: (sql, limits) => runQuery(clients.s3, bucket, sql, join(dir, "cache"), limits),
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

  /** /health answered one after another, GAP_MS apart, until `until` settles: each latency. */
  async function healthWhile(until: Promise<unknown>): Promise<number[]> {
    let settled = false;
    void until.finally(() => {
      settled = true;
    });
    const latencies: number[] = [];
    while (!settled) {
      const started = performance.now();
      const response = await fetch(`${base}/health`);
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`/health answered ${response.status}`);
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, GAP_MS));
    }
    return latencies;
  }

  const idle: number[] = [];
  const busy: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    idle.push(...(await healthWhile(new Promise((resolve) => setTimeout(resolve, QUERY_TIMEOUT_MS)))));
    const query = fetch(`${base}/v1/query`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ sql: LONG_QUERY }),
    }).then(async (response) => ({ status: response.status, body: await response.json() }));
    busy.push(...(await healthWhile(query)));
    const answer = await query;
    if ((answer.body as { error?: { code?: string } }).error?.code !== "QUERY_TIMEOUT")
      throw new Error(`the long query was not interrupted at its limit: ${JSON.stringify(answer)}`);
    console.log(`round ${round + 1}/${ROUNDS}: ${idle.length} idle and ${busy.length} busy checks so far`);
  }

  const summary = (latencies: number[]) => ({
    checks: latencies.length,
    p50Ms: round1(quantile(latencies, 0.5) ?? Number.NaN),
    p99Ms: round1(quantile(latencies, 0.99) ?? Number.NaN),
    maxMs: round1(Math.max(...latencies)),
  });
  const result = {
    rounds: ROUNDS,
    /** Other work on the machine during the run (1-minute load average at its end; 2 cores). */
    loadAverage: round1(loadavg()[0] ?? 0),
    queryTimeoutMs: QUERY_TIMEOUT_MS,
    longQuery: LONG_QUERY,
    idle: summary(idle),
    whileQuerying: summary(busy),
    p99Ratio: round1((quantile(busy, 0.99) ?? Number.NaN) / (quantile(idle, 0.99) ?? Number.NaN)),
    goalMs: GOAL_MS,
    met: (quantile(busy, 0.99) ?? Number.POSITIVE_INFINITY) <= GOAL_MS,
  };
  console.log(JSON.stringify(result, null, 2));
  writeFileSync(
    new URL("./results/query-health.json", import.meta.url),
    `${JSON.stringify(result, null, 2)}\n`,
  );
} finally {
  await app.close();
  clients.destroy();
  await emulators.stop();
  await rm(dir, { recursive: true, force: true });
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
