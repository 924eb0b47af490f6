/**
 * Compaction's working set (DESIGN §9): one dataset-hour held column by column, as the Arrow
 * buffers its files decode to, with sort keys in typed arrays. An hour of millions of records
 * costs its columnar size plus about 30 bytes a record, where one JS object per record cost
 * about 1.1 KB (bench/results/compaction.json). The hour is put in order through a permutation
 * of row numbers (natural key, then `ts`, then `id`; duplicate ids dropped, the first in the
 * order the files were given kept) and gathered back into Arrow columns one row group at a
 * time, with the column summaries the manifests' metrics are made of. Pure: no I/O.
 */
import * as arrow from "apache-arrow";
import { type Column, columnsOf } from "../columns.ts";
import type { Dataset } from "../events.ts";
import { arrowTypeOf, encodeRowGroups, footerStats, type RowGroupData } from "../parquet.ts";
import { IcebergError } from "./errors.ts";
import { type ColumnSummary, type DataFileStats, hourOf, metricsOfSummaries } from "./metrics.ts";
import { NATURAL_KEY } from "./schema.ts";

const TWO_32 = 4_294_967_296;

/** 32-bit words per value of the fixed-width columns (little-endian, as Arrow lays them out). */
const WORDS: Partial<Record<Column["type"]["kind"], number>> = {
  int32: 1,
  int64: 2,
  float64: 2,
  timestamp_ms: 2,
  decimal: 4,
};

/** One column of a segment, in the views the gathering reads. */
interface SegmentColumn {
  /** Fixed-width values as 32-bit words; a boolean column's bitmap; a string column's bytes. */
  words?: Int32Array;
  bits?: Uint8Array;
  bytes?: Uint8Array;
  offsets?: Int32Array;
  /** A list column: offsets into its elements, which are a string column of their own. */
  listOffsets?: Int32Array;
  /** Where this segment's rows start in the buffers (an Arrow slice's offset). */
  offset: number;
}

/** A record batch of one input file: rows [start, start + length) of the hour. */
interface Segment {
  start: number;
  length: number;
  columns: SegmentColumn[];
}

const signed64 = (words: Int32Array, at: number): number =>
  (words[at + 1] as number) * TWO_32 + ((words[at] as number) >>> 0);

function compareBytes(a: Uint8Array, aFrom: number, aTo: number, b: Uint8Array, bFrom: number, bTo: number) {
  const length = Math.min(aTo - aFrom, bTo - bFrom);
  for (let i = 0; i < length; i++) {
    const x = a[aFrom + i] as number;
    const y = b[bFrom + i] as number;
    if (x !== y) return x - y;
  }
  return aTo - aFrom - (bTo - bFrom);
}

/** A 52-bit hash of bytes (two 32-bit FNV-1a variants): equal bytes, equal hash. */
function hash52(bytes: Uint8Array, from: number, to: number): number {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = from; i < to; i++) {
    const byte = bytes[i] as number;
    a = Math.imul(a ^ byte, 0x01000193);
    b = Math.imul(b ^ byte, 0x5bd1e995) ^ (b >>> 13);
  }
  return (a >>> 0) * 1_048_576 + ((b >>> 0) & 0xfffff);
}

/** The same Arrow type as far as the buffers go: type id, unit and scale. */
function sameLayout(a: arrow.DataType, b: arrow.DataType): boolean {
  const x = a as unknown as Record<string, unknown>;
  const y = b as unknown as Record<string, unknown>;
  return a.typeId === b.typeId && x.unit === y.unit && x.scale === y.scale && x.bitWidth === y.bitWidth;
}

