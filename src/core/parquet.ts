/**
 * Parquet encoding of validated events (DESIGN §7): Arrow vectors built straight from typed
 * arrays, then parquet-wasm (Rust's parquet writer) with ZSTD, one row group per object and
 * dictionary encoding where it pays. Every column carries its Iceberg field id
 * (`PARQUET:field_id`, which the Rust writer turns into the Parquet schema's field_id), so the
 * files are Iceberg data files as written (DESIGN §9). Pure: bytes in memory, no I/O.
 */
import * as arrow from "apache-arrow";
import { parquetMetadata } from "hyparquet";
import {
  Compression,
  Table as ParquetTable,
  readParquet,
  WriterPropertiesBuilder,
  writeParquet,
} from "parquet-wasm";
import { type Column, columnsOf } from "./columns.ts";
import { DATASET_OF, type Dataset, type Envelope, type EventType, SCHEMA_VERSION } from "./events.ts";
import { elementKey } from "./iceberg/field-ids.ts";
import { type DataFileStats, hourOf, metricsOfColumns } from "./iceberg/metrics.ts";
import { fieldIdOf } from "./iceberg/schema.ts";

export const PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet";

function valueAt(event: Envelope, path: readonly string[]): unknown {
  let cursor: unknown = event;
  for (const key of path) cursor = (cursor as Record<string, unknown>)[key];
  return cursor;
}

/** Arrow field metadata that arrow-rs writes as the Parquet field_id. */
const FIELD_ID_KEY = "PARQUET:field_id";

function withFieldId(id: number): Map<string, string> {
  return new Map([[FIELD_ID_KEY, String(id)]]);
}

function listTypeOf(dataset: Dataset, column: Column): arrow.List {
  const elementId = fieldIdOf(dataset, elementKey(column.name));
  // Iceberg names a list's element `element`; its id travels with it.
  return new arrow.List(new arrow.Field("element", new arrow.Utf8(), false, withFieldId(elementId)));
}

/** Each column's values, in column order: read once, for the encoder and the metrics. */
function columnValues(columns: readonly Column[], events: readonly Envelope[]): unknown[][] {
  return columns.map((column) => events.map((event) => valueAt(event, column.path)));
}

function vectorOf(dataset: Dataset, column: Column, values: readonly unknown[]): arrow.Vector {
  const length = values.length;
  switch (column.type.kind) {
    case "string":
      return arrow.vectorFromArray(values as string[], new arrow.Utf8());
    case "string_list":
      return arrow.vectorFromArray(values as string[][], listTypeOf(dataset, column));
    case "boolean":
      return arrow.vectorFromArray(values as boolean[], new arrow.Bool());
    case "float64":
      return arrow.makeVector(Float64Array.from(values as number[]));
    case "int32":
      return arrow.makeVector(Int32Array.from(values as number[]));
    case "int64":
      return arrow.makeVector(BigInt64Array.from(values as number[], (value) => BigInt(value)));
    case "timestamp_ms": {
      // Iceberg's timestamptz is microseconds; the contract's times have millisecond precision.
      const micros = BigInt64Array.from(values as string[], (iso) => BigInt(Date.parse(iso) * 1000));
      return arrow.makeVector(
        arrow.makeData({ type: new arrow.TimestampMicrosecond("UTC"), length, data: micros }),
      );
    }
    case "decimal": {
      // Decimal128: two little-endian 64-bit words per value, the high word the sign extension.
      // Values were validated to have at most `scale` decimals, so rounding recovers them exactly.
      const scale = 10 ** column.type.scale;
      const words = new BigInt64Array(length * 2);
      (values as number[]).forEach((value, index) => {
        const scaled = BigInt(Math.round(value * scale));
        words[index * 2] = scaled;
        words[index * 2 + 1] = scaled < 0n ? -1n : 0n;
      });
      const type = new arrow.Decimal(column.type.scale, column.type.precision, 128);
      return arrow.makeVector(arrow.makeData({ type, length, data: new Uint32Array(words.buffer) }));
    }
  }
}

/**
 * Encodes events of one dataset as a Parquet file with the dataset's derived schema: every
 * column required (the contract has no optional field) and carrying its Iceberg field id.
 */
export function encodeParquet(dataset: Dataset, events: readonly Envelope[]): Uint8Array {
  const columns = columnsOf(dataset);
  return encodeColumns(dataset, columns, columnValues(columns, events), events.length);
}

function encodeColumns(
  dataset: Dataset,
  columns: readonly Column[],
  values: readonly unknown[][],
  length: number,
): Uint8Array {
  const vectors = columns.map((column, index) => vectorOf(dataset, column, values[index] as unknown[]));
  const fields = columns.map(
    (column, index) =>
      new arrow.Field(
        column.name,
        (vectors[index] as arrow.Vector).type,
        false,
        withFieldId(fieldIdOf(dataset, column.name)),
      ),
  );
  const struct = arrow.makeData({
    type: new arrow.Struct(fields),
    length,
    nullCount: 0,
    children: vectors.map((vector) => vector.data[0] as arrow.Data),
  });
  const table = new arrow.Table(
    new arrow.Schema(fields),
    new arrow.RecordBatch(new arrow.Schema(fields), struct),
  );
  const properties = new WriterPropertiesBuilder()
    .setCompression(Compression.ZSTD)
    .setMaxRowGroupSize(Math.max(1, length))
    .setCreatedBy("ticklake")
    // One key: the writer keeps key-value metadata in a hash map, so several keys come out in
    // a different order each time, and the same records must always make the same bytes (a
    // redelivered message's manifest carries the SHA-256 of the object it maps to).
    .setKeyValueMetadata(new Map([["ticklake", JSON.stringify({ dataset, schema_version: SCHEMA_VERSION })]]))
    .build();
  return writeParquet(ParquetTable.fromIPCStream(arrow.tableToIPC(table, "stream")), properties);
}

