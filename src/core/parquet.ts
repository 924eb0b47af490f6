/**
 * Parquet encoding of validated events (DESIGN §7): Arrow vectors built straight from typed
 * arrays, then parquet-wasm (Rust's parquet writer) with ZSTD, one row group per object and
 * dictionary encoding where it pays. Every column carries its Iceberg field id
 * (`PARQUET:field_id`, which the Rust writer turns into the Parquet schema's field_id), so the
 * files are Iceberg data files as written (DESIGN §9). Compaction reads files a row group at
 * a time and writes its large files through the streaming writer, a row group at a time
 * (`recordBatchesOf`, `encodeRowGroups`). Pure: bytes in memory, no I/O.
 */
import * as arrow from "apache-arrow";
import { parquetMetadata } from "hyparquet";
import {
  Compression,
  Table as ParquetTable,
  readParquet,
  transformParquetStream,
  WriterPropertiesBuilder,
  writeParquet,
} from "parquet-wasm";
import { type Column, columnsOf } from "./columns.ts";
import { type Dataset, type Envelope, SCHEMA_VERSION } from "./events.ts";
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

/** The Arrow type a column is written as (what the Rust writer maps to the Parquet and Iceberg types). */
export function arrowTypeOf(dataset: Dataset, column: Column): arrow.DataType {
  switch (column.type.kind) {
    case "string":
      return new arrow.Utf8();
    case "string_list":
      return listTypeOf(dataset, column);
    case "boolean":
      return new arrow.Bool();
    case "float64":
      return new arrow.Float64();
    case "int32":
      return new arrow.Int32();
    case "int64":
      return new arrow.Int64();
    case "timestamp_ms":
      // Iceberg's timestamptz is microseconds; the contract's times have millisecond precision.
      return new arrow.TimestampMicrosecond("UTC");
    case "decimal":
      return new arrow.Decimal(column.type.scale, column.type.precision, 128);
  }
}

function vectorOf(dataset: Dataset, column: Column, values: readonly unknown[]): arrow.Vector {
  const length = values.length;
  const type = arrowTypeOf(dataset, column);
  switch (column.type.kind) {
    case "string":
    case "string_list":
    case "boolean":
      return arrow.vectorFromArray(values as never[], type);
    case "float64":
      return arrow.makeVector(Float64Array.from(values as number[]));
    case "int32":
      return arrow.makeVector(Int32Array.from(values as number[]));
    case "int64":
      return arrow.makeVector(BigInt64Array.from(values as number[], (value) => BigInt(value)));
    case "timestamp_ms": {
      const micros = BigInt64Array.from(values as string[], (iso) => BigInt(Date.parse(iso) * 1000));
      return arrow.makeVector(
        arrow.makeData({ type: type as arrow.TimestampMicrosecond, length, data: micros }),
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
      return arrow.makeVector(
        arrow.makeData({ type: type as arrow.Decimal, length, data: new Uint32Array(words.buffer) }),
      );
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
  const data = columns.map(
    (column, index) => vectorOf(dataset, column, values[index] as unknown[]).data[0] as arrow.Data,
  );
  return writeParquet(
    ParquetTable.fromIPCStream(ipcOf(dataset, columns, data, length)),
    writerProperties(dataset, length),
  );
}

/** One record batch of the dataset's columns (each carrying its Iceberg field id), as an Arrow IPC stream. */
function ipcOf(
  dataset: Dataset,
  columns: readonly Column[],
  data: readonly arrow.Data[],
  length: number,
): Uint8Array {
  const fields = columns.map(
    (column, index) =>
      new arrow.Field(
        column.name,
        (data[index] as arrow.Data).type,
        false,
        withFieldId(fieldIdOf(dataset, column.name)),
      ),
  );
  const struct = arrow.makeData({
    type: new arrow.Struct(fields),
    length,
    nullCount: 0,
    children: [...data],
  });
  const schema = new arrow.Schema(fields);
  return arrow.tableToIPC(new arrow.Table(schema, new arrow.RecordBatch(schema, struct)), "stream");
}

function writerProperties(dataset: Dataset, rowGroupRows: number) {
  return (
    new WriterPropertiesBuilder()
      .setCompression(Compression.ZSTD)
      .setMaxRowGroupSize(Math.max(1, rowGroupRows))
      .setCreatedBy("ticklake")
      // One key: the writer keeps key-value metadata in a hash map, so several keys come out in
      // a different order each time, and the same records must always make the same bytes (a
      // redelivered message's manifest carries the SHA-256 of the object it maps to).
      .setKeyValueMetadata(
        new Map([["ticklake", JSON.stringify({ dataset, schema_version: SCHEMA_VERSION })]]),
      )
      .build()
  );
}

/** Columns of one row group: an Arrow `Data` per column of the dataset, in column order. */
export interface RowGroupData {
  data: readonly arrow.Data[];
  length: number;
}

/**
 * Writes row groups, made one at a time as the writer asks for them, into one Parquet file of
 * the dataset's schema: the writer (parquet-wasm's streaming transform) holds one row group
 * and the one after it, never the whole file, so the WebAssembly memory (which never shrinks)
 * stays bounded by the row group size.
 */
export async function encodeRowGroups(
  dataset: Dataset,
  rowGroups: Iterator<RowGroupData>,
  rowGroupRows: number,
): Promise<Uint8Array> {
  const columns = columnsOf(dataset);
  const batches = new ReadableStream({
    pull(controller) {
      const next = rowGroups.next();
      if (next.done) {
        controller.close();
        return;
      }
      const table = ParquetTable.fromIPCStream(ipcOf(dataset, columns, next.value.data, next.value.length));
      controller.enqueue(table.recordBatch(0));
      table.free();
    },
  });
  const output = (await transformParquetStream(
    batches,
    writerProperties(dataset, rowGroupRows),
  )) as ReadableStream<Uint8Array>;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of output) {
    chunks.push(chunk);
    size += chunk.byteLength;
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return body;
}

/**
 * A Parquet file's record batches, read one row group at a time (a compacted file's row groups
 * are bounded; reading a whole file at once would hold it twice in WebAssembly memory, which
 * never shrinks).
 */
export function* recordBatchesOf(bytes: Uint8Array): Generator<arrow.RecordBatch> {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const groups = parquetMetadata(buffer).row_groups;
  for (const [index, group] of groups.entries()) {
    const rows = Number(group.num_rows);
    if (rows === 0) continue;
    const table = arrow.tableFromIPC(
      readParquet(bytes, { rowGroups: [index], batchSize: rows }).intoIPCStream(),
    );
    yield* table.batches;
  }
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
