/**
 * What a reader of a table sees, without I/O: the snapshot current at a time (`--as-of`), the
 * live files of its manifest entries, and the "table updated" notification as a subscriber
 * reads it.
 */
import { describe, expect, it } from "vitest";
import { withoutSnapshots } from "../../src/core/iceberg/compaction.ts";
import { SnapshotNotFoundError } from "../../src/core/iceberg/errors.ts";
import { type DataFile, type ManifestEntry, ManifestEntryStatus } from "../../src/core/iceberg/manifests.ts";
import { newTableMetadata, type TableMetadata, withSnapshot } from "../../src/core/iceberg/metadata.ts";
import { liveDataFiles, snapshotAsOf } from "../../src/core/iceberg/scan.ts";
import { parseTableUpdated, type TableUpdated } from "../../src/core/iceberg/table-updated.ts";

const T = Date.UTC(2026, 10, 26, 15);

/** A table with snapshots 1, 2 and 3 committed at T, T + 1 min and T + 2 min. */
function threeSnapshots(): TableMetadata {
  let metadata = newTableMetadata({
    dataset: "stock_quotes",
    location: "s3://b/tables/ns/stock_quotes",
    nowMs: T - 1,
  });
  for (const [i, operation] of (["append", "append", "replace"] as const).entries()) {
    metadata = withSnapshot(
      metadata,
      {
        snapshotId: BigInt(i + 1),
        operation,
        manifestList: `s3://b/tables/ns/stock_quotes/metadata/snap-${i + 1}.avro`,
        summary: {},
        nowMs: T + i * 60_000,
      },
      undefined,
    );
  }
  return metadata;
}

const idOf = (metadata: TableMetadata, asOfMs?: number) =>
  snapshotAsOf(metadata, asOfMs, "ns.stock_quotes")?.["snapshot-id"];

describe("snapshotAsOf", () => {
  it("gives the snapshot current at a time: the last one committed at or before it", () => {
    const metadata = threeSnapshots();
    expect(idOf(metadata)).toBe(3n);
    expect(idOf(metadata, T)).toBe(1n);
    expect(idOf(metadata, T + 59_999)).toBe(1n);
    expect(idOf(metadata, T + 60_000)).toBe(2n);
    expect(idOf(metadata, T + 3_600_000)).toBe(3n);
  });

  it("before the first snapshot of a table whose whole history is kept: none (the table was empty)", () => {
    expect(idOf(threeSnapshots(), T - 1)).toBeUndefined();
    expect(idOf(newTableMetadata({ dataset: "news", location: "s3://b/t", nowMs: T }), T)).toBeUndefined();
  });

  it("a time whose snapshot expiry removed is an error naming the oldest snapshot kept", () => {
    // GIVEN the table after expiry kept snapshots 2 and 3
    const expired = withoutSnapshots(threeSnapshots(), new Set([2n, 3n]), T + 180_000);

    // THEN a time the kept snapshots cover reads; an older one fails, saying what is kept
    expect(idOf(expired, T + 90_000)).toBe(2n);
    expect(() => idOf(expired, T + 30_000)).toThrow(SnapshotNotFoundError);
    expect(() => idOf(expired, T + 30_000)).toThrow(
      `ns.stock_quotes keeps no snapshot as old as 2026-11-26T15:00:30.000Z: the oldest snapshot kept is 2, committed at 2026-11-26T15:01:00.000Z`,
    );
  });
});

describe("liveDataFiles", () => {
  it("keeps ADDED and EXISTING entries, each file once, and never a DELETED tombstone", () => {
    const file = (name: string) => ({ filePath: `s3://b/${name}.parquet` }) as DataFile;
    const entry = (status: ManifestEntryStatus, name: string) =>
      ({ status, dataFile: file(name) }) as ManifestEntry;
    const live = liveDataFiles([
      entry(ManifestEntryStatus.ADDED, "compacted"),
      entry(ManifestEntryStatus.DELETED, "replaced-1"),
      entry(ManifestEntryStatus.DELETED, "replaced-2"),
      entry(ManifestEntryStatus.EXISTING, "open-hour"),
      entry(ManifestEntryStatus.EXISTING, "compacted"),
    ]);
    expect(live.map((f) => f.filePath)).toEqual(["s3://b/compacted.parquet", "s3://b/open-hour.parquet"]);
  });
});

describe("parseTableUpdated", () => {
  const update: TableUpdated = {
    v: 1,
    kind: "table",
    table: "stock_quotes",
    snapshotId: "5937117119577207079",
    sequenceNumber: 3,
    operation: "replace",
    files: [{ path: "s3://b/tables/ns/stock_quotes/data/c.parquet", records: 60 }],
    removedFiles: ["s3://b/lake/stock_quotes/dt=2026-11-26/hour=14/a.parquet"],
    records: 60,
    minTime: "2026-11-26T14:00:00.000Z",
    maxTime: "2026-11-26T14:59:59.999Z",
    committedAt: "2026-11-26T15:30:00.000Z",
    part: { index: 1, count: 2 },
  };

  it("reads a notification as the committer publishes it", () => {
    expect(parseTableUpdated(JSON.stringify(update))).toEqual({ ok: true, update });
  });

  it("sets aside what is not one, naming the field", () => {
    const { kind: _, ...manifestLike } = update;
    expect(parseTableUpdated(JSON.stringify(manifestLike))).toEqual({
      ok: false,
      reason: 'not a "table updated" notification: kind: Invalid input: expected "table"',
    });
    expect(
      parseTableUpdated(JSON.stringify({ ...update, files: [{ path: "/tmp/x", records: 1 }] })),
    ).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^not a "table updated" notification: files\.0\.path: an s3:\/\/ URI$/),
    });
    expect(parseTableUpdated("{oops")).toEqual({ ok: false, reason: 'not JSON: "{oops"' });
    // Names a subscriber turns into local paths cannot leave its folder.
    expect(parseTableUpdated(JSON.stringify({ ...update, table: "../stock_quotes" }))).toMatchObject({
      ok: false,
      reason: expect.stringContaining("table: a table name"),
    });
    expect(
      parseTableUpdated(JSON.stringify({ ...update, removedFiles: ["s3://b/tables/../../x.parquet"] })),
    ).toMatchObject({
      ok: false,
      reason: expect.stringContaining("removedFiles.0: an s3:// URI without . or .. segments"),
    });
  });
});