function segmentColumn(dataset: Dataset, column: Column, data: arrow.Data, where: string): SegmentColumn {
  const expected = arrowTypeOf(dataset, column);
  if (!sameLayout(data.type, expected))
    throw new IcebergError(`${where}: column ${column.name} is ${data.type}, compaction reads ${expected}`);
  if (data.nullCount > 0)
    throw new IcebergError(`${where}: column ${column.name} holds nulls; every column is required`);
  const kind = column.type.kind;
  const words = WORDS[kind];
  const values = data.values as ArrayBufferView | undefined;
  if (words !== undefined) {
    if (!values || values.byteLength < (data.offset + data.length) * words * 4)
      throw new IcebergError(
        `${where}: column ${column.name} is not ${words * 32}-bit wide (type ${data.type})`,
      );
    return {
      offset: data.offset,
      words: new Int32Array(values.buffer, values.byteOffset, values.byteLength >> 2),
    };
  }
  if (kind === "boolean") return { offset: data.offset, bits: data.values as Uint8Array };
  if (kind === "string") {
    if (!(data.valueOffsets instanceof Int32Array))
      throw new IcebergError(
        `${where}: column ${column.name} is not a UTF-8 string column (type ${data.type})`,
      );
    return { offset: data.offset, bytes: data.values as Uint8Array, offsets: data.valueOffsets };
  }
  const child = data.children[0];
  if (!(data.valueOffsets instanceof Int32Array) || !child || !(child.valueOffsets instanceof Int32Array))
    throw new IcebergError(`${where}: column ${column.name} is not a list of strings (type ${data.type})`);
  if (child.nullCount > 0) throw new IcebergError(`${where}: column ${column.name} holds null elements`);
  return {
    offset: data.offset,
    listOffsets: data.valueOffsets,
    offsets: child.valueOffsets.subarray(child.offset),
    bytes: child.values as Uint8Array,
  };
}

/** Distinct byte strings, numbered in the order first seen. */
class Interner {
  readonly values: Uint8Array[] = [];
  readonly #byHash = new Map<number, number[]>();

  code(bytes: Uint8Array, from: number, to: number): number {
    const hash = hash52(bytes, from, to);
    const codes = this.#byHash.get(hash) ?? [];
    for (const code of codes) {
      const known = this.values[code] as Uint8Array;
      if (compareBytes(known, 0, known.length, bytes, from, to) === 0) return code;
    }
    codes.push(this.values.length);
    this.#byHash.set(hash, codes);
    this.values.push(bytes.slice(from, to));
    return this.values.length - 1;
  }
}

/** The rows to write, in order, and how many duplicate ids were dropped. */
export interface HourOrder {
  rows: Uint32Array;
  duplicates: number;
}

/** Compaction's columnar working set for one dataset-hour. */
export class HourColumns {
  readonly dataset: Dataset;
  readonly columns: readonly Column[];
  /** Records in the hour: the files' record counts, as their manifest entries say. */
  readonly records: number;
  readonly #fileStarts: number[];
  readonly #fileRecords: readonly number[];
  readonly #filled: boolean[];
  readonly #segments: Segment[] = [];
  readonly #segmentOf: Uint32Array;
  readonly #micros: Float64Array;
  readonly #keyCodes: Uint32Array;
  readonly #keys = new Interner();
  readonly #idColumn: number;
  readonly #tsColumn: number;
  readonly #keyColumn: number;

  constructor(dataset: Dataset, fileRecords: readonly number[]) {
    this.dataset = dataset;
    this.columns = columnsOf(dataset);
    this.#fileRecords = fileRecords;
    this.#fileStarts = [];
    let records = 0;
    for (const count of fileRecords) {
      this.#fileStarts.push(records);
      records += count;
    }
    this.records = records;
    this.#filled = fileRecords.map(() => false);
    this.#segmentOf = new Uint32Array(records);
    this.#micros = new Float64Array(records);
    this.#keyCodes = new Uint32Array(NATURAL_KEY[dataset] ? records : 0);
    this.#idColumn = this.columns.findIndex((column) => column.name === "id");
    this.#tsColumn = this.columns.findIndex((column) => column.name === "ts");
    const key = NATURAL_KEY[dataset];
    this.#keyColumn = key ? this.columns.findIndex((column) => column.name === key) : -1;
  }

