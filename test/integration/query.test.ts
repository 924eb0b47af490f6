/**
 * `ticklake query` over a lake written by the real processor into the local S3: the worked
 * examples give the answers worked out by hand, and a record stored twice counts once.
 */
import { readFileSync } from "node:fs";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { describe, expect, it } from "vitest";
import { publishManifest, putObjectIfAbsent } from "../../src/aws/lake.ts";
import { runQuery } from "../../src/cli/query.ts";
import { QUERY_EXAMPLES } from "../../src/cli/query-examples.ts";
import { type Envelope, envelopeOf } from "../../src/core/events.ts";
import { packRecords } from "../../src/core/packing.ts";
import { makeProcessorHandler } from "../../src/functions/processor.ts";
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

  const query = async (sql: string) =>
    runQuery(aws.clients.s3, aws.resources.bucket, sql, `${aws.dir}/cache`);
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

  it("sandboxed, as the dashboard runs it, reads the lake but no other file and writes none", async () => {
    const sandboxed = (sql: string) =>
      runQuery(aws.clients.s3, aws.resources.bucket, sql, `${aws.dir}/cache`, { sandboxed: true });
    const counted = await sandboxed("SELECT count(*) AS n FROM fx_quotes");
    expect(counted.rows).toEqual((await query("SELECT count(*) AS n FROM fx_quotes")).rows);
    expect(Number(counted.rows[0]?.[0])).toBeGreaterThan(0);
    await expect(sandboxed("SELECT * FROM read_text('/etc/hostname')")).rejects.toThrow(/Permission Error/);
    await expect(sandboxed(`COPY (SELECT 1) TO '${aws.dir}/leak.csv'`)).rejects.toThrow(/Permission Error/);
    await expect(sandboxed("SET enable_external_access = true")).rejects.toThrow(/Cannot change/);
    // The command line is not sandboxed: there the user may read and write files.
    expect((await query("SELECT count(*) AS n FROM read_text('/etc/hostname')")).rows).toEqual([["1"]]);
  });
});
