/**
 * `ticklake query "SQL"`: DuckDB over the lake. Objects are mirrored through the S3 API into
 * a local cache (new objects only: keys never change), then every dataset is a view,
 * deduplicated on `id`, with the `dt` and `hour` partition columns.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { DuckDBInstance } from "@duckdb/node-api";
import { mirrorObjects } from "../aws/lake-mirror.ts";
import { columnsOf, sqlTypeOf } from "../core/columns.ts";
import { DATASETS } from "../core/events.ts";
import { LAKE_PREFIX, QUARANTINE_PREFIX } from "../core/layout.ts";

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
  mirrored: { listed: number; downloaded: number };
}

const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** The views every query sees: one per dataset, and `quarantine`. */
export function viewStatements(cacheDir: string, present: ReadonlySet<string>): string[] {
  const statements = DATASETS.map((dataset) => {
    if (!present.has(dataset)) {
      // No objects yet: an empty view with the same columns keeps queries valid.
      const columns = columnsOf(dataset).map(
        (c) => `CAST(NULL AS ${sqlTypeOf(c.type, "duckdb")}) AS "${c.name}"`,
      );
      return `CREATE VIEW ${dataset} AS SELECT ${columns.join(", ")}, CAST(NULL AS DATE) AS dt, CAST(NULL AS BIGINT) AS hour WHERE false`;
    }
    const files = quote(join(cacheDir, LAKE_PREFIX, dataset, "*", "*", "*.parquet"));
    // Producer retries can store a record twice (same id, two objects): keep one.
    return `CREATE VIEW ${dataset} AS SELECT * EXCLUDE (ticklake_copy) FROM (
      SELECT *, row_number() OVER (PARTITION BY id ORDER BY ts) AS ticklake_copy
      FROM read_parquet(${files}, hive_partitioning = true)) WHERE ticklake_copy = 1`;
  });
  statements.push(
    present.has("quarantine")
      ? `CREATE VIEW quarantine AS SELECT * FROM read_json(${quote(join(cacheDir, QUARANTINE_PREFIX, "*", "*", "*", "*.jsonl.gz"))}, format = 'newline_delimited', hive_partitioning = true, union_by_name = true)`
      : "CREATE VIEW quarantine AS SELECT NULL AS reason, NULL AS violations, NULL AS source, NULL AS raw WHERE false",
  );
  return statements;
}

export interface QueryOptions {
  /**
   * For SQL from a web page: after the views are made, DuckDB may read only the mirror and
   * may not change that setting, so a query can neither read other files nor write any.
   */
  sandboxed?: boolean;
}

export async function runQuery(
  s3: S3Client,
  bucket: string,
  sql: string,
  cacheDir: string,
  options: QueryOptions = {},
): Promise<QueryResult> {
  await mkdir(cacheDir, { recursive: true });
  const lake = await mirrorObjects(s3, bucket, LAKE_PREFIX, cacheDir);
  const quarantine = await mirrorObjects(s3, bucket, QUARANTINE_PREFIX, cacheDir);
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const present = new Set<string>();
    for (const dataset of DATASETS) {
      const found = await connection.runAndReadAll(
        `SELECT count(*) AS n FROM glob(${quote(join(cacheDir, LAKE_PREFIX, dataset, "*", "*", "*.parquet"))})`,
      );
      if (Number(found.getRowObjectsJS()[0]?.n ?? 0) > 0) present.add(dataset);
    }
    if (quarantine.listed > 0) present.add("quarantine");
    for (const statement of viewStatements(cacheDir, present)) await connection.run(statement);
    if (options.sandboxed) {
      await connection.run(`SET allowed_directories = [${quote(`${cacheDir}/`)}]`);
      await connection.run("SET enable_external_access = false");
      await connection.run("SET lock_configuration = true");
    }
    const reader = await connection.runAndReadAll(sql);
    return {
      columns: reader.columnNames(),
      rows: reader.getRowsJson() as unknown[][],
      mirrored: {
        listed: lake.listed + quarantine.listed,
        downloaded: lake.downloaded + quarantine.downloaded,
      },
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

export function formatResult(result: QueryResult, format: "table" | "json" | "csv"): string {
  if (format === "json") {
    return result.rows
      .map((row) => JSON.stringify(Object.fromEntries(result.columns.map((c, i) => [c, row[i]]))))
      .join("\n");
  }
  if (format === "csv") {
    const csvField = (text: string) => (/[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);
    return [result.columns, ...result.rows.map((row) => row.map(cell))]
      .map((row) => row.map(csvField).join(","))
      .join("\n");
  }
  const table = [result.columns, ...result.rows.map((row) => row.map(cell))];
  const widths = result.columns.map((_, i) => Math.max(...table.map((row) => (row[i] ?? "").length)));
  const line = (row: string[]) =>
    row
      .map((text, i) => text.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [
    line(table[0] ?? []),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...table.slice(1).map(line),
    `(${result.rows.length} rows)`,
  ].join("\n");
}
