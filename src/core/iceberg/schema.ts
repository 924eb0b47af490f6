/**
 * A dataset's Iceberg schema, partition spec and sort order, derived from the zod contract
 * through `columnsOf` (DESIGN §2, §9), with Iceberg's type mapping: `timestamptz` (stored in
 * microseconds), `decimal(18, s)`, `int`, `long`, `double`, `boolean`, `string`, and
 * `list<string>`. Field ids come from the append-only ledger in `field-ids.ts`.
 * @see https://iceberg.apache.org/spec/#schemas-and-data-types
 */
import { type Column, type ColumnType, columnsOf } from "../columns.ts";
import type { Dataset } from "../events.ts";
import { IcebergError } from "./errors.ts";
import { elementKey, FIELD_IDS } from "./field-ids.ts";

export type PrimitiveType =
  | "boolean"
  | "int"
  | "long"
  | "double"
  | "string"
  | "timestamptz"
  | `decimal(${number}, ${number})`;

export interface ListType {
  type: "list";
  "element-id": number;
  element: PrimitiveType;
  "element-required": boolean;
}

export interface SchemaField {
  id: number;
  name: string;
  required: boolean;
  type: PrimitiveType | ListType;
  doc?: string;
}

export interface IcebergSchema {
  type: "struct";
  "schema-id": number;
  fields: SchemaField[];
  "identifier-field-ids"?: number[];
}

export interface PartitionField {
  "source-id": number;
  "field-id": number;
  name: string;
  transform: "hour";
}

export interface PartitionSpec {
  "spec-id": number;
  fields: PartitionField[];
}

export interface SortField {
  transform: "identity";
  "source-id": number;
  direction: "asc" | "desc";
  "null-order": "nulls-first" | "nulls-last";
}

export interface SortOrder {
  "order-id": number;
  fields: SortField[];
}

/** Partition field ids start at 1000, as the spec reserves for them. */
export const FIRST_PARTITION_FIELD_ID = 1000;
/** The partition field's name, as Iceberg names an `hour` transform of `ts`. */
export const HOUR_PARTITION = "ts_hour";

export function icebergTypeOf(type: ColumnType, elementId?: number): PrimitiveType | ListType {
  switch (type.kind) {
    case "string":
      return "string";
    case "timestamp_ms":
      return "timestamptz";
    case "decimal":
      return `decimal(${type.precision}, ${type.scale})`;
    case "int32":
      return "int";
    case "int64":
      return "long";
    case "float64":
      return "double";
    case "boolean":
      return "boolean";
    case "string_list":
      if (elementId === undefined) throw new IcebergError("a list column needs an element id");
      return { type: "list", "element-id": elementId, element: "string", "element-required": true };
  }
}

/** A column's field id from the ledger, or an error saying how to give it one. */
export function fieldIdOf(dataset: Dataset, name: string, ids = FIELD_IDS[dataset]): number {
  const id = ids[name];
  if (id === undefined) {
    const next = Math.max(0, ...Object.values(ids)) + 1;
    throw new IcebergError(
      `column ${dataset}.${name} has no Iceberg field id: add "${name}": ${next} to FIELD_IDS.${dataset} in src/core/iceberg/field-ids.ts (ids are never reused)`,
    );
  }
  return id;
}

/**
 * The schema of a dataset's table, fields in column order. Every column of the contract is
 * required (the contract has no optional field); a column that a later contract version adds
 * must be optional in the table (`evolveSchema` checks), because older files lack it.
 */
export function icebergSchemaOf(
  dataset: Dataset,
  options: { columns?: readonly Column[]; ids?: Readonly<Record<string, number>>; schemaId?: number } = {},
): IcebergSchema {
  const columns = options.columns ?? columnsOf(dataset);
  const ids = options.ids ?? FIELD_IDS[dataset];
  const fields = columns.map((column): SchemaField => {
    const elementId =
      column.type.kind === "string_list" ? fieldIdOf(dataset, elementKey(column.name), ids) : undefined;
    return {
      id: fieldIdOf(dataset, column.name, ids),
      name: column.name,
      required: true,
      type: icebergTypeOf(column.type, elementId),
      ...(column.description ? { doc: column.description } : {}),
    };
  });
  return { type: "struct", "schema-id": options.schemaId ?? 0, fields };
}

/** Every field id a schema uses, list elements included. */
export function fieldIdsOf(schema: IcebergSchema): number[] {
  return schema.fields.flatMap((field) =>
    typeof field.type === "string" ? [field.id] : [field.id, field.type["element-id"]],
  );
}

export function fieldNamed(schema: IcebergSchema, name: string): SchemaField {
  const field = schema.fields.find((candidate) => candidate.name === name);
  if (!field) throw new IcebergError(`schema ${schema["schema-id"]} has no field ${name}`);
  return field;
}

