/**
 * The Iceberg field ids of every dataset's columns: an append-only ledger.
 *
 * Iceberg finds a column in a data file by its field id, never by its name or position, so an
 * id given to a column is that column's for ever: a renamed column keeps it, a dropped
 * column's id is never given to another, and a column a later contract version (`v`) adds
 * takes the next unused id. Ids are written here, not derived from the schema's order, so
 * that inserting a field in the middle of a zod schema cannot shift them. The processor
 * writes these ids into every Parquet file; the table's schema carries the same ones
 * (`icebergSchemaOf`), and `test/unit/iceberg-schema.test.ts` checks that every column has
 * one and no id is used twice.
 *
 * A list column has two ids: the list's own, and its element's (`<column>.element`).
 */
import type { Dataset } from "../events.ts";

export const FIELD_IDS: Readonly<Record<Dataset, Readonly<Record<string, number>>>> = {
  fx_quotes: {
    v: 1,
    id: 2,
    ts: 3,
    source_service: 4,
    source_instance: 5,
    pair: 6,
    bid: 7,
    ask: 8,
  },
  stock_quotes: {
    v: 1,
    id: 2,
    ts: 3,
    source_service: 4,
    source_instance: 5,
    symbol: 6,
    bid: 7,
    ask: 8,
    last: 9,
    volume: 10,
  },
  news: {
    v: 1,
    id: 2,
    ts: 3,
    source_service: 4,
    source_instance: 5,
    article_id: 6,
    headline: 7,
    summary: 8,
    category: 9,
    symbols: 10,
    "symbols.element": 11,
    sentiment: 12,
  },
  http_requests: {
    v: 1,
    id: 2,
    ts: 3,
    source_service: 4,
    source_instance: 5,
    request_id: 6,
    method: 7,
    route: 8,
    path: 9,
    status: 10,
    duration_ms: 11,
    bytes: 12,
  },
};

/** The element id of a list column, by the ledger's `<column>.element` convention. */
export const elementKey = (column: string): string => `${column}.element`;
