/**
 * The lake's table schemas, derived from the zod event schemas (DESIGN §2): one column per
 * leaf field, `data` flattened to the top and other objects prefixed (`source_service`).
 * The Parquet writer, the docs and the Glue tables all read these; none is written by hand.
 */
import { z } from "zod";
import { columnHints, DATASET_OF, type Dataset, Envelope, type EventType } from "./events.ts";

export type ColumnType =
  | { kind: "string" }
  | { kind: "timestamp_ms" }
  | { kind: "decimal"; precision: 18; scale: number }
  | { kind: "int32" }
  | { kind: "int64" }
  | { kind: "float64" }
  | { kind: "boolean" }
  | { kind: "string_list" };

export interface Column {
  name: string;
  /** Where the value sits in an envelope, e.g. ["data", "bid"]. */
  path: readonly string[];
  type: ColumnType;
  /** From the zod schema's `.describe()`. */
  description: string;
}

/** Envelope fields with no column: the dataset says the type. */
const OMITTED = new Set(["type"]);

interface ZodInternals {
  _zod: {
    def: {
      type: string;
      shape?: Record<string, z.ZodType>;
      element?: z.ZodType;
      values?: unknown[];
      format?: string;
    };
  };
}

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

function leafType(schema: z.ZodType, where: string): ColumnType {
  const internals = schema as unknown as ZodInternals;
  const { def } = internals._zod;
  const hint = columnHints.get(schema);
  switch (def.type) {
    case "string":
      return def.format === "datetime" ? { kind: "timestamp_ms" } : { kind: "string" };
    case "enum":
      return { kind: "string" };
    case "boolean":
      return { kind: "boolean" };
    case "number":
      if (hint) return { kind: "decimal", precision: 18, scale: hint.decimalPlaces };
      return def.format === "safeint" || def.format === "int32" ? { kind: "int64" } : { kind: "float64" };
    case "literal":
      if (def.values?.every((value) => typeof value === "number")) return { kind: "int32" };
      return { kind: "string" };
    case "array": {
      const element = def.element ? leafType(def.element, `${where}[]`) : undefined;
      if (element?.kind === "string") return { kind: "string_list" };
      break;
    }
  }
  throw new Error(`no lake column type for ${where} (zod type ${def.type})`);
}

function collect(schema: z.ZodType, path: string[], prefix: string, out: Column[]): void {
  const { def } = (schema as unknown as ZodInternals)._zod;
  if (def.type === "object" && def.shape) {
    for (const [key, child] of Object.entries(def.shape)) {
      if (path.length === 0 && OMITTED.has(key)) continue;
      // `data` is flattened to the top level; other objects prefix their fields.
      const childPrefix = path.length === 0 && key === "data" ? "" : `${prefix}${snakeCase(key)}_`;
      if ((child as unknown as ZodInternals)._zod.def.type === "object") {
        collect(child, [...path, key], childPrefix, out);
      } else {
        out.push({
          name: `${prefix}${snakeCase(key)}`,
          path: [...path, key],
          type: leafType(child, [...path, key].join(".")),
          description: z.globalRegistry.get(child)?.description ?? "",
        });
      }
    }
    return;
  }
  throw new Error(`expected an object schema at ${path.join(".") || "$"}`);
}

function schemaOf(type: EventType): z.ZodType {
  const option = Envelope.options.find((candidate) => candidate.shape.type.value === type);
  if (!option) throw new Error(`no schema for event type ${type}`);
  return option;
}

/** Columns of a dataset's table, in schema order. */
export function columnsOf(dataset: Dataset): Column[] {
  const type = (Object.keys(DATASET_OF) as EventType[]).find(
    (candidate) => DATASET_OF[candidate] === dataset,
  );
  if (!type) throw new Error(`unknown dataset ${dataset}`);
  const columns: Column[] = [];
  collect(schemaOf(type), [], "", columns);
  const names = new Set(columns.map((column) => column.name));
  if (names.size !== columns.length) throw new Error(`column names collide in ${dataset}`);
  return columns;
}

/** The SQL type of a column, as DuckDB and Athena (Hive DDL) write it. */
export function sqlTypeOf(type: ColumnType, dialect: "duckdb" | "hive"): string {
  switch (type.kind) {
    case "string":
      return dialect === "hive" ? "string" : "VARCHAR";
    case "timestamp_ms":
      return dialect === "hive" ? "timestamp" : "TIMESTAMP WITH TIME ZONE";
    case "decimal":
      return dialect === "hive"
        ? `decimal(${type.precision},${type.scale})`
        : `DECIMAL(${type.precision},${type.scale})`;
    case "int32":
      return dialect === "hive" ? "int" : "INTEGER";
    case "int64":
      return dialect === "hive" ? "bigint" : "BIGINT";
    case "float64":
      return dialect === "hive" ? "double" : "DOUBLE";
    case "boolean":
      return dialect === "hive" ? "boolean" : "BOOLEAN";
    case "string_list":
      return dialect === "hive" ? "array<string>" : "VARCHAR[]";
  }
}
