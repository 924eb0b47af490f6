/**
 * The dashboard's routes in-process: the static page and its security policy, what a server
 * without a pipeline answers, and the query endpoint's validation. The pipeline view itself is
 * tested in a browser against the real pipeline (test/e2e/dashboard.test.ts).
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { afterEach, describe, expect, it } from "vitest";
import { LATENCY_WINDOW_SECONDS, recentLatency } from "../../src/dashboard/monitor.ts";
import {
  type DashboardDeps,
  dashboard,
  MAX_QUERY_ROWS,
  MAX_SQL_LENGTH,
  QUERY_TIMEOUT_MS,
} from "../../src/dashboard/plugin.ts";
import { build } from "../../src/webserver/app.ts";
import { MarketFeed } from "../../src/webserver/feed.ts";

const SOURCE = { service: "test", instance: "1" };

async function app(deps: DashboardDeps = {}) {
  const feed = new MarketFeed({ seed: 1, source: SOURCE, sink: { ship: () => {} } });
  const built = await build({ feed, source: SOURCE });
  await built.register(dashboard, deps);
  await built.ready();
  return built;
}

describe("dashboard routes", () => {
  let server: Awaited<ReturnType<typeof app>> | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it("serves the page, its script and style under a strict content security policy", async () => {
    server = await app();
    expect((await server.inject({ url: "/" })).headers.location).toBe("/dashboard/");
    const page = await server.inject({ url: "/dashboard/" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toContain("text/html");
    expect(page.body).toContain('<script type="module" src="dashboard.js">');
    expect(page.headers["content-security-policy"]).toContain("script-src 'self'");
    // No inline script: the policy would block it.
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    for (const [file, type] of [
      ["dashboard.js", "javascript"],
      ["dashboard.css", "text/css"],
    ]) {
      const asset = await server.inject({ url: `/dashboard/${file}` });
      expect(asset.statusCode, file).toBe(200);
      expect(asset.headers["content-type"]).toContain(type);
    }
    expect((await server.inject({ url: "/dashboard/../package.json" })).statusCode).toBe(404);
  });

  it("without a pipeline or a query runner, says so with 404 and a JSON error", async () => {
    server = await app();
    const pipeline = await server.inject({ url: "/v1/pipeline" });
    expect(pipeline.statusCode).toBe(404);
    expect(pipeline.json().error.code).toBe("NO_PIPELINE");
    expect((await server.inject({ url: "/v1/pipeline/stream" })).json().error.code).toBe("NO_PIPELINE");
    expect((await server.inject({ url: "/v1/query/examples" })).json()).toEqual({
      enabled: false,
      examples: {},
    });
    const query = await server.inject({ method: "POST", url: "/v1/query", payload: { sql: "SELECT 1" } });
    expect(query.statusCode).toBe(404);
    expect(query.json().error.code).toBe("NO_QUERY");
  });

  it("takes SQL only as JSON, names what is wrong with a body, and caps the rows it returns", async () => {
    const received: string[] = [];
    const limits: Array<{ timeoutMs: number }> = [];
    // A real DuckDB answers (the lake's mirror is tested with it in test/integration/query.test.ts).
    const duck = await (await DuckDBInstance.create(":memory:")).connect();
    await duck.run(`CREATE TABLE numbers AS SELECT range AS n FROM range(${MAX_QUERY_ROWS + 5})`);
    server = await app({
      examples: { one: "SELECT 1" },
      query: async (sql, limit) => {
        received.push(sql);
        limits.push(limit);
        const reader = await duck.runAndReadAll(sql);
        return { columns: reader.columnNames(), rows: reader.getRowsJson() as unknown[][] };
      },
    });
    expect((await server.inject({ url: "/v1/query/examples" })).json()).toEqual({
      enabled: true,
      examples: { one: "SELECT 1" },
    });
    const ok = await server.inject({
      method: "POST",
      url: "/v1/query",
      payload: { sql: "  SELECT n FROM numbers  " },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().rows).toHaveLength(MAX_QUERY_ROWS);
    expect(ok.json().truncated).toBe(true);
    expect(received).toEqual(["SELECT n FROM numbers"]);

    const plain = await server.inject({
      method: "POST",
      url: "/v1/query",
      headers: { "content-type": "text/plain" },
      payload: "SELECT 1",
    });
    expect(plain.statusCode).toBe(415);
    const form = await server.inject({
      method: "POST",
      url: "/v1/query",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "sql=SELECT+1",
    });
    expect(form.statusCode).toBe(415);
    for (const payload of [
      {},
      { sql: "" },
      { sql: "   " },
      { sql: 1 },
      { sql: "x".repeat(MAX_SQL_LENGTH + 1) },
      { sql: "SELECT 1", extra: true },
      [],
    ]) {
      const response = await server.inject({ method: "POST", url: "/v1/query", payload });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json().error).toMatchObject({ code: "INVALID_PARAMETER", parameter: "sql" });
    }
    const broken = await server.inject({ method: "POST", url: "/v1/query", payload: { sql: "boom" } });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error).toEqual({
      code: "QUERY_FAILED",
      message: 'Parser Error: syntax error at or near "boom"',
    });
    expect(received).toHaveLength(2);
    // Every query from the page runs under the dashboard's time limit: 10 s.
    expect(QUERY_TIMEOUT_MS).toBe(10_000);
    expect(limits).toEqual([{ timeoutMs: QUERY_TIMEOUT_MS }, { timeoutMs: QUERY_TIMEOUT_MS }]);
    duck.closeSync();
  });
});

describe("the latency panel's window", () => {
  const NOW = Date.UTC(2026, 10, 26, 15, 0, 0);
  /** A lake object of `records` events from `ageMs` ago that took `latencyMs` to be announced. */
  const received = (receivedAgoMs: number, latencyMs: number, kind: "lake" | "quarantine" = "lake") => {
    const receivedAtMs = NOW - receivedAgoMs;
    const at = new Date(receivedAtMs - latencyMs).toISOString();
    return {
      receivedAtMs,
      manifest: {
        v: 1 as const,
        kind,
        bucket: "b",
        key: `lake/fx_quotes/${receivedAgoMs}-${latencyMs}`,
        dataset: "fx_quotes",
        dt: "2026-11-26",
        hour: "15",
        records: 10,
        minTime: at,
        maxTime: at,
        bytes: 1,
        sha256: "0".repeat(64),
        contentType: "application/vnd.apache.parquet",
        schemaVersion: 1,
        source: null,
      },
    };
  };

  it("leaves the cold start out once it is older than 30 s", () => {
    // The first seconds: slow (cold functions); the last half minute: steady.
    const recent = [
      received(55_000, 4_700),
      received(45_000, 4_200),
      received(31_000, 3_900),
      received(20_000, 1_400),
      received(10_000, 1_300),
      received(1_000, 1_200),
      received(2_000, 9_000, "quarantine"),
    ];
    expect(LATENCY_WINDOW_SECONDS).toBe(30);
    const latency = recentLatency(recent, NOW);
    expect(latency).toEqual({ p50Ms: 1_300, p99Ms: 1_400, objects: 3, windowSeconds: 30 });
    // Over the whole minute, the cold start would dominate the p99.
    expect(recentLatency(recent, NOW, 60).p99Ms).toBe(4_700);
  });
});