/** Hidden partitioning by the hour of event time: `hour(ts)`. */
export function hourPartitionSpec(schema: IcebergSchema): PartitionSpec {
  return {
    "spec-id": 0,
    fields: [
      {
        "source-id": fieldNamed(schema, "ts").id,
        "field-id": FIRST_PARTITION_FIELD_ID,
        name: HOUR_PARTITION,
        transform: "hour",
      },
    ],
  };
}

/** The natural key each dataset's compacted files are sorted by, before `ts`. */
export const NATURAL_KEY: Readonly<Record<Dataset, string | undefined>> = {
  fx_quotes: "pair",
  stock_quotes: "symbol",
  news: undefined,
  http_requests: undefined,
};

/** The columns compaction sorts by: the natural key, then `ts`; `ts` alone where there is none. */
export function sortColumnsOf(dataset: Dataset): string[] {
  const key = NATURAL_KEY[dataset];
  return key ? [key, "ts"] : ["ts"];
}

export function sortOrderOf(dataset: Dataset, schema: IcebergSchema): SortOrder {
  return {
    "order-id": 1,
    fields: sortColumnsOf(dataset).map((name) => ({
      transform: "identity",
      "source-id": fieldNamed(schema, name).id,
      direction: "asc",
      "null-order": "nulls-first",
    })),
  };
}

const PROMOTIONS: Record<string, string[]> = { int: ["long"] };

function typeKey(type: SchemaField["type"]): string {
  return typeof type === "string" ? type : `list<${type.element}>`;
}

function allowedChange(from: SchemaField["type"], to: SchemaField["type"]): boolean {
  const a = typeKey(from);
  const b = typeKey(to);
  if (a === b) return true;
  if (PROMOTIONS[a]?.includes(b)) return true;
  const decimal = /^decimal\((\d+), (\d+)\)$/;
  const da = decimal.exec(a);
  const db = decimal.exec(b);
  // Iceberg allows widening a decimal's precision, never changing its scale.
  return !!da && !!db && da[2] === db[2] && Number(db[1]) >= Number(da[1]);
}

/**
 * Checks that `target` is a legal evolution of the schemas a table has had: no field id given
 * to another name, no type change beyond Iceberg's promotions, new fields optional. Returns the
 * field ids `target` adds; throws an IcebergError naming the first violation.
 * @see https://iceberg.apache.org/spec/#schema-evolution
 */
export function checkEvolution(history: readonly IcebergSchema[], target: IcebergSchema): number[] {
  const known = new Map<number, SchemaField>();
  for (const schema of history) for (const field of schema.fields) known.set(field.id, field);
  const knownIds = new Set(history.flatMap(fieldIdsOf));
  const added: number[] = [];
  for (const field of target.fields) {
    const before = known.get(field.id);
    if (!before) {
      if (knownIds.has(field.id)) {
        throw new IcebergError(`field id ${field.id} (${field.name}) was used by a list element before`);
      }
      if (field.required) {
        throw new IcebergError(
          `field ${field.name} (id ${field.id}) is new and required: a new field must be optional, older files lack it`,
        );
      }
      added.push(...fieldIdsOf({ ...target, fields: [field] }));
      continue;
    }
    if (!allowedChange(before.type, field.type)) {
      throw new IcebergError(
        `field ${field.name} (id ${field.id}) changes type from ${typeKey(before.type)} to ${typeKey(field.type)}; Iceberg allows int→long and wider decimals only`,
      );
    }
    if (before.required === false && field.required) {
      throw new IcebergError(`field ${field.name} (id ${field.id}) cannot become required again`);
    }
  }
  return added;
}

/** The tables' Iceberg schemas as the Markdown docs/data-contract.md shows (a test keeps them equal). */
export function icebergSchemaMarkdown(datasets: readonly Dataset[]): string {
  const typeText = (type: SchemaField["type"]) =>
    typeof type === "string" ? type : `list<${type.element}> (element id ${type["element-id"]})`;
  return datasets
    .map((dataset) => {
      const schema = icebergSchemaOf(dataset);
      const rows = schema.fields.map(
        (field) =>
          `| ${field.id} | \`${field.name}\` | ${typeText(field.type)} | ${field.required ? "required" : "optional"} |`,
      );
      const sort = sortColumnsOf(dataset)
        .map((name) => `\`${name}\``)
        .join(", ");
      return [
        `### \`${dataset}\``,
        "",
        "| field id | column | Iceberg type | |",
        "| --- | --- | --- | --- |",
        ...rows,
        "",
        `Partition: \`hour(ts)\` as \`${HOUR_PARTITION}\` (partition field ${FIRST_PARTITION_FIELD_ID}). Compacted files sorted by ${sort}.`,
      ].join("\n");
    })
    .join("\n\n");
}
