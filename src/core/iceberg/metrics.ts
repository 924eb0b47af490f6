/**
 * Column metrics of a data file, as Iceberg manifests carry them so that engines can prune
 * files: value, null and NaN counts per field id, and lower and upper bounds in Iceberg's
 * single-value binary serialization. Computed by the processor from the records it encodes,
 * and carried in the object's announcement, so that the committer never reads a data file.
 * @see https://iceberg.apache.org/spec/#binary-single-value-serialization
 */
import { z } from "zod";
import { type Column, columnsOf } from "../columns.ts";
import type { Dataset, Envelope } from "../events.ts";
import { fieldIdOf } from "./schema.ts";

/** Bounds of strings are truncated to this many characters, as Iceberg's default `truncate(16)`. */
export const STRING_BOUND_LENGTH = 16;

const HOUR_MS = 3_600_000;

/** Hours since the epoch: the value of Iceberg's `hour` transform. */
export const hourOf = (epochMs: number): number => Math.floor(epochMs / HOUR_MS);

const counts = z.record(z.string().regex(/^\d+$/), z.int().nonnegative());
const bounds = z.record(z.string().regex(/^\d+$/), z.base64());

/**
 * What the table layer needs to know of a data file, beyond its key and size: its partition,
 * record count and column metrics, keyed by field id. Bounds are base64.
 */
export const DataFileStats = z.strictObject({
  /** Hours since the epoch of every record's `ts` (the `hour(ts)` partition). */
  tsHour: z.int(),
  recordCount: z.int().nonnegative(),
  columnSizes: counts,
  valueCounts: counts,
  nullValueCounts: counts,
  nanValueCounts: counts,
  lowerBounds: bounds,
  upperBounds: bounds,
  /** Byte offsets of the row groups, for engines that split files. */
  splitOffsets: z.array(z.int().nonnegative()),
});
export type DataFileStats = z.infer<typeof DataFileStats>;

function valueAt(event: Envelope, path: readonly string[]): unknown {
  let cursor: unknown = event;
  for (const key of path) cursor = (cursor as Record<string, unknown>)[key];
  return cursor;
}

/** Maps UTF-16 code units so that their order is the order of code points (and of UTF-8 bytes). */
function codePointOrder(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/** Compares strings as Iceberg does: by their UTF-8 bytes, unsigned. */
export function compareUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointOrder(x) - codePointOrder(y);
  }
  return a.length - b.length;
}

function truncatedLower(value: string): string {
  const points = Array.from(value);
  return points.length <= STRING_BOUND_LENGTH ? value : points.slice(0, STRING_BOUND_LENGTH).join("");
}

/**
 * The shortest prefix-based upper bound: the first 16 characters with the last one incremented
 * (dropping characters that cannot be); undefined when no such bound exists.
 */
function truncatedUpper(value: string): string | undefined {
  const points = Array.from(value);
  if (points.length <= STRING_BOUND_LENGTH) return value;
  const prefix = points.slice(0, STRING_BOUND_LENGTH);
  while (prefix.length > 0) {
    const last = (prefix.pop() as string).codePointAt(0) as number;
    let next = last + 1;
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000;
    if (next <= 0x10ffff) return prefix.join("") + String.fromCodePoint(next);
  }
  return undefined;
}

function littleEndian(bytes: number, write: (view: DataView) => void): Uint8Array {
  const out = new Uint8Array(bytes);
  write(new DataView(out.buffer));
  return out;
}

