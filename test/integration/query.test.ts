/**
 * `ticklake query` over a lake written by the real processor into the local S3: the worked
 * examples give the answers worked out by hand, and a record stored twice counts once. Only
 * one read-only SELECT runs: every statement that writes or changes state is refused by its
 * type, a long query is interrupted at its limit while the server goes on answering.
 */
import { readFileSync } from "node:fs";
import { access, readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { describe, expect, it } from "vitest";
import { publishManifest, putObjectIfAbsent } from "../../src/aws/lake.ts";
import { runQuery } from "../../src/cli/query.ts";
import { QUERY_EXAMPLES } from "../../src/cli/query-examples.ts";
import { type Envelope, envelopeOf } from "../../src/core/events.ts";
import { packRecords } from "../../src/core/packing.ts";
import { dashboard } from "../../src/dashboard/plugin.ts";
import { makeProcessorHandler } from "../../src/functions/processor.ts";
import { build } from "../../src/webserver/app.ts";
import { MarketFeed } from "../../src/webserver/feed.ts";
import { sqsRecord, streamRecords } from "../support/factories.ts";
import { provisionedAws } from "../support/local-aws.ts";

const T0 = Date.UTC(2026, 10, 26, 15, 0, 0, 0);
const MINUTE = 60_000;
const SOURCE = { service: "query-test", instance: "1" };

const quote = (symbol: string, atMs: number, last: number, volume: number) =>
  envelopeOf("stock.quote", { symbol, bid: last - 0.01, ask: last + 0.01, last, volume }, SOURCE, atMs);

describe("ticklake query", () => {
  const aws = provisionedAws("querytest");
  let shard = 0;

  /** Stores envelopes through the real processor, as one packed message. */
  async function store(envelopes: Envelope[]): Promise<void> {
    const handler = makeProcessorHandler({
      bucket: aws.resources.bucket,
      putObjectIfAbsent: (plan) => putObjectIfAbsent(aws.clients.s3, aws.resources.bucket, plan),
      publish: (manifest) => publishManifest(aws.clients.sns, aws.resources.topicArn, manifest),
      logger: new Logger({ logLevel: "CRITICAL" }),
      metrics: new Metrics({ namespace: "test" }),
    });
    const shardId = `shardId-${String(shard++).padStart(12, "0")}`;
    // Records arrive in the stream after the last of them happened.
    const arrival = Math.max(...envelopes.map((e) => Date.parse(e.ts)));
    const messages = packRecords(
      streamRecords(
        envelopes.map((e) => JSON.stringify(e)),
        arrival,
      ),
      {
        stream: "s",
        shardId,
        maxMessageBytes: 1_048_576,
      },
    );
    const response = await handler({
      Records: messages.map((m, i) => sqsRecord(JSON.stringify(m), `${shardId}-${i}`)),
    });
    expect(response.batchItemFailures).toEqual([]);
  }

  const cache = () => `${aws.dir}/cache`;
  const query = async (sql: string, timeoutMs = 60_000) =>
    runQuery(aws.clients.s3, aws.resources.bucket, sql, cache(), { timeoutMs });
  const objects = async (sql: string) => {
    const result = await query(sql);
    return result.rows.map((row) => Object.fromEntries(result.columns.map((c, i) => [c, row[i]])));
  };

  it("answers over empty datasets with empty results, not errors", async () => {
    expect((await query("SELECT count(*) AS n FROM fx_quotes")).rows).toEqual([["0"]]);
  });

  it("gives the latest FX mid per pair", async () => {
    await store([
      envelopeOf("fx.quote", { pair: "EURUSD", bid: 1.1, ask: 1.1002 }, SOURCE, T0),
      envelopeOf("fx.quote", { pair: "EURUSD", bid: 1.2, ask: 1.2002 }, SOURCE, T0 + 5_000),
      envelopeOf("fx.quote", { pair: "USDJPY", bid: 150.001, ask: 150.003 }, SOURCE, T0 + 1_000),
    ]);
    expect(await objects(QUERY_EXAMPLES.latestFxMid)).toEqual([
      { pair: "EURUSD", mid: 1.2001, at: "2026-11-26 15:00:05+00" },
      { pair: "USDJPY", mid: 150.002, at: "2026-11-26 15:00:01+00" },
    ]);
  });

  it("builds 1-minute OHLCV bars, and counts a record stored twice once", async () => {
    const series = [
      quote("ACME", T0 + 1_000, 10.0, 100),
      quote("ACME", T0 + 20_000, 10.5, 200),
      quote("ACME", T0 + 40_000, 9.5, 300),
      quote("ACME", T0 + 59_999, 10.25, 400),
      quote("ACME", T0 + MINUTE, 11.0, 50),
    ];
    await store(series);
    // A producer retry: the same record (same id) again, in another object.
    await store([series[1] as Envelope]);
    expect(await objects(QUERY_EXAMPLES.stockBars1m)).toEqual([
      {
        symbol: "ACME",
        minute: "2026-11-26 15:00:00+00",
        open: "10.00",
        high: "10.50",
        low: "9.50",
        close: "10.25",
        volume: "1000",
      },
      {
        symbol: "ACME",
        minute: "2026-11-26 15:01:00+00",
        open: "11.00",
        high: "11.00",
        low: "11.00",
        close: "11.00",
        volume: "50",
      },
    ]);
  });

  it("measures the average 5-minute return after positive and negative news", async () => {
    const news = (symbol: string, atMs: number, sentiment: number) =>
      envelopeOf(
        "news.article",
        {
          articleId: `${symbol}-${atMs}`,
          headline: "h",
          summary: "",
          category: "rating",
          symbols: [symbol],
          sentiment,
        },
        SOURCE,
        atMs,
      );
    const base = T0 + 60 * MINUTE;
    await store([
      // GOOD: 100 before, positive news, 103 five minutes later: +3 %
      quote("GOOD", base - 1_000, 100, 1),
      news("GOOD", base, 0.8),
      quote("GOOD", base + 5 * MINUTE, 103, 1),
      // BAD: 50 before, negative news, 49 five minutes later: -2 %
      quote("BAD", base - 1_000, 50, 1),
      news("BAD", base, -0.6),
      quote("BAD", base + 5 * MINUTE + 1, 49, 1),
    ]);
    expect(await objects(QUERY_EXAMPLES.returnAfterNews)).toEqual([
      { news: "positive", articles: "1", avg_return_5m_pct: 3 },
      { news: "negative", articles: "1", avg_return_5m_pct: -2 },
    ]);
  });

  it("exposes quarantined records with their reasons, and the partition columns", async () => {
    const bad = { ...quote("ACME", T0, 10, 1), v: 7 };
    await store([bad as unknown as Envelope]);
    const rows = await objects("SELECT raw.text AS text, violations[1].field AS field FROM quarantine");
    expect(rows).toContainEqual({ text: JSON.stringify(bad), field: "v" });
    expect(await objects("SELECT DISTINCT dt, hour FROM fx_quotes")).toEqual([
      { dt: "2026-11-26", hour: "15" },
    ]);
  });

  it("runs every example query of data-contract.md", async () => {
    const text = readFileSync(new URL("../../docs/data-contract.md", import.meta.url), "utf8");
    const block = text.slice(text.indexOf("```sql", text.indexOf("An example query per dataset")) + 6);
    const statements = block
      .slice(0, block.indexOf("```"))
      .split(";")
      .map((sql) => sql.replace(/^--.*$/gm, "").trim())
      .filter((sql) => sql !== "");
    expect(statements).toHaveLength(4);
    for (const sql of statements) {
      const result = await query(sql);
      expect(result.columns.length, sql).toBeGreaterThan(1);
    }
  });

  it("reads the lake's mirror but no other file, and writes none", async () => {
    const counted = await query("SELECT count(*) AS n FROM fx_quotes");
    expect(Number(counted.rows[0]?.[0])).toBeGreaterThan(0);
    await expect(query("SELECT * FROM read_text('/etc/hostname')")).rejects.toThrow(
      /^queries may read only the lake's mirror and write nothing \(Permission Error: Cannot access file "\/etc\/hostname"/,
    );
    await expect(query(`COPY (SELECT 1) TO '${aws.dir}/leak.csv'`)).rejects.toMatchObject({
      code: "QUERY_REFUSED",
      message: expect.stringContaining("Permission Error"),
    });
    await expect(access(`${aws.dir}/leak.csv`)).rejects.toThrow(/ENOENT/);
  });

  it("refuses every statement that writes or changes state, naming its type, and runs none", async () => {
    const filesBefore = await filesUnder(cache());
    const refused: Array<[sql: string, got: string]> = [
      [`COPY (SELECT 1 AS x) TO '${cache()}/evil.parquet'`, "a statement of type COPY"],
      [
        `COPY fx_quotes TO '${cache()}/lake/fx_quotes/dt=2026-11-26/hour=15/evil.parquet'`,
        "a statement of type COPY",
      ],
      [`EXPORT DATABASE '${cache()}/export'`, "a statement of type EXPORT"],
      ["CREATE TABLE copied AS SELECT * FROM fx_quotes", "a statement of type CREATE"],
      ["CREATE OR REPLACE VIEW fx_quotes AS SELECT 1 AS x", "a statement of type CREATE"],
      ["INSERT INTO fx_quotes SELECT * FROM fx_quotes", "a statement of type INSERT"],
      ["UPDATE fx_quotes SET bid = 0", "a statement of type UPDATE"],
      ["DELETE FROM fx_quotes", "a statement of type DELETE"],
      ["DROP VIEW fx_quotes", "a statement of type DROP"],
      ["ATTACH ':memory:' AS other", "a statement of type ATTACH"],
      ["DETACH memory", "a statement of type DETACH"],
      ["SET threads = 8", "a statement of type SET"],
      ["SET enable_external_access = true", "a statement of type SET"],
      ["PRAGMA threads = 8", "a statement of type SET"],
      ["RESET memory_limit", "a statement of type SET"],
      ["INSTALL httpfs", "a statement of type LOAD"],
      ["LOAD json", "a statement of type LOAD"],
      ["CHECKPOINT", "a statement of type CALL"],
      ["PRAGMA enable_profiling", "a statement of type PRAGMA"],
      ["BEGIN TRANSACTION", "a statement of type TRANSACTION"],
      ["EXPLAIN ANALYZE SELECT count(*) FROM fx_quotes", "a statement of type EXPLAIN"],
      ["SELECT 1; SELECT 2", "2 statements"],
      ["SELECT count(*) FROM fx_quotes; DELETE FROM fx_quotes", "2 statements"],
      ["-- nothing but a comment", "no statement"],
    ];
    for (const [sql, got] of refused) {
      await expect(query(sql), sql).rejects.toMatchObject({
        name: "QueryRefusedError",
        code: "QUERY_REFUSED",
        message: expect.stringMatching(
          new RegExp(`^only one read-only SELECT over the lake: .*\\(got ${got}\\)$`),
        ),
      });
    }
    // DuckDB binds EXPORT by creating its folder (empty): no statement wrote a file.
    expect(await filesUnder(cache())).toEqual(filesBefore);
    expect((await query("SELECT count(*) AS n FROM fx_quotes")).rows).toEqual(
      (await query("SELECT count(*) AS n FROM fx_quotes")).rows,
    );
  });

  it("runs what DuckDB reads as a SELECT: DESCRIBE, SHOW, SUMMARIZE, PRAGMA table_info, VALUES", async () => {
    expect((await query("DESCRIBE fx_quotes")).rows.map((row) => row[0])).toContain("bid");
    expect((await query("SHOW TABLES")).rows.map((row) => row[0])).toEqual(
      expect.arrayContaining(["fx_quotes", "stock_quotes", "news", "http_requests", "quarantine"]),
    );
    expect((await query("SUMMARIZE fx_quotes")).columns).toContain("approx_unique");
    expect((await query("PRAGMA table_info('news')")).rows.map((row) => row[1])).toContain("headline");
    expect((await query("VALUES (1, 'a')")).rows).toEqual([[1, "a"]]);
  });

  it("says where the SQL is wrong and what to do about it", async () => {
    await expect(query("SELEC 1")).rejects.toMatchObject({
      code: "QUERY_FAILED",
      message:
        'Parser Error: syntax error at or near "SELEC" (line 1, column 1): fix the SQL near that token',
    });
    await expect(query("SELECT * FROM fx_quote")).rejects.toMatchObject({
      code: "QUERY_FAILED",
      message: expect.stringMatching(
        /^Catalog Error: Table with name fx_quote does not exist .*Did you mean "fx_quotes".*`ticklake schema` lists their columns\)$/,
      ),
    });
    await expect(query("SELECT 1 AS x,\n  nope FROM fx_quotes")).rejects.toMatchObject({
      code: "QUERY_FAILED",
      message: expect.stringMatching(
        /^Binder Error: Referenced column "nope" not found in FROM clause \(line 2, column 3\)/,
      ),
    });
  });

  it("interrupts a query at its time limit", async () => {
    // Unbounded, it runs for tens of seconds; only an interrupt ends it with this error.
    await expect(query("SELECT count(*) FROM range(100000000000)", 1_000)).rejects.toMatchObject({
      name: "QueryTimeoutError",
      code: "QUERY_TIMEOUT",
      message: expect.stringContaining("the query ran past its 1 s limit and was interrupted"),
    });
  });

  it("in the dashboard: 400 with the reason, and /health answers while a long query runs", async () => {
    const feed = new MarketFeed({ seed: 1, source: SOURCE, sink: { ship: () => {} } });
    const app = await build({ feed, source: SOURCE });
    await app.register(dashboard, {
      query: (sql, limits) => runQuery(aws.clients.s3, aws.resources.bucket, sql, cache(), limits),
      queryTimeoutMs: 3_000,
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      const post = (sql: string) =>
        fetch(`${base}/v1/query`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ sql }),
        });
      const copy = await post(`COPY (SELECT 1 AS x) TO '${cache()}/evil.parquet'`);
      expect(copy.status).toBe(400);
      expect(((await copy.json()) as { error: unknown }).error).toEqual({
        code: "QUERY_REFUSED",
        message: expect.stringMatching(
          /SELECT, WITH … SELECT, VALUES, DESCRIBE.*\(got a statement of type COPY\)$/,
        ),
      });
      await expect(access(`${cache()}/evil.parquet`)).rejects.toThrow(/ENOENT/);

      let running = true;
      const long = post("SELECT count(*) FROM range(100000000000)").finally(() => {
        running = false;
      });
      let answered = 0;
      while (running) {
        // A bounded wait: each health check must answer within 2 s while DuckDB is busy.
        const health = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2_000) });
        expect(health.status).toBe(200);
        answered++;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const timedOut = await long;
      expect(timedOut.status).toBe(400);
      expect(((await timedOut.json()) as { error: unknown }).error).toMatchObject({
        code: "QUERY_TIMEOUT",
        message: expect.stringContaining("ran past its 3 s limit"),
      });
      expect(answered).toBeGreaterThan(5);
    } finally {
      await app.close();
    }
  });
});

/** Every file (not folder) under `dir`, relative, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}