  /**
   * Takes the record batches of the `file`-th file (in the order the hour's files were given),
   * by column name; any order of files. Its rows must be as many as its manifest entry says.
   */
  add(file: number, batches: readonly arrow.RecordBatch[], where: string): void {
    const expected = this.#fileRecords[file];
    if (expected === undefined || this.#filled[file])
      throw new IcebergError(`${where}: file ${file} of ${this.#fileRecords.length} added twice or unknown`);
    const rows = batches.reduce((sum, batch) => sum + batch.numRows, 0);
    if (rows !== expected)
      throw new IcebergError(`${where}: holds ${rows} records, its manifest entry says ${expected}`);
    this.#filled[file] = true;
    let start = this.#fileStarts[file] as number;
    for (const batch of batches) {
      if (batch.numRows === 0) continue;
      const columns = this.columns.map((column) => {
        const data = batch.getChild(column.name)?.data;
        if (data?.length !== 1)
          throw new IcebergError(`${where}: no single column ${column.name} in a record batch`);
        return segmentColumn(this.dataset, column, data[0] as arrow.Data, where);
      });
      const segment = { start, length: batch.numRows, columns };
      const index = this.#segments.push(segment) - 1;
      this.#segmentOf.fill(index, start, start + segment.length);
      const ts = columns[this.#tsColumn] as SegmentColumn;
      for (let i = 0; i < segment.length; i++)
        this.#micros[start + i] = signed64(ts.words as Int32Array, (ts.offset + i) * 2);
      if (this.#keyColumn >= 0) {
        const key = columns[this.#keyColumn] as SegmentColumn;
        const offsets = key.offsets as Int32Array;
        const bytes = key.bytes as Uint8Array;
        for (let i = 0; i < segment.length; i++) {
          const at = key.offset + i;
          this.#keyCodes[start + i] = this.#keys.code(
            bytes,
            offsets[at] as number,
            offsets[at + 1] as number,
          );
        }
      }
      start += segment.length;
    }
  }

  #stringAt(column: number, row: number): [Uint8Array, number, number] {
    const segment = this.#segments[this.#segmentOf[row] as number] as Segment;
    const values = segment.columns[column] as SegmentColumn;
    const at = values.offset + row - segment.start;
    const offsets = values.offsets as Int32Array;
    return [values.bytes as Uint8Array, offsets[at] as number, offsets[at + 1] as number];
  }

  #compareIds(a: number, b: number): number {
    const [x, xFrom, xTo] = this.#stringAt(this.#idColumn, a);
    const [y, yFrom, yTo] = this.#stringAt(this.#idColumn, b);
    return compareBytes(x, xFrom, xTo, y, yFrom, yTo);
  }