/** An unscaled decimal as the minimum number of big-endian two's complement bytes. */
export function decimalBytes(unscaled: bigint): Uint8Array {
  let length = 1;
  while (unscaled < -(1n << BigInt(8 * length - 1)) || unscaled >= 1n << BigInt(8 * length - 1)) length++;
  const out = new Uint8Array(length);
  let rest = BigInt.asUintN(8 * length, unscaled);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/** Iceberg's single-value serialization of a primitive value of a column. */
export function serializeValue(column: Column, value: unknown): Uint8Array {
  switch (column.type.kind) {
    case "string":
      return new TextEncoder().encode(value as string);
    case "boolean":
      return Uint8Array.of(value ? 1 : 0);
    case "int32":
      return littleEndian(4, (view) => view.setInt32(0, value as number, true));
    case "int64":
      return littleEndian(8, (view) => view.setBigInt64(0, BigInt(value as number), true));
    case "float64":
      return littleEndian(8, (view) => view.setFloat64(0, value as number, true));
    case "timestamp_ms":
      return littleEndian(8, (view) =>
        view.setBigInt64(0, BigInt(Date.parse(value as string)) * 1000n, true),
      );
    case "decimal":
      return decimalBytes(BigInt(Math.round((value as number) * 10 ** column.type.scale)));
    case "string_list":
      throw new Error(`no single-value serialization for list column ${column.name}`);
  }
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

export type ColumnMetrics = Omit<DataFileStats, "columnSizes" | "splitOffsets" | "tsHour">;

/**
 * Counts and bounds of every top-level column of a file holding `events` (all of one hour),
 * keyed by field id. List columns get value counts (their element count) and no bounds, as
 * Iceberg's writers do. Column sizes and split offsets come from the written file.
 */
export function columnMetricsOf(dataset: Dataset, events: readonly Envelope[]): ColumnMetrics {
  const columns = columnsOf(dataset);
  const values = columns.map((column) => events.map((event) => valueAt(event, column.path)));
  return metricsOfColumns(dataset, columns, values, events.length);
}

/** Code units from U+D800 up: where UTF-16 order and UTF-8 order can differ. */
const WIDE = /[\ud800-\uffff]/;

function stringBounds(values: readonly unknown[]): { min: string; max: string } {
  let min = values[0] as string;
  let max = min;
  let wide = false;
  for (const value of values as string[]) {
    if (value < min) min = value;
    if (value > max) max = value;
    if (!wide && WIDE.test(value)) wide = true;
  }
  if (!wide) return { min, max };
  // Surrogates and U+E000-U+FFFF: JavaScript's order is not Iceberg's (UTF-8 bytes); compare exactly.
  for (const value of values as string[]) {
    if (compareUtf8(value, min) < 0) min = value;
    if (compareUtf8(value, max) > 0) max = value;
  }
  return { min, max };
}

/**
 * What a column's metrics are made of: its least and greatest value as the contract's JS
 * values (`-0` for a float column's least when it holds -0 and no smaller value), or, for a
 * list column, the count of its elements. Absent for an empty file.
 */
export type ColumnSummary = { min: unknown; max: unknown } | { elements: number };

function summaryOf(column: Column, columnValues: readonly unknown[]): ColumnSummary | undefined {
  if (column.type.kind === "string_list") {
    let elements = 0;
    for (const list of columnValues as string[][]) elements += list.length;
    return { elements };
  }
  if (columnValues.length === 0) return undefined;
  // ISO timestamps of one fixed format sort as text in time order.
  if (column.type.kind === "string" || column.type.kind === "timestamp_ms") return stringBounds(columnValues);
  if (column.type.kind === "boolean")
    return { min: columnValues.every(Boolean), max: columnValues.some(Boolean) };
  let min = columnValues[0] as number;
  let max = min;
  for (const value of columnValues as number[]) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  // -0 and 0 compare equal; Iceberg orders -0 first, so a bound must not claim 0 for -0.
  if (
    column.type.kind === "float64" &&
    Object.is(min, 0) &&
    columnValues.some((value) => Object.is(value, -0))
  )
    min = -0;
  return { min, max };
}

/** `columnMetricsOf` on values already read, one array per column in column order. */
export function metricsOfColumns(
  dataset: Dataset,
  columns: readonly Column[],
  values: readonly (readonly unknown[])[],
  count: number,
): ColumnMetrics {
  return metricsOfSummaries(
    dataset,
    columns,
    columns.map((column, index) => summaryOf(column, values[index] as readonly unknown[])),
    count,
  );
}

/**
 * Counts and bounds of every top-level column of a file of `count` records, keyed by field id,
 * from each column's summary (in column order; compaction summarizes columns it holds in typed
 * arrays, the processor the values it encodes).
 */
export function metricsOfSummaries(
  dataset: Dataset,
  columns: readonly Column[],
  summaries: readonly (ColumnSummary | undefined)[],
  count: number,
): ColumnMetrics {
  const valueCounts: Record<string, number> = {};
  const nullValueCounts: Record<string, number> = {};
  const nanValueCounts: Record<string, number> = {};
  const lowerBounds: Record<string, string> = {};
  const upperBounds: Record<string, string> = {};
  columns.forEach((column, index) => {
    const id = String(fieldIdOf(dataset, column.name));
    const summary = summaries[index];
    valueCounts[id] = count;
    nullValueCounts[id] = 0;
    if (column.type.kind === "string_list") {
      const elementId = String(fieldIdOf(dataset, `${column.name}.element`));
      valueCounts[elementId] = summary && "elements" in summary ? summary.elements : 0;
      nullValueCounts[elementId] = 0;
      return;
    }
    if (column.type.kind === "float64") nanValueCounts[id] = 0;
    if (count === 0 || !summary || !("min" in summary)) return;
    if (column.type.kind === "string") {
      lowerBounds[id] = base64(serializeValue(column, truncatedLower(summary.min as string)));
      const upper = truncatedUpper(summary.max as string);
      if (upper !== undefined) upperBounds[id] = base64(serializeValue(column, upper));
      return;
    }
    lowerBounds[id] = base64(serializeValue(column, summary.min));
    upperBounds[id] = base64(serializeValue(column, summary.max));
  });
  return { recordCount: count, valueCounts, nullValueCounts, nanValueCounts, lowerBounds, upperBounds };
}
