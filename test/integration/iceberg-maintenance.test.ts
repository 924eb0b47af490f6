/**
 * Maintenance of a table on the real local S3: compaction of closed hours as replace
 * snapshots, late files compacted again, re-announced replaced files refused, snapshot expiry
 * after the time-travel window and orphan removal; pyiceberg reads every step back.
 */
import { HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { parseS3Uri, type S3VersionCatalog } from "../../src/aws/iceberg-s3.ts";
import type { Envelope } from "../../src/core/events.ts";
import type { AnnouncedFile } from "../../src/core/iceberg/commit.ts";
import { compactTable, expireSnapshots, removeOrphans } from "../../src/core/iceberg/maintenance.ts";
import {
  commitFiles,
  ensureTable,
  type TableDeps,
  type TableIdentifier,
} from "../../src/core/iceberg/table-ops.ts";
import type { RunningEmulators } from "../../src/local/emulators.ts";
import { parquetEnvelopes } from "../support/duckdb.ts";
import { stockQuote } from "../support/factories.ts";
import { checkTables, localTables, writeLakeFiles } from "../support/iceberg.ts";
import { getBytes } from "../support/local-aws.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const H1 = Date.UTC(2026, 10, 26, 14); // the hour compacted
const H2 = H1 + HOUR; // still open when compaction first runs
const BUCKET = "iceberg-maintenance-test";
const SYMBOLS = ["MSFT", "AAPL", "NVDA"];

const local = localTables(BUCKET);
let emulators: RunningEmulators;
let s3: S3Client;
let clock = H2 + 30 * MINUTE;
let deps: TableDeps;
let catalog: S3VersionCatalog;
const table: TableIdentifier = { namespace: "ticklake", name: "stock_quotes" };

beforeAll(async () => {
  ({ s3, emulators, catalog } = local);
  deps = { catalog, io: local.io, now: () => clock };
  await ensureTable(deps, table, "stock_quotes", catalog.locationOf(table));
});

function quotes(count: number, startMs: number, stepMs: number): Envelope[] {
  return Array.from({ length: count }, (_, i) => stockQuote(startMs + i * stepMs, SYMBOLS[i % 3]));
}

const sortedIds = (events: readonly Envelope[]) => [...new Set(events.map((event) => event.id))].sort();

async function exists(path: string): Promise<boolean> {
  const { bucket, key } = parseS3Uri(path);
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

const read = async (options: { snapshots?: boolean } = {}) => {
  const [checked] = await checkTables(
    emulators.endpoints.s3,
    [{ location: catalog.locationOf(table) }],
    options,
  );
  if (!checked) throw new Error("pyiceberg read no table");
  return checked;
};

describe("table maintenance (local catalog, pyiceberg reads back)", () => {
  const h1Events = quotes(60, H1 + MINUTE, 45_000);
  const h2Events = quotes(20, H2 + MINUTE, 60_000);
  const resent = h1Events.slice(10, 20); // a producer's blind retry: the same records again
  let h1Files: AnnouncedFile[] = [];
  let h2Files: AnnouncedFile[] = [];
  let firstCompacted: string[] = [];
  const late = quotes(5, H1 + 59 * MINUTE, 1_000);
  let lateFiles: AnnouncedFile[] = [];

  it("compacts a closed hour into one sorted file without duplicate ids, and leaves the open hour alone", async () => {
    // GIVEN an hour of small files from two shards, with re-sent records, and an open hour
    h1Files = [
      ...(await writeLakeFiles(s3, BUCKET, h1Events.slice(0, 30), "shardId-000000000000")),
      ...(await writeLakeFiles(s3, BUCKET, h1Events.slice(30), "shardId-000000000001")),
      ...(await writeLakeFiles(s3, BUCKET, resent, "shardId-000000000001")),
    ];
    h2Files = await writeLakeFiles(s3, BUCKET, h2Events);
    expect((await commitFiles(deps, table, [...h1Files, ...h2Files])).kind).toBe("committed");

    // WHEN maintenance compacts, half an hour into the second hour
    const results = await compactTable(deps, table, "stock_quotes");

    // THEN the first hour is one file, sorted by symbol then ts, each id once; the old snapshot reads as it was
    expect(results).toMatchObject([
      { hour: "2026-11-26T14:00Z", replaced: h1Files.length, written: 1, recordsIn: 70, recordsOut: 60 },
    ]);
    const checked = await read({ snapshots: true });
    const hourOne = checked.files.filter((file) => file.partition[0] === Math.floor(H1 / HOUR));
    expect(hourOne).toHaveLength(1);
    expect(hourOne[0]?.sort_order_id).toBe(1);
    expect(hourOne[0]?.records).toBe(60);
    expect(checked.ids).toEqual(sortedIds([...h1Events, ...h2Events]));
    expect(checked.snapshots.map((snapshot) => snapshot.operation)).toEqual(["append", "replace"]);
    expect(checked.snapshots[0]?.ids).toHaveLength(90); // before compaction: 80 records and 10 re-sent
    expect(checked.snapshots[1]?.summary).toMatchObject({
      "deleted-data-files": String(h1Files.length),
      "added-data-files": "1",
    });
    const rows = await parquetEnvelopes(
      "stock_quotes",
      await getBytes(s3, BUCKET, parseS3Uri(hourOne[0]?.path ?? "").key),
    );
    const keys = rows.map((row) => `${(row.data as { symbol: string }).symbol}|${row.ts}`);
    expect(keys).toEqual([...keys].sort());
    firstCompacted = hourOne.map((file) => file.path);
  });

  it("refuses a replaced file announced again, and compacts a late file into its hour again", async () => {
    // GIVEN a replaced file redriven from the DLQ, and a late file of the compacted hour
    const redriven = await commitFiles(deps, table, [h1Files[0] as AnnouncedFile]);
    lateFiles = await writeLakeFiles(s3, BUCKET, late);
    const lateCommit = await commitFiles(deps, table, [h1Files[1] as AnnouncedFile, ...lateFiles]);

    // WHEN maintenance runs again
    const results = await compactTable(deps, table, "stock_quotes");

    // THEN the redrive added nothing, the late file was committed once and compacted with the rest
    expect(redriven.kind).toBe("nothing-new");
    expect(lateCommit.kind === "committed" && lateCommit.notification.files.map((file) => file.path)).toEqual(
      lateFiles.map((file) => file.path),
    );
    expect(results).toMatchObject([{ replaced: 2, written: 1, recordsOut: 65 }]);
    const checked = await read();
    expect(checked.files.filter((file) => file.partition[0] === Math.floor(H1 / HOUR))).toHaveLength(1);
    expect(checked.ids).toEqual(sortedIds([...h1Events, ...late, ...h2Events]));
  });

  it("expires snapshots only after the time-travel window, then deletes the files only they read", async () => {
    // GIVEN the table after two compactions; the time-travel window is 1 day
    const window = { timeTravelMs: 24 * HOUR };
    clock = H2 + 2 * HOUR;
    const inside = await expireSnapshots(deps, table, window);
    expect(inside).toMatchObject({ expiredSnapshots: 0, deletedDataFiles: [] });
    for (const file of [...h1Files, ...h2Files]) expect(await exists(file.path)).toBe(true);

    // WHEN the window has passed and maintenance expires snapshots
    clock = H2 + 3 * 24 * HOUR;
    const after = await expireSnapshots(deps, table, window);

    // THEN only the current snapshot is left; replaced files are gone, live ones stay
    const checked = await read({ snapshots: true });
    expect(checked.snapshots).toHaveLength(1);
    expect(after.expiredSnapshots).toBe(3);
    expect(after.deletedDataFiles).toEqual(
      [...h1Files.map((file) => file.path), ...firstCompacted, ...lateFiles.map((file) => file.path)].sort(),
    );
    for (const file of h1Files) expect(await exists(file.path)).toBe(false);
    for (const path of firstCompacted) expect(await exists(path)).toBe(false);
    for (const file of h2Files) expect(await exists(file.path)).toBe(true);
    for (const file of checked.files) expect(await exists(file.path)).toBe(true);
    expect(checked.ids).toEqual(sortedIds([...h1Events, ...late, ...h2Events]));

    // AND a replaced, expired file announced again weeks later (a replay restored it) adds nothing
    expect((await commitFiles(deps, table, [h1Files[2] as AnnouncedFile])).kind).toBe("nothing-new");
  });

  it("removes unreferenced files in the table's folder after the grace period, and nothing else", async () => {
    // GIVEN a stray manifest of a commit that died, and the table as it is
    const location = catalog.locationOf(table);
    const stray = `${location}/metadata/dead-commit-m0.avro`;
    const { bucket, key } = parseS3Uri(stray);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "x" }));
    const before = await read();

    // WHEN orphans older than the grace period are removed, two hours later
    clock = Date.now() + 2 * HOUR;
    const removed = await removeOrphans(deps, table, { orphanGraceMs: HOUR });

    // THEN the stray file is gone and the table reads the same
    expect(removed).toContain(stray);
    expect(await exists(stray)).toBe(false);
    const afterRemoval = await read();
    expect(afterRemoval.ids).toEqual(before.ids);
    expect(afterRemoval.files).toEqual(before.files);
  });
});