  /** Rows whose id an earlier row (in file order) already has. */
  #duplicates(): Uint8Array {
    const dropped = new Uint8Array(this.records);
    const hashes = new Float64Array(this.records);
    for (const segment of this.#segments) {
      const ids = segment.columns[this.#idColumn] as SegmentColumn;
      const offsets = ids.offsets as Int32Array;
      const bytes = ids.bytes as Uint8Array;
      for (let i = 0; i < segment.length; i++) {
        const at = ids.offset + i;
        hashes[segment.start + i] = hash52(bytes, offsets[at] as number, offsets[at + 1] as number);
      }
    }
    const sorted = hashes.slice().sort();
    const repeated = new Set<number>();
    for (let i = 1; i < sorted.length; i++)
      if (sorted[i] === sorted[i - 1]) repeated.add(sorted[i] as number);
    if (repeated.size === 0) return dropped;
    // Equal hashes are compared byte for byte: a collision of different ids drops nothing.
    const seen = new Map<number, number[]>();
    for (let row = 0; row < this.records; row++) {
      const hash = hashes[row] as number;
      if (!repeated.has(hash)) continue;
      const earlier = seen.get(hash) ?? [];
      if (earlier.some((other) => this.#compareIds(other, row) === 0)) dropped[row] = 1;
      else seen.set(hash, [...earlier, row]);
    }
    return dropped;
  }

  /**
   * The hour in the order compacted files hold it: by natural key (as JavaScript compares the
   * strings), then `ts`, then `id`, each id once. Every file must have been added.
   */
  order(): HourOrder {
    const missing = this.#filled.indexOf(false);
    if (missing >= 0) throw new IcebergError(`file ${missing} of the hour was never added`);
    const dropped = this.#duplicates();
    let kept = 0;
    for (let row = 0; row < this.records; row++) if (!dropped[row]) kept++;
    const rows = new Uint32Array(kept);
    for (let row = 0, at = 0; row < this.records; row++) if (!dropped[row]) rows[at++] = row;
    const rank = this.#keyRanks();
    const micros = this.#micros;
    let least = Number.POSITIVE_INFINITY;
    let most = Number.NEGATIVE_INFINITY;
    for (const row of rows) {
      least = Math.min(least, micros[row] as number);
      most = Math.max(most, micros[row] as number);
    }
    if (kept > 0 && most - least < TWO_32) this.#sortPacked(rows, rank, least);
    else
      rows.sort(
        (a, b) =>
          rank(a) - rank(b) ||
          (micros[a] as number) - (micros[b] as number) ||
          this.#compareIds(a, b) ||
          a - b,
      );
    return { rows, duplicates: this.records - kept };
  }

  /** Each row's natural key as its rank among the hour's distinct keys; 0 when the dataset has none. */
  #keyRanks(): (row: number) => number {
    if (this.#keyColumn < 0) return () => 0;
    const decoder = new TextDecoder();
    const keys = this.#keys.values.map((bytes, code) => ({ key: decoder.decode(bytes), code }));
    keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const rankOf = new Uint32Array(keys.length);
    keys.forEach(({ code }, rank) => {
      rankOf[code] = rank;
    });
    const codes = this.#keyCodes;
    return (row) => rankOf[codes[row] as number] as number;
  }

  /**
   * Sorts by time with the engine's own sort of 64-bit numbers (the time since `least` in the
   * high word, the row in the low one), then stably by key rank (a counting sort), then the
   * rows of one key and instant by id: the comparator sort's order, many times faster.
   */
  #sortPacked(rows: Uint32Array, rank: (row: number) => number, least: number): void {
    const packed = new BigUint64Array(rows.length);
    const halves = new Uint32Array(packed.buffer);
    rows.forEach((row, i) => {
      halves[i * 2] = row;
      halves[i * 2 + 1] = (this.#micros[row] as number) - least;
    });
    packed.sort();
    let ranks = 0;
    for (const row of rows) ranks = Math.max(ranks, rank(row) + 1);
    const starts = new Uint32Array(ranks + 1);
    for (const row of rows) (starts[rank(row) + 1] as number)++;
    for (let r = 1; r <= ranks; r++) starts[r] = (starts[r] as number) + (starts[r - 1] as number);
    for (let i = 0; i < rows.length; i++) {
      const row = halves[i * 2] as number;
      rows[(starts[rank(row)] as number)++] = row;
    }
    // Runs of one key and one instant: by id.
    for (let from = 0; from < rows.length; ) {
      let to = from + 1;
      const first = rows[from] as number;
      while (
        to < rows.length &&
        rank(rows[to] as number) === rank(first) &&
        this.#micros[rows[to] as number] === this.#micros[first]
      )
        to++;
      if (to - from > 1) rows.subarray(from, to).sort((a, b) => this.#compareIds(a, b) || a - b);
      from = to;
    }
  }

  /**
   * Rows `rows` of the hour as Arrow columns of the dataset's schema (in column order), and
   * what each column adds to the file's metrics.
   */
  gather(rows: Uint32Array): { data: arrow.Data[]; summaries: ColumnGather[] } {
    const placed = this.#place(rows);
    const data: arrow.Data[] = [];
    const summaries: ColumnGather[] = [];
    this.columns.forEach((column, index) => {
      const gathered = gatherColumn(this.dataset, column, index, placed);
      data.push(gathered.data);
      summaries.push(gathered.summary);
    });
    return { data, summaries };
  }

  /**
   * A data file of the rows `rows` (in that order, all of one hour), written in row groups of
   * at most `rowGroupRows` gathered one at a time, with the statistics its manifest entry needs.
   */
  async encodeDataFile(
    rows: Uint32Array,
    hourMs: number,
    rowGroupRows: number,
  ): Promise<{ body: Uint8Array; stats: DataFileStats }> {
    let gathers: ColumnGather[] = this.columns.map(() => ({ kind: "empty" }));
    const hour = this;
    function* rowGroups(): Generator<RowGroupData> {
      for (let from = 0; from < rows.length; from += rowGroupRows) {
        const group = rows.subarray(from, from + rowGroupRows);
        const { data, summaries } = hour.gather(group);
        gathers = gathers.map((gather, index) => mergeGathers(gather, summaries[index] as ColumnGather));
        yield { data, length: group.length };
      }
    }
    const body = await encodeRowGroups(this.dataset, rowGroups(), rowGroupRows);
    const summaries = this.columns.map((column, index) =>
      summaryOfGather(column, gathers[index] as ColumnGather),
    );
    return {
      body,
      stats: {
        tsHour: hourOf(hourMs),
        ...metricsOfSummaries(this.dataset, this.columns, summaries, rows.length),
        ...footerStats(body),
      },
    };
  }

  /** Bytes a record of `rows` written as one row group: what files of this hour will take. */
  async encodedBytesPerRecord(rows: Uint32Array): Promise<number> {
    if (rows.length === 0) return 1;
    const hour = this;
    function* rowGroup(): Generator<RowGroupData> {
      yield { data: hour.gather(rows).data, length: rows.length };
    }
    return (await encodeRowGroups(this.dataset, rowGroup(), rows.length)).byteLength / rows.length;
  }

  /** Each row's segment and index in it. */
  #place(rows: Uint32Array): Placed {
    const segments: Segment[] = [];
    const at = new Uint32Array(rows.length);
    rows.forEach((row, i) => {
      const segment = this.#segments[this.#segmentOf[row] as number] as Segment;
      segments.push(segment);
      at[i] = row - segment.start;
    });
    return { segments, at };
  }
}

interface Placed {
  segments: Segment[];
  at: Uint32Array;
}

/**
 * What a gathered row group adds to a column's summary: least and greatest values in a form
 * that compares (numbers; strings as their UTF-8 bytes, which is Iceberg's order), or list
 * elements.
 */
export type ColumnGather =
  | { kind: "number"; min: number; max: number; negativeZero: boolean }
  | { kind: "bytes"; min: Uint8Array; max: Uint8Array }
  | { kind: "boolean"; all: boolean; any: boolean }
  | { kind: "elements"; count: number }
  | { kind: "empty" };

function gatherColumn(
  dataset: Dataset,
  column: Column,
  index: number,
  { segments, at }: Placed,
): { data: arrow.Data; summary: ColumnGather } {
  const type = arrowTypeOf(dataset, column);
  const length = at.length;
  const kind = column.type.kind;
  const words = WORDS[kind];
  const source = (i: number) => (segments[i] as Segment).columns[index] as SegmentColumn;
  if (words !== undefined) {
    const out = new Int32Array(length * words);
    for (let i = 0; i < length; i++) {
      const values = source(i);
      const from = (values.offset + (at[i] as number)) * words;
      for (let w = 0; w < words; w++) out[i * words + w] = (values.words as Int32Array)[from + w] as number;
    }
    const data =
      kind === "int32"
        ? out
        : kind === "float64"
          ? new Float64Array(out.buffer)
          : kind === "decimal"
            ? new Uint32Array(out.buffer)
            : new BigInt64Array(out.buffer);
    return { data: makeData({ type, length, data }), summary: numberSummary(kind, out, words, length) };
  }
  if (kind === "boolean") {
    const out = new Uint8Array(Math.ceil(length / 8));
    let all = true;
    let any = false;
    for (let i = 0; i < length; i++) {
      const values = source(i);
      const bit = values.offset + (at[i] as number);
      const value = (((values.bits as Uint8Array)[bit >> 3] as number) >> (bit & 7)) & 1;
      if (value) out[i >> 3] = (out[i >> 3] as number) | (1 << (i & 7));
      all &&= value === 1;
      any ||= value === 1;
    }
    return {
      data: makeData({ type, length, data: out }),
      summary: length === 0 ? { kind: "empty" } : { kind: "boolean", all, any },
    };
  }
  if (kind === "string") {
    // Two passes without a tuple a row: the lengths, then the bytes.
    const offsets = new Int32Array(length + 1);
    for (let i = 0; i < length; i++) {
      const values = source(i);
      const row = values.offset + (at[i] as number);
      const from = values.offsets as Int32Array;
      offsets[i + 1] = (offsets[i] as number) + (from[row + 1] as number) - (from[row] as number);
    }
    const bytes = new Uint8Array(offsets[length] as number);
    for (let i = 0; i < length; i++) {
      const values = source(i);
      const row = values.offset + (at[i] as number);
      const from = values.offsets as Int32Array;
      const input = values.bytes as Uint8Array;
      const start = from[row] as number;
      const into = (offsets[i] as number) - start;
      for (let b = start; b < (from[row + 1] as number); b++) bytes[into + b] = input[b] as number;
    }
    const strings = { offsets, bytes };
    return {
      data: makeData({ type, length, valueOffsets: strings.offsets, data: strings.bytes }),
      summary: bytesSummary(strings.offsets, strings.bytes, length),
    };
  }
  // A list of strings: the lists' element ranges, then the elements.
  const listOffsets = new Int32Array(length + 1);
  const elements: Array<[SegmentColumn, number]> = [];
  for (let i = 0; i < length; i++) {
    const values = source(i);
    const row = values.offset + (at[i] as number);
    const lists = values.listOffsets as Int32Array;
    for (let e = lists[row] as number; e < (lists[row + 1] as number); e++) elements.push([values, e]);
    listOffsets[i + 1] = elements.length;
  }
  const strings = gatherStrings(elements.length, (i) => {
    const [values, e] = elements[i] as [SegmentColumn, number];
    const offsets = values.offsets as Int32Array;
    return [values.bytes as Uint8Array, offsets[e] as number, offsets[e + 1] as number];
  });
  const child = makeData({
    type: (type as arrow.List).children[0]?.type as arrow.Utf8,
    length: elements.length,
    valueOffsets: strings.offsets,
    data: strings.bytes,
  });
  return {
    data: makeData({ type, length, valueOffsets: listOffsets, child }),
    summary: { kind: "elements", count: elements.length },
  };
}

/** arrow.makeData, typed loosely: the column's type is only known at run time. */
function makeData(props: Record<string, unknown>): arrow.Data {
  return arrow.makeData(props as never) as arrow.Data;
}

function gatherStrings(
  length: number,
  stringAt: (i: number) => [Uint8Array, number, number],
): { offsets: Int32Array; bytes: Uint8Array } {
  const offsets = new Int32Array(length + 1);
  let size = 0;
  for (let i = 0; i < length; i++) {
    const [, from, to] = stringAt(i);
    size += to - from;
    offsets[i + 1] = size;
  }
  const bytes = new Uint8Array(size);
  for (let i = 0; i < length; i++) {
    const [source, from, to] = stringAt(i);
    const into = offsets[i] as number;
    for (let b = from; b < to; b++) bytes[into + b - from] = source[b] as number;
  }
  return { offsets, bytes };
}

function numberSummary(
  kind: Column["type"]["kind"],
  out: Int32Array,
  words: number,
  length: number,
): ColumnGather {
  if (length === 0) return { kind: "empty" };
  const floats = kind === "float64" ? new Float64Array(out.buffer) : undefined;
  // Decimals by their unscaled value (the low 64-bit word), times and integers exactly.
  const valueAt = (i: number): number =>
    kind === "int32" ? (out[i] as number) : floats ? (floats[i] as number) : signed64(out, i * words);
  let min = valueAt(0);
  let max = min;
  let negativeZero = false;
  for (let i = 0; i < length; i++) {
    const value = valueAt(i);
    if (value < min) min = value;
    if (value > max) max = value;
    if (floats && value === 0 && Object.is(value, -0)) negativeZero = true;
  }
  return { kind: "number", min, max, negativeZero };
}

function bytesSummary(offsets: Int32Array, bytes: Uint8Array, length: number): ColumnGather {
  if (length === 0) return { kind: "empty" };
  let min = 0;
  let max = 0;
  for (let i = 1; i < length; i++) {
    const from = offsets[i] as number;
    const to = offsets[i + 1] as number;
    if (compareBytes(bytes, from, to, bytes, offsets[min] as number, offsets[min + 1] as number) < 0) min = i;
    if (compareBytes(bytes, from, to, bytes, offsets[max] as number, offsets[max + 1] as number) > 0) max = i;
  }
  return {
    kind: "bytes",
    min: bytes.slice(offsets[min], offsets[min + 1]),
    max: bytes.slice(offsets[max], offsets[max + 1]),
  };
}

/** Two row groups' summaries of one column as one. */
export function mergeGathers(a: ColumnGather, b: ColumnGather): ColumnGather {
  if (a.kind === "empty") return b;
  if (b.kind === "empty") return a;
  if (a.kind === "number" && b.kind === "number")
    return {
      kind: "number",
      min: Math.min(a.min, b.min),
      max: Math.max(a.max, b.max),
      negativeZero: a.negativeZero || b.negativeZero,
    };
  if (a.kind === "bytes" && b.kind === "bytes")
    return {
      kind: "bytes",
      min: compareBytes(a.min, 0, a.min.length, b.min, 0, b.min.length) <= 0 ? a.min : b.min,
      max: compareBytes(a.max, 0, a.max.length, b.max, 0, b.max.length) >= 0 ? a.max : b.max,
    };
  if (a.kind === "boolean" && b.kind === "boolean")
    return { kind: "boolean", all: a.all && b.all, any: a.any || b.any };
  if (a.kind === "elements" && b.kind === "elements") return { kind: "elements", count: a.count + b.count };
  throw new IcebergError(`cannot merge column summaries of kinds ${a.kind} and ${b.kind}`);
}

/** A column's gathered summary as the contract's values, which `metricsOfSummaries` serializes. */
export function summaryOfGather(column: Column, gather: ColumnGather): ColumnSummary | undefined {
  switch (gather.kind) {
    case "empty":
      return column.type.kind === "string_list" ? { elements: 0 } : undefined;
    case "elements":
      return { elements: gather.count };
    case "boolean":
      return { min: gather.all, max: gather.any };
    case "bytes": {
      const decoder = new TextDecoder();
      return { min: decoder.decode(gather.min), max: decoder.decode(gather.max) };
    }
    case "number": {
      const { kind } = column.type;
      if (kind === "timestamp_ms")
        return {
          min: new Date(gather.min / 1000).toISOString(),
          max: new Date(gather.max / 1000).toISOString(),
        };
      if (column.type.kind === "decimal") {
        const scale = 10 ** column.type.scale;
        return { min: gather.min / scale, max: gather.max / scale };
      }
      // -0 and 0 compare equal; Iceberg orders -0 first, so a bound must not claim 0 for -0.
      const min = kind === "float64" && gather.min === 0 && gather.negativeZero ? -0 : gather.min;
      return { min, max: gather.max };
    }
  }
}