/**
 * What a Parquet data file's footer says that Iceberg manifests carry: the bytes of each
 * column's chunks by field id, and the row groups' offsets. Reads only the footer.
 */
export function footerStats(bytes: Uint8Array): Pick<DataFileStats, "columnSizes" | "splitOffsets"> {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const metadata = parquetMetadata(buffer);
  // Leaf columns in schema order; their field ids from the schema's leaves.
  const leafIds = metadata.schema
    .filter((element) => !element.num_children)
    .map((element) => element.field_id);
  const columnSizes: Record<string, number> = {};
  const splitOffsets: number[] = [];
  for (const group of metadata.row_groups) {
    const first = group.columns[0]?.meta_data;
    if (first) splitOffsets.push(Number(first.dictionary_page_offset ?? first.data_page_offset));
    group.columns.forEach((chunk, index) => {
      const id = leafIds[index];
      if (id === undefined || !chunk.meta_data) return;
      columnSizes[id] = (columnSizes[id] ?? 0) + Number(chunk.meta_data.total_compressed_size);
    });
  }
  return { columnSizes, splitOffsets };
}

/** A data file for the table layer: the Parquet bytes and the statistics its manifest entry needs. */
export function encodeDataFile(
  dataset: Dataset,
  events: readonly Envelope[],
  /** Any instant of the hour that all `events` lie in. */
  hourMs: number,
): { body: Uint8Array; stats: DataFileStats } {
  const columns = columnsOf(dataset);
  const values = columnValues(columns, events);
  const body = encodeColumns(dataset, columns, values, events.length);
  return {
    body,
    stats: {
      tsHour: hourOf(hourMs),
      ...metricsOfColumns(dataset, columns, values, events.length),
      ...footerStats(body),
    },
  };
}

const TYPE_OF = Object.fromEntries(
  Object.entries(DATASET_OF).map(([type, dataset]) => [dataset, type]),
) as Record<Dataset, EventType>;

/** A column's values as JS values of the contract, read back from an Arrow column. */
function valuesOf(column: Column, vector: arrow.Vector, length: number): unknown[] {
  const out: unknown[] = new Array(length);
  let row = 0;
  for (const data of vector.data) {
    switch (column.type.kind) {
      case "timestamp_ms": {
        const micros = data.values as BigInt64Array;
        for (let i = 0; i < data.length; i++) {
          out[row++] = new Date(Number((micros[data.offset + i] as bigint) / 1000n)).toISOString();
        }
        break;
      }
      case "decimal": {
        // Low 64-bit word of each Decimal128; division of exact integers rounds to the nearest double.
        const words = new BigInt64Array(
          data.values.buffer,
          data.values.byteOffset,
          (data.offset + data.length) * 2,
        );
        const scale = 10 ** column.type.scale;
        for (let i = 0; i < data.length; i++) out[row++] = Number(words[(data.offset + i) * 2]) / scale;
        break;
      }
      case "int64": {
        const values = data.values as BigInt64Array;
        for (let i = 0; i < data.length; i++) out[row++] = Number(values[data.offset + i]);
        break;
      }
      default: {
        const chunk = new arrow.Vector([data]);
        for (let i = 0; i < data.length; i++) {
          const value = chunk.get(i);
          out[row++] =
            column.type.kind === "string_list" ? Array.from(value as arrow.Vector<arrow.Utf8>) : value;
        }
      }
    }
  }
  return out;
}

/**
 * Reads a lake data file back into the envelopes it was written from (compaction rewrites
 * files this way): the inverse of `encodeParquet`, by column name.
 */
export function decodeParquet(dataset: Dataset, bytes: Uint8Array): Envelope[] {
  const table = arrow.tableFromIPC(readParquet(bytes).intoIPCStream());
  const length = table.numRows;
  const events: Record<string, unknown>[] = Array.from({ length }, () => ({ type: TYPE_OF[dataset] }));
  for (const column of columnsOf(dataset)) {
    const vector = table.getChild(column.name);
    if (!vector) throw new Error(`${dataset} file has no column ${column.name}`);
    const values = valuesOf(column, vector, length);
    const [head, ...rest] = column.path as [string, ...string[]];
    for (let i = 0; i < length; i++) {
      const event = events[i] as Record<string, unknown>;
      if (rest.length === 0) event[head] = values[i];
      else {
        event[head] ??= {};
        (event[head] as Record<string, unknown>)[rest[0] as string] = values[i];
      }
    }
  }
  return events as unknown as Envelope[];
}
