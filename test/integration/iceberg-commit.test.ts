/**
 * The table layer against the real local S3 over HTTP: the processor's files committed into
 * Iceberg tables through the local catalog, then read back by pyiceberg, an independent
 * implementation (test/support/iceberg_check.py).
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import type { S3VersionCatalog } from "../../src/aws/iceberg-s3.ts";
import type { Envelope } from "../../src/core/events.ts";
import type { AnnouncedFile } from "../../src/core/iceberg/commit.ts";
import { CommitConflictError } from "../../src/core/iceberg/errors.ts";
import { icebergSchemaOf } from "../../src/core/iceberg/schema.ts";
import {
  type Catalog,
  commitFiles,
  ensureTable,
  type LoadedTable,
  type TableDeps,
  type TableIdentifier,
} from "../../src/core/iceberg/table-ops.ts";
import type { RunningEmulators } from "../../src/local/emulators.ts";
import { fxQuote, newsArticle } from "../support/factories.ts";
import { checkTables, localTables, writeLakeFiles } from "../support/iceberg.ts";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 26, 14, 0, 0, 0);
const BUCKET = "iceberg-commit-test";

const local = localTables(BUCKET);
let s3: S3Client;
let emulators: RunningEmulators;
let catalog: S3VersionCatalog;
let deps: TableDeps;

beforeAll(() => {
  ({ s3, emulators, catalog } = local);
  deps = { catalog, io: local.io };
});

function fxEvents(count: number, startMs: number, stepMs: number): Envelope[] {
  return Array.from({ length: count }, (_, i) =>
    fxQuote(startMs + i * stepMs, i % 3 === 0 ? "USDJPY" : "EURUSD"),
  );
}

const idsOf = (events: readonly Envelope[]) => events.map((event) => event.id).sort();

describe("committing the processor's files (local catalog, pyiceberg reads back)", () => {
  it("creates the table from the contract and commits files of two hours that pyiceberg reads by field id", async () => {
    // GIVEN files of fx quotes across two hours, written and announced as the processor does
    const table: TableIdentifier = { namespace: "ticklake", name: "fx_quotes" };
    const events = fxEvents(120, T0 + 30 * 60_000, 30_000); // 14:30 to 15:29:30
    const files = await writeLakeFiles(s3, BUCKET, events);
    expect(new Set(files.map((file) => file.stats.tsHour)).size).toBe(2);

    // WHEN the table is created and the files committed
    await ensureTable(deps, table, "fx_quotes", catalog.locationOf(table));
    const outcome = await commitFiles(deps, table, files);

    // THEN one append snapshot holds every record once, and pyiceberg reads the table as written
    expect(outcome.kind).toBe("committed");
    if (outcome.kind !== "committed") return;
    expect(outcome.notification).toMatchObject({
      table: "fx_quotes",
      operation: "append",
      records: 120,
      minTime: events[0]?.ts,
      maxTime: events.at(-1)?.ts,
    });
    const [checked] = await checkTables(emulators.endpoints.s3, [{ location: catalog.locationOf(table) }]);
    if (!checked) throw new Error("no table read");
    expect(checked.format_version).toBe(2);
    expect(checked.ids).toEqual(idsOf(events));
    const expected = icebergSchemaOf("fx_quotes");
    expect(checked.schema.map(({ id, name, required }) => ({ id, name, required }))).toEqual(
      expected.fields.map(({ id, name, required }) => ({ id, name, required })),
    );
    expect(checked.schema.find((field) => field.name === "ts")?.type).toBe("timestamptz");
    expect(checked.schema.find((field) => field.name === "bid")?.type).toBe("decimal(18, 5)");
    expect(checked.partition_spec).toEqual([
      { source_id: 3, field_id: 1000, name: "ts_hour", transform: "hour" },
    ]);
    expect(checked.sort_order.map((field) => field.source_id)).toEqual([6, 3]); // pair, then ts
    expect(checked.snapshots).toHaveLength(1);
    expect(checked.snapshots[0]?.summary).toMatchObject({
      "added-data-files": String(files.length),
      "added-records": "120",
      "total-records": "120",
    });
    expect(JSON.parse(checked.snapshots[0]?.summary["ticklake.shard-ranges"] ?? "{}")).toEqual({
      "ticklake-test/shardId-000000000000": [files[0]?.source?.firstSeq, files.at(-1)?.source?.lastSeq],
    });
    // Column metrics: every field counted, bounds in Iceberg's binary form.
    expect(checked.files.map((file) => file.path).sort()).toEqual(files.map((file) => file.path).sort());
    for (const file of checked.files) {
      expect(Object.keys(file.value_counts).sort()).toEqual(["1", "2", "3", "4", "5", "6", "7", "8"]);
      expect(Object.values(file.null_value_counts).every((count) => count === 0)).toBe(true);
      expect(Object.keys(file.column_sizes)).toHaveLength(8);
      const announced = files.find((candidate) => candidate.path === file.path) as AnnouncedFile;
      expect(file.partition).toEqual([announced.stats.tsHour]);
      // ts bounds: 8-byte little-endian microseconds of the file's first and last event
      const micros = (iso: string) => {
        const buffer = Buffer.alloc(8);
        buffer.writeBigInt64LE(BigInt(Date.parse(iso)) * 1000n);
        return buffer.toString("hex");
      };
      expect(file.lower_bounds["3"]).toBe(micros(announced.minTime));
      expect(file.upper_bounds["3"]).toBe(micros(announced.maxTime));
      expect(Buffer.from(file.lower_bounds["6"] as string, "hex").toString()).toMatch(/^(EURUSD|USDJPY)$/);
    }
  });

  it("adds nothing for files announced again: a redelivery, or a crash between commit and acknowledgement", async () => {
    // GIVEN a table holding a batch of files
    const table: TableIdentifier = { namespace: "ticklake", name: "news" };
    const events = Array.from({ length: 30 }, (_, i) => newsArticle(T0 + i * 1_000));
    const files = await writeLakeFiles(s3, BUCKET, events);
    await ensureTable(deps, table, "news", catalog.locationOf(table));
    const first = await commitFiles(deps, table, files);

    // WHEN the same announcements arrive again, alone and mixed with new files
    const again = await commitFiles(deps, table, files);
    const late = newsArticle(T0 + HOUR);
    const more = await writeLakeFiles(s3, BUCKET, [late]);
    const mixed = await commitFiles(deps, table, [...files, ...more, ...more]);

    // THEN the repeat is "nothing new", the mix adds only the new file, and pyiceberg agrees
    expect(first.kind).toBe("committed");
    expect(again).toMatchObject({ kind: "nothing-new", alreadyCommitted: files.map((file) => file.path) });
    expect(mixed.kind).toBe("committed");
    if (mixed.kind === "committed")
      expect(mixed.notification.files.map((file) => file.path)).toEqual(more.map((f) => f.path));
    const [checked] = await checkTables(emulators.endpoints.s3, [{ location: catalog.locationOf(table) }], {
      snapshots: true,
    });
    expect(checked?.snapshots).toHaveLength(2);
    expect(checked?.ids).toEqual(idsOf([...events, late]));
    // Time travel: the first snapshot still reads as it was.
    expect(checked?.snapshots[0]?.ids).toEqual(idsOf(events));
    expect(checked?.schema.find((field) => field.name === "symbols")).toMatchObject({
      id: 10,
      element_id: 11,
    });
  });

  it("two committers racing with overlapping files: the loser plans again and adds only what is new", async () => {
    // GIVEN two committers that both read the table before either commits
    const table: TableIdentifier = { namespace: "race", name: "fx_quotes" };
    await ensureTable(deps, table, "fx_quotes", catalog.locationOf(table));
    const events = fxEvents(90, T0, 1_000);
    const files = await writeLakeFiles(s3, BUCKET, events.slice(0, 30));
    const middle = await writeLakeFiles(s3, BUCKET, events.slice(30, 60));
    const last = await writeLakeFiles(s3, BUCKET, events.slice(60));
    let loads = 0;
    let release: () => void = () => {};
    const bothLoaded = new Promise<void>((resolve) => {
      release = resolve;
    });
    const racing: Catalog = {
      load: async (id) => {
        const loaded = await catalog.load(id);
        if (++loads === 2) release();
        return loaded;
      },
      create: (id, metadata) => catalog.create(id, metadata),
      commit: async (id, base: LoadedTable, next) => {
        await bothLoaded;
        return catalog.commit(id, base, next);
      },
    };
    const racingDeps = { ...deps, catalog: racing };
    // WHEN both commit, with the middle files in both sets
    const [a, b] = await Promise.all([
      commitFiles(racingDeps, table, [...files, ...middle]),
      commitFiles(racingDeps, table, [...middle, ...last]),
    ]);
    // THEN both succeed, one of them after planning again, and every file is in the table once
    expect([a.kind, b.kind]).toEqual(["committed", "committed"]);
    // The loser plans again at least once: twice when it met the winner's write in flight
    // (409) and re-read the table before the winner's version was there.
    expect(Math.min(a.attempts, b.attempts)).toBe(1);
    expect(Math.max(a.attempts, b.attempts)).toBeGreaterThanOrEqual(2);
    const loser = a.attempts > b.attempts ? a : b;
    expect(loser.alreadyCommitted.sort()).toEqual(middle.map((file) => file.path).sort());
    const [checked] = await checkTables(emulators.endpoints.s3, [{ location: catalog.locationOf(table) }]);
    expect(checked?.ids).toEqual(idsOf(events));
    expect(checked?.files).toHaveLength(files.length + middle.length + last.length);
  });

  it("a commit whose answer was lost counts as committed on its retry, not as a conflict to plan again", async () => {
    // GIVEN a catalog that stores the commit, then loses the answer (the caller sees a conflict,
    // as an SDK retry of the conditional create would report 412)
    const table: TableIdentifier = { namespace: "lost", name: "fx_quotes" };
    await ensureTable(deps, table, "fx_quotes", catalog.locationOf(table));
    const events = fxEvents(10, T0, 1_000);
    const files = await writeLakeFiles(s3, BUCKET, events);
    const losing: Catalog = {
      load: (id) => catalog.load(id),
      create: (id, metadata) => catalog.create(id, metadata),
      commit: async (id, base, next) => {
        await catalog.commit(id, base, next);
        throw new CommitConflictError("version 2 was committed by another writer");
      },
    };
    // WHEN the files are committed
    const outcome = await commitFiles({ ...deps, catalog: losing }, table, files);
    // THEN the commit is recognised as its own, and the table holds the files once, in one snapshot
    expect(outcome).toMatchObject({ kind: "committed", attempts: 1 });
    const [checked] = await checkTables(emulators.endpoints.s3, [{ location: catalog.locationOf(table) }]);
    expect(checked?.snapshots).toHaveLength(1);
    expect(checked?.ids).toEqual(idsOf(events));
  });
});
