/**
 * Reads lake objects with DuckDB, an independent Parquet reader, back into envelopes, so tests
 * compare exactly what was sent with exactly what the lake holds.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { type Column, columnsOf } from "../../src/core/columns.ts";
import { DATASET_OF, type Dataset, type Envelope, type EventType } from "../../src/core/events.ts";

function selectExpression(column: Column): string {
  const name = `"${column.name}"`;
  switch (column.type.kind) {
    case "timestamp_ms":
      return `CAST(epoch_ms(${name}) AS DOUBLE) AS ${name}`;
    case "decimal":
    case "int64":
      return `CAST(${name} AS DOUBLE) AS ${name}`;
    default:
      return name;
  }
}

function typeOf(dataset: Dataset): EventType {
  const type = (Object.keys(DATASET_OF) as EventType[]).find(
    (candidate) => DATASET_OF[candidate] === dataset,
  );
  if (!type) throw new Error(`unknown dataset ${dataset}`);
  return type;
}

/** The DuckDB column names and types of a Parquet file. */
export async function parquetSchema(bytes: Uint8Array): Promise<Array<{ name: string; type: string }>> {
  return withFile(bytes, async (path, connection) => {
    const reader = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${path}')`);
    return reader
      .getRowObjectsJS()
      .map((row) => ({ name: String(row.column_name), type: String(row.column_type) }));
  });
}

function envelopeOfRow(dataset: Dataset, columns: Column[], row: Record<string, unknown>): Envelope {
  const envelope: Record<string, unknown> = { type: typeOf(dataset) };
  for (const column of columns) {
    let value = row[column.name];
    if (column.type.kind === "timestamp_ms") value = new Date(Number(value)).toISOString();
    let target = envelope;
    for (const key of column.path.slice(0, -1)) {
      target[key] ??= {};
      target = target[key] as Record<string, unknown>;
    }
    target[column.path[column.path.length - 1] as string] = value;
  }
  return envelope as unknown as Envelope;
}

/** Every row of a lake object, rebuilt as the envelope it was written from. */
export async function parquetEnvelopes(dataset: Dataset, bytes: Uint8Array): Promise<Envelope[]> {
  const columns = columnsOf(dataset);
  return withFile(bytes, async (path, connection) => {
    const reader = await connection.runAndReadAll(
      `SELECT ${columns.map(selectExpression).join(", ")} FROM read_parquet('${path}')`,
    );
    return reader.getRowObjectsJS().map((row) => envelopeOfRow(dataset, columns, row));
  });
}

/**
 * Reads many lake objects of any datasets at once, one DuckDB query per dataset over all its
 * files, and says which object each envelope came from.
 */
export async function lakeEnvelopes(
  objects: ReadonlyArray<{ key: string; bytes: Uint8Array }>,
): Promise<Array<{ key: string; event: Envelope }>> {
  const dir = await mkdtemp(join(tmpdir(), "ticklake-lake-"));
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const keyOfFile = new Map<string, string>();
    const datasets = new Set<Dataset>();
    for (const [index, object] of objects.entries()) {
      const dataset = object.key.split("/")[1] as Dataset;
      datasets.add(dataset);
      const path = join(dir, `${dataset}-${index}.parquet`);
      await writeFile(path, object.bytes);
      keyOfFile.set(path, object.key);
    }
    const out: Array<{ key: string; event: Envelope }> = [];
    for (const dataset of datasets) {
      const columns = columnsOf(dataset);
      const reader = await connection.runAndReadAll(
        `SELECT filename, ${columns.map(selectExpression).join(", ")} FROM read_parquet('${join(dir, `${dataset}-*.parquet`)}', filename = true)`,
      );
      for (const row of reader.getRowObjectsJS()) {
        out.push({
          key: keyOfFile.get(String(row.filename)) ?? "",
          event: envelopeOfRow(dataset, columns, row),
        });
      }
    }
    return out;
  } finally {
    connection.closeSync();
    instance.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}

async function withFile<T>(
  bytes: Uint8Array,
  use: (path: string, connection: Awaited<ReturnType<DuckDBInstance["connect"]>>) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "ticklake-parquet-"));
  const path = join(dir, "object.parquet");
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    await writeFile(path, bytes);
    return await use(path, connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}
