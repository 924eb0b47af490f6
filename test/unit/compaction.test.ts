/**
 * Compaction's columnar rewrite of an hour (HourColumns): the records of the hour's files,
 * each id once (the first in file order), sorted by natural key, `ts`, `id`, written in
 * bounded row groups with the same column metrics as the same records written at once. The
 * expected order is computed here the plain way, with one object per record; DuckDB reads
 * the written file back.
 */
import { describe, expect, it } from "vitest";
import type { Dataset, Envelope } from "../../src/core/events.ts";
import { cutIntoFiles } from "../../src/core/iceberg/compaction.ts";
import { HourColumns } from "../../src/core/iceberg/hour-columns.ts";
import type { DataFileStats } from "../../src/core/iceberg/metrics.ts";
import { NATURAL_KEY } from "../../src/core/iceberg/schema.ts";
import { encodeDataFile, encodeParquet, recordBatchesOf } from "../../src/core/parquet.ts";
import { parquetEnvelopes } from "../support/duckdb.ts";
import { newsArticle, stockQuote } from "../support/factories.ts";

const H1 = Date.UTC(2026, 10, 26, 14);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The hour as compaction must write it, the plain way: first of each id, sorted. */
function expected(dataset: Dataset, files: readonly Envelope[][]): Envelope[] {
  const byId = new Map<string, Envelope>();
  for (const file of files) for (const event of file) if (!byId.has(event.id)) byId.set(event.id, event);
  const key = NATURAL_KEY[dataset];
  const text = (event: Envelope) => (key ? (event.data as unknown as Record<string, string>)[key] : "") ?? "";
  const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...byId.values()].sort(
    (a, b) => compare(text(a), text(b)) || compare(a.ts, b.ts) || compare(a.id, b.id),
  );
}

/** Metrics that do not depend on how the file was cut into row groups. */
const metrics = ({ columnSizes: _, splitOffsets: __, ...rest }: DataFileStats) => rest;

async function compact(dataset: Dataset, files: readonly Envelope[][], rowGroupRows: number) {
  const hour = new HourColumns(
    dataset,
    files.map((file) => file.length),
  );
  // Files arrive in any order (reads run concurrently); each goes to its place.
  for (const index of files.map((_, i) => i).reverse())
    hour.add(
      index,
      [...recordBatchesOf(encodeParquet(dataset, files[index] as Envelope[]))],
      `file ${index}`,
    );
  const { rows, duplicates } = hour.order();
  const { body, stats } = await hour.encodeDataFile(rows, H1, rowGroupRows);
  const oneRowGroup = await hour.encodeDataFile(rows, H1, rows.length);
  return {
    duplicates,
    stats,
    events: await parquetEnvelopes(dataset, body),
    estimate: {
      measured: await hour.encodedBytesPerRecord(rows),
      written: oneRowGroup.body.byteLength / rows.length,
    },
  };
}

