/**
 * `ticklake query "SQL"` and the dashboard's query box: DuckDB over the lake. Objects are
 * mirrored through the S3 API into a local cache (new objects only: keys never change), then
 * every dataset is a view, deduplicated on `id`, with the `dt` and `hour` partition columns.
 *
 * Only one read-only SELECT runs, decided by the statement type DuckDB reports for the parsed
 * and bound statement, never by matching text; DuckDB reads nothing but the mirror, loads no
 * extension, cannot change its settings, and is bounded in time, threads and memory.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBPreparedStatement,
  StatementType,
} from "@duckdb/node-api";
import { mirrorObjects } from "../aws/lake-mirror.ts";
import { columnsOf, sqlTypeOf } from "../core/columns.ts";
import { TicklakeError } from "../core/errors.ts";
import { DATASETS, type Dataset } from "../core/events.ts";
import { LAKE_PREFIX, QUARANTINE_PREFIX } from "../core/layout.ts";
import { QueryFailedError, QueryRefusedError, QueryTimeoutError } from "./errors.ts";

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
  mirrored: { listed: number; downloaded: number };
}

/** What bounds one query, so that it cannot starve the pipeline it runs beside. */
export interface QueryLimits {
  /** Past this, the query is interrupted and fails with a QueryTimeoutError. */
  timeoutMs: number;
  /** DuckDB's worker threads. @default 1, leaving the other cores to the pipeline */
  threads?: number;
  /**
   * DuckDB's `memory_limit`; a query that needs more fails (nothing spills to disk).
   * @default "1GB"
   * @see https://duckdb.org/docs/stable/configuration/overview
   */
  memoryLimit?: string;
}

const DEFAULT_THREADS = 1;
const DEFAULT_MEMORY_LIMIT = "1GB";

/** Statements that may run: SELECT, and what DuckDB turns into one (DESCRIBE, SHOW, SUMMARIZE, PRAGMA table_info). */
const ALLOWED = new Set<StatementType>([StatementType.SELECT]);
const ALLOWED_TEXT =
  "one read-only SELECT over the lake: SELECT, WITH … SELECT, VALUES, DESCRIBE, SHOW, SUMMARIZE and PRAGMA table_info are allowed; nothing that writes files, changes tables or settings, attaches or loads";

const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** The columns of a dataset's view, as a SELECT of no rows: the view before any object exists. */
function emptyDataset(dataset: Dataset): string {
  const columns = columnsOf(dataset).map(
    (c) => `CAST(NULL AS ${sqlTypeOf(c.type, "duckdb")}) AS "${c.name}"`,
  );
  return `SELECT ${columns.join(", ")}, CAST(NULL AS DATE) AS dt, CAST(NULL AS BIGINT) AS hour WHERE false`;
}

const EMPTY_QUARANTINE = "SELECT NULL AS reason, NULL AS violations, NULL AS source, NULL AS raw WHERE false";

/** The views every query sees: one per dataset, and `quarantine`. */
export function viewStatements(cacheDir: string, present: ReadonlySet<string>): string[] {
  const statements = DATASETS.map((dataset) => {
    // No objects yet: an empty view with the same columns keeps queries valid.
    if (!present.has(dataset)) return `CREATE VIEW ${dataset} AS ${emptyDataset(dataset)}`;
    const files = quote(join(cacheDir, LAKE_PREFIX, dataset, "*", "*", "*.parquet"));
    // Producer retries can store a record twice (same id, two objects): keep one.
    return `CREATE VIEW ${dataset} AS SELECT * EXCLUDE (ticklake_copy) FROM (
      SELECT *, row_number() OVER (PARTITION BY id ORDER BY ts) AS ticklake_copy
      FROM read_parquet(${files}, hive_partitioning = true)) WHERE ticklake_copy = 1`;
  });
  statements.push(
    present.has("quarantine")
      ? `CREATE VIEW quarantine AS SELECT * FROM read_json(${quote(join(cacheDir, QUARANTINE_PREFIX, "*", "*", "*", "*.jsonl.gz"))}, format = 'newline_delimited', hive_partitioning = true, union_by_name = true)`
      : `CREATE VIEW quarantine AS ${EMPTY_QUARANTINE}`,
  );
  return statements;
}

/** Settings of every query's database: no extension is fetched or loaded, nothing spills to disk. */
function databaseConfig(limits: Omit<QueryLimits, "timeoutMs">): Record<string, string> {
  return {
    threads: String(limits.threads ?? DEFAULT_THREADS),
    memory_limit: limits.memoryLimit ?? DEFAULT_MEMORY_LIMIT,
    temp_directory: "",
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
  };
}

/**
 * Runs one read-only SELECT over the lake in `bucket`, mirrored into `cacheDir`. Throws a
 * QueryRefusedError for anything else, a QueryTimeoutError past `limits.timeoutMs`, and a
 * QueryFailedError (with where and what to fix) when DuckDB cannot parse, bind or run it.
 */
