/**
 * `ticklake query "SQL"` and the dashboard's query box: DuckDB over the lake's tables. Each
 * dataset is a view over exactly the data files its table's snapshot lists — the current one,
 * or the one current at `asOfMs` — deduplicated on `id`, with `dt` and `hour` derived from
 * `ts`; `quarantine` is a view over the quarantine objects; `table_snapshots` and
 * `table_files` say which snapshots and files there are and which ones the views read. Files
 * are mirrored through the S3 API into a local cache (names of table files are never reused,
 * so each is fetched once). Objects no commit has added yet are not read: the table is what
 * the lake holds. A dataset without a table (a lake written before the table layer) is read
 * from its raw objects instead, and the result's `notes` say so.
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
  timestampTZValue,
} from "@duckdb/node-api";
import type { AwsClients } from "../aws/clients.ts";
import { FileMirror, listObjectPages, mirrorObjects } from "../aws/lake-mirror.ts";
import { type TableLayerOptions, tableDeps } from "../aws/tables.ts";
import { columnsOf, sqlTypeOf } from "../core/columns.ts";
import { TicklakeError } from "../core/errors.ts";
import { DATASETS, type Dataset } from "../core/events.ts";
import { COMPACTED_SORT_ORDER_ID } from "../core/iceberg/compaction.ts";
import { SnapshotNotFoundError } from "../core/iceberg/errors.ts";
import { firstSnapshot, scanTable, type TableScan } from "../core/iceberg/scan.ts";
import type { Catalog } from "../core/iceberg/table-ops.ts";
import { LAKE_PREFIX, QUARANTINE_PREFIX } from "../core/layout.ts";
import { QueryFailedError, QueryRefusedError, QueryTimeoutError } from "./errors.ts";

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
  /** What the reader should know about what was read: a dataset read without its table, and why. */
  notes: string[];
  /**
   * Where the time went: planning (the tables' snapshots and manifests, the files mirrored
   * or found in the mirror) and running (DuckDB creating the views and running the SQL).
   */
  timings: { planMs: number; runMs: number };
  /** Files the query's views read (table data files and quarantine objects), and how many were fetched now. */
  mirrored: { listed: number; downloaded: number };
}

/** Where a query reads: the datasets' tables and the quarantine objects, through the S3 API. */
export interface QuerySource {
  s3: S3Client;
  /** The lake bucket, where the quarantine objects are. */
  bucket: string;
  /** The tables' catalog, and the namespace (Glue database) that holds one table per dataset. */
  tables: { catalog: Catalog; namespace: string };
  /** Where files are mirrored for DuckDB; nothing else is readable to a query. */
  cacheDir: string;
}