describe("an hour compacted column by column", () => {
  it("writes the hour sorted by symbol, ts and id, each id once, in row groups of the given size, with the metrics of the same records written at once", async () => {
    // GIVEN three files of quotes out of order, with ties of symbol and time, a record re-sent
    // in a later file, and a later record reusing an id with other content
    const symbols = ["NVDA", "AAPL", "MSFT", "AAPL"];
    const first = Array.from({ length: 20 }, (_, i) =>
      stockQuote(H1 + (50 - i) * MINUTE, symbols[i % symbols.length]),
    );
    const tied = [stockQuote(H1 + 30 * MINUTE, "AAPL"), stockQuote(H1 + 30 * MINUTE, "AAPL")];
    const second = [
      ...tied.reverse(),
      ...Array.from({ length: 9 }, (_, i) => stockQuote(H1 + i * 1_000, "GS")),
    ];
    const reused = {
      ...(first[3] as Envelope),
      data: { ...(first[3] as Envelope).data, symbol: "ZZZ" },
    } as Envelope;
    const third = [first[5] as Envelope, reused, stockQuote(H1 + 59 * MINUTE, "AAPL")];
    const files = [first, second, third];

    // WHEN the hour is compacted in row groups of 7 rows
    const result = await compact("stock_quotes", files, 7);

    // THEN the file holds the first of each id, in order; the metrics are those of the same records
    const want = expected("stock_quotes", files);
    expect(want).toHaveLength(32);
    expect(result.duplicates).toBe(2);
    expect(result.events).toEqual(want);
    expect(result.events.some((event) => (event.data as { symbol: string }).symbol === "ZZZ")).toBe(false);
    expect(result.stats.splitOffsets).toHaveLength(Math.ceil(32 / 7));
    expect(metrics(result.stats)).toEqual(metrics(encodeDataFile("stock_quotes", want, H1).stats));
    // AND the bytes a record it measures to cut files are those of the rows written as one row group
    expect(result.estimate.measured).toBe(result.estimate.written);
  });

  it("orders the same when the times span more than the packed sort holds (over 71 minutes)", async () => {
    // GIVEN records three hours apart (no hour's files hold such, but the order must not depend on it)
    const files = [
      [stockQuote(H1 + 3 * HOUR, "AAPL"), stockQuote(H1, "MSFT"), stockQuote(H1 + HOUR, "AAPL")],
      [stockQuote(H1 + 2 * HOUR, "AAPL"), stockQuote(H1 + 5, "AAPL")],
    ];

    // WHEN it is compacted
    const result = await compact("stock_quotes", files, 100);

    // THEN the order is natural key, ts, id
    expect(result.events).toEqual(expected("stock_quotes", files));
  });

  it("writes a dataset without a natural key by ts, lists and floats included, with the same metrics", async () => {
    // GIVEN news in two files, one article re-sent, sentiments of both signs
    const articles = Array.from({ length: 6 }, (_, i) => {
      const article = newsArticle(H1 + (6 - i) * MINUTE);
      const data = article.data as { symbols: string[]; sentiment: number };
      data.symbols = i % 2 ? ["AAPL", "MSFT"] : [];
      data.sentiment = i % 2 ? -0.25 * i : 0.1 * i;
      return article;
    });
    const files = [articles.slice(0, 4), [...articles.slice(4), articles[1] as Envelope]];

    // WHEN it is compacted
    const result = await compact("news", files, 4);

    // THEN ts order, each id once, metrics as for the records written at once
    const want = expected("news", files);
    expect(result.events).toEqual(want);
    expect(metrics(result.stats)).toEqual(metrics(encodeDataFile("news", want, H1).stats));
  });

  it("refuses a file holding other than the records its manifest entry counts, and an hour missing a file", () => {
    // GIVEN an hour of two files, the first announced with 3 records
    const hour = new HourColumns("stock_quotes", [3, 1]);
    const twoRecords = encodeParquet("stock_quotes", [stockQuote(H1), stockQuote(H1 + 1)]);

    // WHEN / THEN the file with 2 is refused, and ordering without every file too
    expect(() => hour.add(0, [...recordBatchesOf(twoRecords)], "s3://b/f0")).toThrow(
      "s3://b/f0: holds 2 records, its manifest entry says 3",
    );
    expect(() => hour.order()).toThrow("file 0 of the hour was never added");
  });

  it("cuts the ordered rows into files of at most the target size, a tenth kept spare", () => {
    // GIVEN 10 rows in order, written at 100 bytes a record
    const rows = Uint32Array.from({ length: 10 }, (_, i) => 9 - i);

    // WHEN cut for files of 400 bytes, and for files larger than the hour
    const small = cutIntoFiles(rows, 100, 400);
    const large = cutIntoFiles(rows, 100, 128 * 1024 * 1024);

    // THEN 3 rows a file (360 of 400 bytes), in order; one file of all
    expect(small.map((file) => [...file])).toEqual([[9, 8, 7], [6, 5, 4], [3, 2, 1], [0]]);
    expect(large.map((file) => file.length)).toEqual([10]);
  });
});