export async function runQuery(
  s3: S3Client,
  bucket: string,
  sql: string,
  cacheDir: string,
  limits: QueryLimits,
): Promise<QueryResult> {
  await mkdir(cacheDir, { recursive: true });
  const lake = await mirrorObjects(s3, bucket, LAKE_PREFIX, cacheDir);
  const quarantine = await mirrorObjects(s3, bucket, QUARANTINE_PREFIX, cacheDir);
  const instance = await DuckDBInstance.create(":memory:", databaseConfig(limits));
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
    // From here on DuckDB may read only the mirror, and no statement may change that.
    await connection.run(`SET allowed_directories = [${quote(`${cacheDir}/`)}]`);
    await connection.run("SET enable_external_access = false");
    await connection.run("SET lock_configuration = true");
    const { columns, rows } = await runReadOnly(connection, sql, limits);
    return {
      columns,
      rows,
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

/** Prepares and runs `sql` if it is one SELECT, interrupting it at the time limit. */
async function runReadOnly(
  connection: DuckDBConnection,
  sql: string,
  limits: QueryLimits,
): Promise<{ columns: string[]; rows: unknown[][] }> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    connection.interrupt();
  }, limits.timeoutMs);
  try {
    const statement = await readOnlyStatement(connection, sql, limits);
    try {
      // An interrupt while DuckDB was binding may not reach the run that follows.
      if (timedOut) throw new Error("interrupted before it ran");
      const reader = await statement.runAndReadAll();
      return { columns: reader.columnNames(), rows: reader.getRowsJson() as unknown[][] };
    } finally {
      statement.destroySync();
    }
  } catch (error) {
    if (timedOut) {
      throw new QueryTimeoutError(
        `the query ran past its ${limits.timeoutMs / 1000} s limit and was interrupted: narrow it (a WHERE on dt and hour, a LIMIT), or allow more time with \`ticklake query --timeout <seconds>\``,
        { cause: error },
      );
    }
    throw error instanceof TicklakeError ? error : sqlFailure(error, limits);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The prepared statement, if `sql` is exactly one statement of an allowed type. DuckDB reports
 * a statement's type once it is bound; a write into a view does not bind here (a view takes no
 * rows), so its type comes from a stand-in database where the datasets are tables.
 */
async function readOnlyStatement(
  connection: DuckDBConnection,
  sql: string,
  limits: QueryLimits,
): Promise<DuckDBPreparedStatement> {
  const extracted = await connection.extractStatements(sql).catch((error: unknown) => {
    // The bindings fail without a DuckDB error class where the text holds no statement at all.
    if (duckErrorKind(error) === undefined)
      throw new QueryRefusedError(`only ${ALLOWED_TEXT} (got no statement)`);
    throw sqlFailure(error, limits);
  });
  if (extracted.count !== 1)
    throw new QueryRefusedError(`only ${ALLOWED_TEXT} (got ${extracted.count} statements)`);
  let prepared: DuckDBPreparedStatement;
  try {
    prepared = await extracted.prepare(0);
  } catch (error) {
    if (duckErrorKind(error) === "Permission") {
      throw new QueryRefusedError(
        `queries may read only the lake's mirror and write nothing (${firstLine(error)})`,
        { cause: error },
      );
    }
    const type = await standInStatementType(sql);
    if (type !== undefined && !ALLOWED.has(type)) throw refusal(type);
    throw sqlFailure(error, limits);
  }
  if (!ALLOWED.has(prepared.statementType)) {
    const type = prepared.statementType;
    prepared.destroySync();
    throw refusal(type);
  }
  return prepared;
}

const refusal = (type: StatementType) =>
  new QueryRefusedError(`only ${ALLOWED_TEXT} (got a statement of type ${StatementType[type]})`);

/** The type DuckDB gives `sql` in a sealed database whose datasets are empty tables, if it binds there. */
async function standInStatementType(sql: string): Promise<StatementType | undefined> {
  const instance = await DuckDBInstance.create(":memory:", {
    ...databaseConfig({}),
    enable_external_access: "false",
  });
  const connection = await instance.connect();
  try {
    for (const dataset of DATASETS)
      await connection.run(`CREATE TABLE ${dataset} AS ${emptyDataset(dataset)}`);
    await connection.run(`CREATE TABLE quarantine AS ${EMPTY_QUARANTINE}`);
    const extracted = await connection.extractStatements(sql);
    const prepared = await extracted.prepare(0);
    const type = prepared.statementType;
    prepared.destroySync();
    return type;
  } catch {
    return undefined;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const messageOf = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).replace(/^Failed to extract statements: /, "");
const firstLine = (error: unknown) => messageOf(error).split("\n")[0] ?? "";

/** DuckDB's error class: "Parser", "Catalog", "Binder", "Permission", "Out of Memory", … */
function duckErrorKind(error: unknown): string | undefined {
  return /^([A-Za-z][A-Za-z ]*?) Error: /.exec(messageOf(error))?.[1];
}

/** DuckDB's error as one line: its message, where in the SQL, its suggestion, and what to do. */
function sqlFailure(error: unknown, limits: QueryLimits): QueryFailedError {
  const lines = messageOf(error).split("\n");
  const head = lines[0] ?? "";
  // DuckDB points at the token: "LINE 1: SELEC 1" and a caret under it.
  const at = lines.findIndex((line) => /^LINE \d+: /.test(line));
  let where = "";
  if (at >= 0) {
    const prefix = /^LINE (\d+): /.exec(lines[at] ?? "");
    const caret = lines[at + 1]?.indexOf("^") ?? -1;
    if (prefix && caret >= 0) where = ` (line ${prefix[1]}, column ${caret - prefix[0].length + 1})`;
  }
  const suggestion = lines.find((line) => line.startsWith("Did you mean"));
  const advice: Record<string, string> = {
    Parser: "fix the SQL near that token",
    Catalog: `the views are ${DATASETS.join(", ")} and quarantine (\`ticklake schema\` lists their columns)`,
    Binder: "`ticklake schema` lists the views' columns",
    "Out of Memory": `the query needs more than ${limits.memoryLimit ?? DEFAULT_MEMORY_LIMIT} of memory: aggregate, select fewer columns, or narrow it by dt and hour`,
  };
  const todo = advice[duckErrorKind(error) ?? ""];
  return new QueryFailedError(
    `${head.replace(/[.!]$/, "")}${where}${suggestion ? ` (${suggestion.trim()})` : ""}${todo ? `: ${todo}` : ""}`,
    { cause: error },
  );
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
