/**
 * The fault auditor's comparison of the tables (as pyiceberg reads them) with the lake: the
 * instrument behind "each file committed once, nothing lost", checked on tables made up to
 * break each promise in turn.
 */
import { describe, expect, it } from "vitest";
import { newestVersion, tablesAgainstLake } from "../faults/audit.ts";
import type { CheckedTable } from "../support/iceberg.ts";

const BUCKET = "lake";
const LOCATION = `s3://${BUCKET}/tables/ns/fx_quotes`;
const KEY = (n: number) => `lake/fx_quotes/dt=2026-11-30/hour=22/obj-${n}.parquet`;
const PATH = (n: number) => `s3://${BUCKET}/${KEY(n)}`;
const LIST = (n: number) => `tables/ns/fx_quotes/metadata/snap-${n}-1-a.avro`;

/** A table as iceberg_check.py describes it: current files and ids, and each snapshot's added files. */
function table(current: number[], ids: string[], snapshots: number[][]): CheckedTable {
  return {
    current_snapshot: String(snapshots.length),
    files: current.map((n) => ({ path: PATH(n) })),
    ids,
    snapshots: snapshots.map((added, i) => ({
      id: String(i + 1),
      manifest_list: `s3://${BUCKET}/${LIST(i + 1)}`,
      added_files: added.map(PATH),
    })),
  } as unknown as CheckedTable;
}

/** Two lake objects: 1 holds a and b, 2 holds c and a producer's copy of a. */
const LAKE = {
  bucket: BUCKET,
  tables: [{ dataset: "fx_quotes", location: LOCATION }],
  lakeKeys: [KEY(1), KEY(2), "quarantine/fx_quotes/dt=2026-11-30/hour=22/q.ndjson.gz"],
  lakeRows: [
    { key: KEY(1), id: "a" },
    { key: KEY(1), id: "b" },
    { key: KEY(2), id: "c" },
    { key: KEY(2), id: "a" },
  ],
  forbiddenIds: new Set(["poison"]),
};

describe("the tables against the lake", () => {
  it("finds nothing wrong when each object is committed once, copies included", () => {
    // GIVEN two snapshots that added object 1, then object 2, and a manifest list of a lost race
    const checked = table([1, 2], ["a", "a", "b", "c"], [[1], [2]]);
    // WHEN compared with the lake
    const audit = tablesAgainstLake([checked], {
      ...LAKE,
      tableKeys: [LIST(1), LIST(2), "tables/ns/fx_quotes/metadata/snap-9-1-b.avro"],
      announcedFiles: new Set([PATH(1)]),
    });
    // THEN every promise holds, and the figures say what the tables hold
    expect(audit).toEqual({
      tables: 1,
      snapshots: 2,
      tableFiles: 2,
      tableRows: 4,
      lakeRows: 4,
      filesCommittedTwice: 0,
      objectsNotCommitted: 0,
      lakeRowsNotInTables: 0,
      tableRowsNotInLake: 0,
      poisonInTables: 0,
      abandonedCommits: 1,
      filesNotAnnounced: 1,
    });
  });

  it("counts a file added by two snapshots, or listed twice, once as committed twice", () => {
    const again = table([1, 2, 2], ["a", "a", "b", "c", "c", "a"], [[1], [2], [2]]);
    const audit = tablesAgainstLake([again], LAKE);
    expect(audit.filesCommittedTwice).toBe(1);
    expect(audit.tableRowsNotInLake).toBe(2);
    expect(audit.abandonedCommits).toBeNull();
  });

  it("counts an object never committed, its rows missing, and rows the lake does not hold or quarantined", () => {
    const missing = table([1], ["a", "b", "stray", "poison"], [[1]]);
    const audit = tablesAgainstLake([missing], LAKE);
    expect(audit.objectsNotCommitted).toBe(1);
    expect(audit.lakeRowsNotInTables).toBe(2);
    expect(audit.tableRowsNotInLake).toBe(2);
    expect(audit.poisonInTables).toBe(1);
  });

  it("counts a dataset without a table as all its rows missing", () => {
    const audit = tablesAgainstLake([], { ...LAKE, tables: [] });
    expect(audit).toMatchObject({ tables: 0, objectsNotCommitted: 2, lakeRowsNotInTables: 4 });
  });

  it("finds a table's newest metadata version among the bucket's keys", () => {
    const keys = ["v1", "v2", "v10"].map((v) => `tables/ns/fx_quotes/metadata/${v}.metadata.json`);
    expect(newestVersion(LOCATION, [...keys, "tables/ns/stock_quotes/metadata/v11.metadata.json"])).toBe(10);
    expect(newestVersion(LOCATION, [])).toBe(0);
  });
});