/** The query source of a lake: its bucket, its table layer (`tableDeps`), a cache folder. */
export function querySource(
  clients: AwsClients,
  bucket: string,
  tables: TableLayerOptions,
  cacheDir: string,
): QuerySource {
  return {
    s3: clients.s3,
    bucket,
    tables: { catalog: tableDeps(clients, tables).catalog, namespace: tables.namespace },
    cacheDir,
  };
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

export interface QueryOptions extends QueryLimits {
  /**
   * Read each table as it was at this time (epoch ms): the snapshot its snapshot log shows as
   * current then. @default the current snapshot
   */
  asOfMs?: number;
}

const DEFAULT_THREADS = 1;
const DEFAULT_MEMORY_LIMIT = "1GB";

/** Statements that may run: SELECT, and what DuckDB turns into one (DESCRIBE, SHOW, SUMMARIZE, PRAGMA table_info). */
const ALLOWED = new Set<StatementType>([StatementType.SELECT]);
const ALLOWED_TEXT =
  "one read-only SELECT over the lake: SELECT, WITH … SELECT, VALUES, DESCRIBE, SHOW, SUMMARIZE and PRAGMA table_info are allowed; nothing that writes files, changes tables or settings, attaches or loads";

const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** `dt` and `hour`, the UTC date and hour of `ts`, as the lake's partition columns always were. */
const PARTITION_COLUMNS = `CAST(timezone('UTC', ts) AS DATE) AS dt, hour(timezone('UTC', ts)) AS hour`;

/** The columns of a dataset's view, as a SELECT of no rows: the view of a table with no files. */
function emptyDataset(dataset: Dataset): string {
  const columns = columnsOf(dataset).map(
    (c) => `CAST(NULL AS ${sqlTypeOf(c.type, "duckdb")}) AS "${c.name}"`,
  );
  return `SELECT ${columns.join(", ")}, CAST(NULL AS DATE) AS dt, CAST(NULL AS BIGINT) AS hour WHERE false`;
}

const EMPTY_QUARANTINE = "SELECT NULL AS reason, NULL AS violations, NULL AS source, NULL AS raw WHERE false";

/** The tables that describe what the views read (Athena's `$snapshots` and `$files`, in short). */
const METADATA_TABLES = {
  table_snapshots: `table_name VARCHAR, snapshot_id BIGINT, parent_id BIGINT, committed_at TIMESTAMPTZ, operation VARCHAR, total_records BIGINT, total_files BIGINT, queried BOOLEAN`,
  table_files: `table_name VARCHAR, snapshot_id BIGINT, path VARCHAR, ts_hour TIMESTAMPTZ, records BIGINT, bytes BIGINT, compacted BOOLEAN`,
} as const;

/**
 * The view of a dataset: the contract's columns of exactly `files` (local paths of the
 * snapshot's data files), deduplicated on `id`, with `dt` and `hour`; empty without files.
 */
export function datasetView(dataset: Dataset, files: readonly string[]): string {
  if (files.length === 0) return `CREATE VIEW ${dataset} AS ${emptyDataset(dataset)}`;
  const columns = columnsOf(dataset)
    .map((c) => `"${c.name}"`)
    .join(", ");
  // Hours not yet compacted can hold a producer's re-send (same id, two files): keep one.
  return `CREATE VIEW ${dataset} AS SELECT ${columns}, ${PARTITION_COLUMNS} FROM (
      SELECT ${columns}, row_number() OVER (PARTITION BY id ORDER BY ts) AS ticklake_copy
      FROM read_parquet([${files.map(quote).join(", ")}], hive_partitioning = false)) WHERE ticklake_copy = 1`;
}

/** The quarantine view over the mirrored quarantine objects under `dir`, or an empty one. */
function quarantineView(dir: string | undefined): string {
  if (dir === undefined) return `CREATE VIEW quarantine AS ${EMPTY_QUARANTINE}`;
  const files = quote(join(dir, QUARANTINE_PREFIX, "*", "*", "*", "*.jsonl.gz"));
  return `CREATE VIEW quarantine AS SELECT * FROM read_json(${files}, format = 'newline_delimited', hive_partitioning = true, union_by_name = true)`;
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

const HOUR_MICROS = 3_600_000_000n;

/** Fills `table_snapshots` and `table_files` from the scans. */
async function describeScans(connection: DuckDBConnection, scans: readonly TableScan[]): Promise<void> {
  for (const [name, columns] of Object.entries(METADATA_TABLES))
    await connection.run(`CREATE TABLE ${name} (${columns})`);
  const snapshots = await connection.createAppender("table_snapshots");
  const files = await connection.createAppender("table_files");
  const bigintOrNull = (appender: typeof files, value: bigint | undefined) =>
    value === undefined ? appender.appendNull() : appender.appendBigInt(value);
  for (const scan of scans) {
    for (const snapshot of scan.metadata.snapshots) {
      snapshots.appendVarchar(scan.table.name);
      snapshots.appendBigInt(snapshot["snapshot-id"]);
      bigintOrNull(snapshots, snapshot["parent-snapshot-id"]);
      snapshots.appendTimestampTZ(timestampTZValue(BigInt(snapshot["timestamp-ms"]) * 1000n));
      snapshots.appendVarchar(snapshot.summary.operation);
      bigintOrNull(snapshots, toBigInt(snapshot.summary["total-records"]));
      bigintOrNull(snapshots, toBigInt(snapshot.summary["total-data-files"]));
      snapshots.appendBoolean(snapshot === scan.snapshot);
      snapshots.endRow();
    }
    for (const file of scan.files) {
      files.appendVarchar(scan.table.name);
      bigintOrNull(files, scan.snapshot?.["snapshot-id"]);
      files.appendVarchar(file.filePath);
      files.appendTimestampTZ(timestampTZValue(BigInt(file.tsHour) * HOUR_MICROS));
      files.appendBigInt(BigInt(file.recordCount));
      files.appendBigInt(BigInt(file.fileSizeInBytes));
      files.appendBoolean(file.sortOrderId === COMPACTED_SORT_ORDER_ID);
      files.endRow();
    }
  }
  snapshots.closeSync();
  files.closeSync();
}

const toBigInt = (text: string | undefined) =>
  text !== undefined && /^\d+$/.test(text) ? BigInt(text) : undefined;

/** The views a query may read, beside the datasets: the quarantine and the tables' metadata. */
const OTHER_RELATIONS = ["quarantine", "table_snapshots", "table_files"] as const;
type Relation = Dataset | (typeof OTHER_RELATIONS)[number];

/**
 * The views `sql` may read, from DuckDB's parse tree (`json_serialize_sql`): every name in it
 * that is a view's, so that a query of one table plans, mirrors and reads only that one. A
 * name is kept wherever it appears (a CTE or a string of that name adds a view, never
 * removes one); `table_snapshots` and `table_files` describe every table, so they need all;
 * and SQL DuckDB does not serialize (PRAGMA, SHOW, a syntax error) gets every view.
 */
async function relationsNamedIn(connection: DuckDBConnection, sql: string): Promise<Set<Relation>> {
  const all = new Set<Relation>([...DATASETS, ...OTHER_RELATIONS]);
  const reader = await connection.runAndReadAll(`SELECT json_serialize_sql(${quote(sql)}) AS tree`);
  const tree = JSON.parse(String(reader.getRowObjectsJS()[0]?.tree ?? "{}")) as { error?: boolean };
  if (tree.error !== false) return all;
  const named = new Set<Relation>();
  const walk = (node: unknown): void => {
    if (typeof node === "string") {
      // Identifiers are case-insensitive: FROM FX_Quotes reads fx_quotes.
      const name = node.toLowerCase() as Relation;
      if (all.has(name)) named.add(name);
    } else if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === "object") Object.values(node).forEach(walk);
  };
  walk(tree);
  return named.has("table_snapshots") || named.has("table_files") ? all : named;
}

/**
 * The scan of each of `datasets` that has a table, at `asOfMs` (or now). With a time, fails
 * with a SnapshotNotFoundError naming `--as-of` when none of them had a snapshot yet then, or
 * when one keeps no snapshot that old (expiry removed it).
 */
async function scanTables(
  source: QuerySource,
  mirror: FileMirror,
  datasets: readonly Dataset[],
  asOfMs: number | undefined,
): Promise<Map<Dataset, TableScan>> {
  const asOf = asOfMs === undefined ? "" : new Date(asOfMs).toISOString();
  const scans = new Map<Dataset, TableScan>();
  try {
    for (const dataset of datasets) {
      const scan = await scanTable(
        { catalog: source.tables.catalog, io: mirror },
        { namespace: source.tables.namespace, name: dataset },
        asOfMs,
      );
      if (scan) scans.set(dataset, scan);
    }
  } catch (error) {
    if (!(error instanceof SnapshotNotFoundError)) throw error;
    throw new SnapshotNotFoundError(`--as-of ${asOf}: ${error.message}`, { cause: error });
  }
  if (asOfMs === undefined || datasets.length === 0 || [...scans.values()].some((scan) => scan.snapshot))
    return scans;
  const first = firstSnapshot([...scans.values()]);
  throw new SnapshotNotFoundError(
    first
      ? `--as-of ${asOf} is before the first snapshot of the tables the query reads (${first.table}, committed at ${new Date(first.ms).toISOString()}): allowed is a time from then on`
      : `--as-of ${asOf}: ${datasets.join(", ")} ${datasets.length === 1 ? "has" : "have"} no ${scans.size === 0 ? "table" : "snapshot"} yet in namespace ${source.tables.namespace}, so there is no past to read: query without --as-of`,
  );
}

/** The lake objects of a dataset (`lake/<dataset>/`), as files to mirror. */
async function rawObjectsOf(
  source: QuerySource,
  dataset: Dataset,
): Promise<Array<{ uri: string; bytes: number }>> {
  const objects: Array<{ uri: string; bytes: number }> = [];
  for await (const page of listObjectPages(source.s3, source.bucket, `${LAKE_PREFIX}${dataset}/`))
    for (const object of page)
      objects.push({ uri: `s3://${source.bucket}/${object.key}`, bytes: object.size });
  return objects;
}

/**
 * Runs one read-only SELECT over the lake's tables (each at its current snapshot, or as of
 * `options.asOfMs`) and quarantine, mirrored into `source.cacheDir`. Throws a
 * QueryRefusedError for anything else, a QueryTimeoutError past `options.timeoutMs`, a
 * SnapshotNotFoundError when a table keeps no snapshot as old as `asOfMs`, and a
 * QueryFailedError (with where and what to fix) when DuckDB cannot parse, bind or run it.
 */
export async function runQuery(
  source: QuerySource,
  sql: string,
  options: QueryOptions,
): Promise<QueryResult> {
  const started = performance.now();
  await mkdir(source.cacheDir, { recursive: true });
  const instance = await DuckDBInstance.create(":memory:", databaseConfig(options));
  const connection = await instance.connect();
  try {
    const reads = await relationsNamedIn(connection, sql);
    const mirror = new FileMirror(source.s3, source.cacheDir);
    const datasets = DATASETS.filter((dataset) => reads.has(dataset));
    const scans = await scanTables(source, mirror, datasets, options.asOfMs);
    const paths = new Map<string, string[]>();
    const notes: string[] = [];
    for (const dataset of datasets) {
      const scan = scans.get(dataset);
      if (scan) {
        paths.set(
          dataset,
          await mirror.fetchAll(
            scan.files.map((file) => ({ uri: file.filePath, bytes: file.fileSizeInBytes })),
          ),
        );
      } else if (options.asOfMs === undefined) {
        // A lake written before the table layer: its objects are all there is to read.
        const objects = await rawObjectsOf(source, dataset);
        if (objects.length > 0) {
          paths.set(dataset, await mirror.fetchAll(objects));
          notes.push(
            `${dataset} has no table yet: read from its ${objects.length} raw objects under ${LAKE_PREFIX}${dataset}/`,
          );
        }
      } else notes.push(`${dataset} has no table: it had no rows at --as-of`);
    }
    // Quarantine objects are not table files: the view reads every one there is.
    const quarantineDir = join(source.cacheDir, source.bucket);
    const quarantine = reads.has("quarantine")
      ? await mirrorObjects(source.s3, source.bucket, QUARANTINE_PREFIX, quarantineDir)
      : { listed: 0, downloaded: 0 };
    const planned = performance.now();
    for (const dataset of DATASETS) await connection.run(datasetView(dataset, paths.get(dataset) ?? []));
    await connection.run(quarantineView(quarantine.listed > 0 ? quarantineDir : undefined));
    await describeScans(connection, [...scans.values()]);
    // From here on DuckDB may read only the mirror, and no statement may change that.
    await connection.run(`SET allowed_directories = [${quote(`${source.cacheDir}/`)}]`);
    await connection.run("SET enable_external_access = false");
    await connection.run("SET lock_configuration = true");
    const { columns, rows } = await runReadOnly(connection, sql, options);
    const tableFiles = [...paths.values()].reduce((sum, list) => sum + list.length, 0);
    return {
      columns,
      rows,
      notes,
      timings: { planMs: Math.round(planned - started), runMs: Math.round(performance.now() - planned) },
      mirrored: {
        listed: tableFiles + quarantine.listed,
        downloaded: mirror.downloaded + quarantine.downloaded,
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
    for (const [name, columns] of Object.entries(METADATA_TABLES))
      await connection.run(`CREATE TABLE ${name} (${columns})`);
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
    Catalog: `the views are ${DATASETS.join(", ")} and quarantine, beside table_snapshots and table_files (\`ticklake schema\` lists their columns)`,
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
