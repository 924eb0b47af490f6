/**
 * The readers of the tables against the real local S3 and SNS/SQS over HTTP, with the real
 * DuckDB: `ticklake query` reads exactly the files of a table's current snapshot (after a
 * commit that adds files, and after a compaction that replaces them: replaced files must not
 * be read twice), `--as-of` reads an older snapshot, a dataset without a table falls back to
 * its raw objects, and `sync --kind table` mirrors exactly the table's current files.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseS3Uri } from "../../src/aws/iceberg-s3.ts";
import { TableSync } from "../../src/aws/table-sync.ts";
import { publishTableUpdate, tableDeps } from "../../src/aws/tables.ts";
import { type QueryResult, querySource, runQuery } from "../../src/cli/query.ts";
import { tablesOfTarget } from "../../src/cli/targets.ts";
import type { Envelope } from "../../src/core/events.ts";
import type { AnnouncedFile } from "../../src/core/iceberg/commit.ts";
import { SnapshotNotFoundError } from "../../src/core/iceberg/errors.ts";
import { compactTable } from "../../src/core/iceberg/maintenance.ts";
import { scanTable } from "../../src/core/iceberg/scan.ts";
import { type CommitOutcome, commitFiles, ensureTable } from "../../src/core/iceberg/table-ops.ts";
import { runInProcess } from "../support/cli.ts";
import { fxQuote, stockQuote } from "../support/factories.ts";
import { writeLakeFiles } from "../support/iceberg.ts";
import { getBytes, provisionedAws } from "../support/local-aws.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const H1 = Date.UTC(2026, 10, 26, 14); // compacted once the second hour is half gone
const H2 = H1 + HOUR;
const SYMBOLS = ["MSFT", "AAPL", "NVDA"];

const quotes = (count: number, startMs: number, stepMs: number): Envelope[] =>
  Array.from({ length: count }, (_, i) => stockQuote(startMs + i * stepMs, SYMBOLS[i % 3]));

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

describe("readers of the tables", () => {
  const aws = provisionedAws("readers");
  const layer = () => tablesOfTarget("local", aws.resources.bucket);
  const table = () => ({ namespace: layer().namespace, name: "stock_quotes" });
  /** Snapshot times come from this clock, so that --as-of can name a time between two commits. */
  let clock = H2 + 30 * MINUTE;
  let deps: ReturnType<typeof tableDeps>;
  let sync: TableSync;
  const syncDir = () => join(aws.dir, "synced");
  const snapshotTimes: number[] = [];

  const query = (sql: string, asOfMs?: number): Promise<QueryResult> =>
    runQuery(querySource(aws.clients, aws.resources.bucket, layer(), join(aws.dir, "cache")), sql, {
      timeoutMs: 60_000,
      ...(asOfMs === undefined ? {} : { asOfMs }),
    });
  const scalar = async (sql: string, asOfMs?: number) => (await query(sql, asOfMs)).rows[0]?.[0];

  /** Commits files into stock_quotes at the clock's time and publishes the notification, as the committer does. */
  async function commit(files: AnnouncedFile[]): Promise<void> {
    const outcome: CommitOutcome = await commitFiles(deps, table(), files);
    if (outcome.kind !== "committed") throw new Error(`expected a commit, got ${outcome.kind}`);
    snapshotTimes.push(clock);
    await publishTableUpdate(aws.clients.sns, aws.resources.topicArn, outcome.notification);
  }

  const h1 = quotes(60, H1 + MINUTE, 45_000);
  const h2 = quotes(20, H2 + MINUTE, 60_000);
  const resent = h1.slice(10, 20); // a producer's blind retry: the same records in a second file
  let h1Files: AnnouncedFile[] = [];

  it("reads exactly the files of the current snapshot: committed files once, uncommitted objects not at all", async () => {
    // GIVEN stock_quotes with one commit of the first hour (70 rows, 60 ids) from two shards, subscribed to by sync
    deps = { ...tableDeps(aws.clients, layer()), now: () => clock };
    sync = new TableSync({
      clients: aws.clients,
      topicArn: aws.resources.topicArn,
      queueName: "readers-table-sync",
      dir: syncDir(),
      waitSeconds: 1,
    });
    await sync.start();
    await ensureTable(deps, table(), "stock_quotes", deps.locationOf(table()));
    const s3 = aws.clients.s3;
    const bucket = aws.resources.bucket;
    h1Files = [
      ...(await writeLakeFiles(s3, bucket, h1.slice(0, 30), "shardId-000000000000")),
      ...(await writeLakeFiles(s3, bucket, h1.slice(30), "shardId-000000000001")),
      ...(await writeLakeFiles(s3, bucket, resent, "shardId-000000000001")),
    ];
    await commit(h1Files);
    // AND the second hour written to the lake but not committed yet
    const h2Files = await writeLakeFiles(s3, bucket, h2);

    // WHEN a query counts the records, and lists the files it read
    const count = await scalar("SELECT count(*) FROM stock_quotes");
    const files = await query("SELECT count(*) AS files, sum(records) AS records FROM table_files");

    // THEN it read the committed files only, each id once
    expect(count).toBe("60");
    expect(files.rows).toEqual([[String(h1Files.length), "70"]]);

    // AND after the second hour's commit, it reads both hours
    clock += 10 * MINUTE;
    await commit(h2Files);
    expect(await scalar("SELECT count(*) FROM stock_quotes")).toBe("80");
    expect(await scalar("SELECT count(*) FROM stock_quotes WHERE hour = 15")).toBe("20");
  });

  it("after a compaction replaces an hour's files, reads the compacted file and not the replaced ones", async () => {
    // GIVEN maintenance compacting the closed first hour
    clock += 10 * MINUTE;
    const [compacted] = await compactTable(deps, table(), "stock_quotes");
    expect(compacted).toMatchObject({ replaced: h1Files.length, written: 1, recordsOut: 60 });
    if (!compacted?.notification) throw new Error("the compaction announced nothing");
    snapshotTimes.push(clock);
    await publishTableUpdate(aws.clients.sns, aws.resources.topicArn, compacted.notification);

    // WHEN a query reads the table
    const byHour = await query(
      "SELECT hour(ts_hour AT TIME ZONE 'UTC') AS hour, count(*) AS files, sum(records) AS records, bool_and(compacted) AS compacted FROM table_files GROUP BY ALL ORDER BY hour",
    );

    // THEN the first hour is one compacted file of 60 records: the 70 rows it replaced are not read as well
    expect(byHour.rows).toEqual([
      ["14", "1", "60", true],
      ["15", "1", "20", false],
    ]);
    expect(await scalar("SELECT count(*) FROM Stock_Quotes")).toBe("80");
    // Without deduplication on id too: the view's files hold each record once.
    expect(await scalar("SELECT sum(records) FROM table_files")).toBe("80");
  });

  it("--as-of reads the snapshot current then, and a time before the first snapshot is an error", async () => {
    const [first, second, third] = snapshotTimes;
    if (first === undefined || second === undefined || third === undefined)
      throw new Error("three snapshots expected");

    // WHEN the table is read as of a time between the first and the second commit
    const asOfFirst = await query(
      "SELECT count(*), count(*) FILTER (WHERE hour = 15) FROM stock_quotes",
      first + MINUTE,
    );

    // THEN it holds the first hour only, read from the files that snapshot listed
    expect(asOfFirst.rows).toEqual([["60", "0"]]);
    expect(await scalar("SELECT count(*) FROM table_files", first + MINUTE)).toBe(String(h1Files.length));
    expect(await scalar("SELECT operation FROM table_snapshots WHERE queried", first + MINUTE)).toBe(
      "append",
    );
    // AND between the second commit and the compaction, both hours from the raw files
    expect(await scalar("SELECT count(*) FROM table_files", second + MINUTE)).toBe(
      String(h1Files.length + 1),
    );
    expect(await scalar("SELECT count(*) FROM stock_quotes", second + MINUTE)).toBe("80");

    // AND a time before the first snapshot fails, naming the option, the time and what is allowed
    const before = new Date(first - MINUTE).toISOString();
    await expect(query("SELECT count(*) FROM stock_quotes", first - MINUTE)).rejects.toThrow(
      SnapshotNotFoundError,
    );
    const cli = await runInProcess([
      "--state-dir",
      aws.dir,
      "query",
      "--bucket",
      aws.resources.bucket,
      "--cache-dir",
      join(aws.dir, "cache"),
      "--as-of",
      before,
      "SELECT count(*) FROM stock_quotes",
    ]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toBe(
      `ticklake: --as-of ${before} is before the first snapshot of the tables the query reads (stock_quotes, committed at ${new Date(first).toISOString()}): allowed is a time from then on\n`,
    );
  });

  it("a dataset without a table reads its raw objects, and says so; as of a time, it had no rows", async () => {
    // GIVEN FX quotes in the lake, and no fx_quotes table (a lake written before the table layer)
    const fx = Array.from({ length: 12 }, (_, i) => fxQuote(H1 + i * MINUTE, i % 2 ? "EURUSD" : "USDJPY"));
    const fxFiles = await writeLakeFiles(aws.clients.s3, aws.resources.bucket, fx);

    // WHEN queries read fx_quotes, now and as of a time (beside stock_quotes, and alone)
    const now = await query("SELECT count(*) FROM fx_quotes");
    const [, second] = snapshotTimes;
    const asOf = (second ?? 0) + MINUTE;
    const past = await query(
      "SELECT (SELECT count(*) FROM fx_quotes), (SELECT count(*) FROM stock_quotes)",
      asOf,
    );

    // THEN now it reads the objects and notes it; in the past it had no rows, and alone it has no past
    expect(now.rows).toEqual([["12"]]);
    expect(now.notes).toEqual([
      `fx_quotes has no table yet: read from its ${fxFiles.length} raw objects under lake/fx_quotes/`,
    ]);
    expect(past.rows).toEqual([["0", "80"]]);
    expect(past.notes).toEqual(["fx_quotes has no table: it had no rows at --as-of"]);
    await expect(query("SELECT count(*) FROM fx_quotes", asOf)).rejects.toThrow(
      `--as-of ${new Date(asOf).toISOString()}: fx_quotes has no table yet in namespace ticklake_local, so there is no past to read: query without --as-of`,
    );
    // AND a query of one dataset reads that one's files only: not the tables it does not name
    expect(now.mirrored.listed).toBe(fxFiles.length);
    expect(past.notes).toContain("fx_quotes has no table: it had no rows at --as-of");
  });

  it("sync following the table notifications mirrors exactly the table's current files", async () => {
    // WHEN sync receives the three notifications (two appends, one compaction)
    while ((await sync.receiveOnce()) > 0) {}

    // THEN its folder holds the current snapshot's files, byte for byte, and not the replaced ones
    const current = await scanTable(deps, table());
    const expected = (current?.files ?? [])
      .map((file) => sync.localPathOf("stock_quotes", file.filePath))
      .sort();
    expect(expected).toHaveLength(2);
    expect(await filesUnder(join(syncDir(), "stock_quotes"))).toEqual(expected);
    for (const file of current?.files ?? []) {
      const { bucket, key } = parseS3Uri(file.filePath);
      expect(await readFile(sync.localPathOf("stock_quotes", file.filePath))).toEqual(
        Buffer.from(await getBytes(aws.clients.s3, bucket, key)),
      );
    }
    expect(sync.stats).toMatchObject({ notifications: 3, removed: h1Files.length, skipped: 0 });

    // AND from the CLI, a backfill into a new folder gives the same files
    const dir = join(aws.dir, "backfilled");
    const cli = await runInProcess([
      "--state-dir",
      aws.dir,
      "sync",
      dir,
      "--kind",
      "table",
      "--backfill",
      "--once",
      "--bucket",
      aws.resources.bucket,
      "--topic-arn",
      aws.resources.topicArn,
      "--queue",
      "readers-table-sync-cli",
    ]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain("backfilled 2 table files");
    expect((await filesUnder(join(dir, "stock_quotes"))).map((path) => path.slice(dir.length))).toEqual(
      expected.map((path) => path.slice(syncDir().length)),
    );
  });
});
