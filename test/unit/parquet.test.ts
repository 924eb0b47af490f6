import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { describe, expect, it } from "vitest";
import { columnsOf, sqlTypeOf } from "../../src/core/columns.ts";
import { DATASET_OF, DATASETS, type Dataset, type Envelope, envelopeOf } from "../../src/core/events.ts";
import { icebergSchemaOf } from "../../src/core/iceberg/schema.ts";
import { encodeParquet } from "../../src/core/parquet.ts";
import { MarketSimulator } from "../../src/core/simulator.ts";
import { parquetEnvelopes, parquetSchema } from "../support/duckdb.ts";
import { fxQuote, httpRequest, newsArticle, stockQuote } from "../support/factories.ts";

const START = Date.UTC(2026, 10, 26, 14, 0, 0, 7);
const SOURCE = { service: "test", instance: "t1" };

function simulatedEnvelopes(count: number): Envelope[] {
  const sim = new MarketSimulator({ seed: 11, startMs: START });
  const out: Envelope[] = [];
  for (let step = 1; out.length < count; step++) {
    const tick = sim.advance(START + step * 997);
    for (const quote of tick.fx) out.push(envelopeOf("fx.quote", quote, SOURCE, tick.atMs));
    for (const quote of tick.stocks) out.push(envelopeOf("stock.quote", quote, SOURCE, tick.atMs));
    for (const article of tick.news) out.push(envelopeOf("news.article", article, SOURCE, tick.atMs));
  }
  return out;
}

describe("Parquet encoding, read back by DuckDB", () => {
  it.each([
    ["fx_quotes", [fxQuote(START), fxQuote(START + 1, "USDJPY")]],
    ["stock_quotes", [stockQuote(START), stockQuote(START + 999, "BRK.B")]],
    [
      "news",
      [newsArticle(START), { ...newsArticle(START + 5), data: { ...newsArticle(START).data, symbols: [] } }],
    ],
    ["http_requests", [httpRequest(START), httpRequest(START + 86_400_000)]],
  ] as Array<[Dataset, Envelope[]]>)(
    "round-trips %s exactly, with the derived column types",
    async (dataset, envelopes) => {
      const bytes = encodeParquet(dataset, envelopes);
      expect(await parquetEnvelopes(dataset, bytes)).toEqual(envelopes);
      expect(await parquetSchema(bytes)).toEqual(
        columnsOf(dataset).map((column) => ({ name: column.name, type: sqlTypeOf(column.type, "duckdb") })),
      );
    },
  );

  it("keeps every simulated price exact to its precision across thousands of rows", async () => {
    const envelopes = simulatedEnvelopes(5_000);
    for (const dataset of DATASETS) {
      const rows = envelopes.filter((e) => DATASET_OF[e.type] === dataset);
      if (rows.length === 0) continue;
      expect(await parquetEnvelopes(dataset, encodeParquet(dataset, rows))).toEqual(rows);
    }
  });

  it("encodes the same records to the same bytes every time", () => {
    // A redelivered message's manifest carries the SHA-256 of what it would write: it must
    // name the bytes the first delivery stored.
    for (const dataset of DATASETS) {
      const rows = simulatedEnvelopes(2_000).filter((event) => DATASET_OF[event.type] === dataset);
      if (rows.length === 0) continue;
      const first = Buffer.from(encodeParquet(dataset, rows));
      for (let i = 0; i < 20; i++)
        expect(Buffer.from(encodeParquet(dataset, rows)).equals(first), dataset).toBe(true);
    }
  });

  it("writes one ZSTD row group per object with dictionary-encoded symbols and ticklake metadata", async () => {
    const rows = simulatedEnvelopes(3_000).filter((e) => e.type === "stock.quote");
    const dir = await mkdtemp(join(tmpdir(), "ticklake-pq-"));
    const path = join(dir, "o.parquet");
    await writeFile(path, encodeParquet("stock_quotes", rows));
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    try {
      const meta = (
        await connection.runAndReadAll(
          `SELECT path_in_schema AS col, row_group_id AS rg, compression, encodings FROM parquet_metadata('${path}')`,
        )
      ).getRowObjectsJS();
      expect(new Set(meta.map((m) => m.rg))).toEqual(new Set([0n]));
      expect(new Set(meta.map((m) => m.compression))).toEqual(new Set(["ZSTD"]));
      expect(String(meta.find((m) => m.col === "symbol")?.encodings)).toContain("RLE_DICTIONARY");
      const kv = (
        await connection.runAndReadAll(
          `SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata('${path}') WHERE decode(key) LIKE 'ticklake%'`,
        )
      ).getRowObjectsJS();
      expect(kv).toEqual([
        { k: "ticklake", v: JSON.stringify({ dataset: "stock_quotes", schema_version: 1 }) },
      ]);
    } finally {
      connection.closeSync();
      instance.closeSync();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each(DATASETS)(
    "gives every %s column its Iceberg field id, required, with ts in microseconds",
    async (dataset) => {
      // DuckDB reads the Parquet schema as written: field ids come from Arrow's PARQUET:field_id.
      const rows = simulatedEnvelopes(500).filter((event) => DATASET_OF[event.type] === dataset);
      const events =
        rows.length > 0 ? rows : dataset === "http_requests" ? [httpRequest(START)] : [newsArticle(START)];
      const dir = await mkdtemp(join(tmpdir(), "ticklake-pq-"));
      const path = join(dir, "o.parquet");
      await writeFile(path, encodeParquet(dataset, events));
      const instance = await DuckDBInstance.create(":memory:");
      const connection = await instance.connect();
      try {
        const schema = (
          await connection.runAndReadAll(
            `SELECT name, field_id, repetition_type, logical_type FROM parquet_schema('${path}') WHERE name NOT IN ('arrow_schema', 'list')`,
          )
        ).getRowObjectsJS();
        const expected = icebergSchemaOf(dataset).fields.flatMap((field) =>
          typeof field.type === "string"
            ? [{ name: field.name, id: field.id }]
            : [
                { name: field.name, id: field.id },
                { name: "element", id: field.type["element-id"] },
              ],
        );
        expect(schema.map((row) => ({ name: row.name, id: Number(row.field_id) }))).toEqual(expected);
        expect(new Set(schema.map((row) => row.repetition_type))).toEqual(new Set(["REQUIRED"]));
        expect(String(schema.find((row) => row.name === "ts")?.logical_type)).toContain("MICROS");
      } finally {
        connection.closeSync();
        instance.closeSync();
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
