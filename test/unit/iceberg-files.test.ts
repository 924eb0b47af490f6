import { describe, expect, it } from "vitest";
import { columnsOf } from "../../src/core/columns.ts";
import type { Envelope } from "../../src/core/events.ts";
import { readAvroFile } from "../../src/core/iceberg/avro.ts";
import {
  type AnnouncedFile,
  announcementsOf,
  planAppend,
  shardRangesOf,
  type TableState,
} from "../../src/core/iceberg/commit.ts";
import { planReplace } from "../../src/core/iceberg/compaction.ts";
import {
  type DataFile,
  type ManifestEntry,
  ManifestEntryStatus,
  type ManifestFile,
  readManifest,
  readManifestList,
  writeManifest,
  writeManifestList,
} from "../../src/core/iceberg/manifests.ts";
import {
  newTableMetadata,
  parseTableMetadata,
  serializeTableMetadata,
  withSnapshot,
} from "../../src/core/iceberg/metadata.ts";
import {
  columnMetricsOf,
  compareUtf8,
  decimalBytes,
  serializeValue,
} from "../../src/core/iceberg/metrics.ts";
import { hourPartitionSpec, icebergSchemaOf } from "../../src/core/iceberg/schema.ts";
import { fxQuote, newsArticle } from "../support/factories.ts";

const NOW = Date.UTC(2026, 10, 26, 14);
const HOUR = 3_600_000;
const BIG_ID = 9_007_199_254_740_993n; // 2^53 + 1: not a safe JavaScript number

const dataFile = (path: string, tsHour: number, recordCount = 10): DataFile => ({
  filePath: path,
  tsHour,
  recordCount,
  fileSizeInBytes: 1_000,
  columnSizes: { 1: 10 },
  valueCounts: { 1: recordCount },
  nullValueCounts: { 1: 0 },
  nanValueCounts: {},
  lowerBounds: { 3: Uint8Array.of(1, 2, 3) },
  upperBounds: { 3: Uint8Array.of(4, 5, 6) },
  splitOffsets: [4],
});

const announced = (path: string, tsHour: number, firstSeq = "1", lastSeq = "2"): AnnouncedFile => ({
  path,
  dataset: "fx_quotes",
  bytes: 1_000,
  records: 10,
  minTime: new Date(tsHour * HOUR).toISOString(),
  maxTime: new Date(tsHour * HOUR + 1).toISOString(),
  source: { stream: "s", shardId: "shardId-0", firstSeq, lastSeq },
  stats: {
    tsHour,
    recordCount: 10,
    columnSizes: {},
    valueCounts: {},
    nullValueCounts: {},
    nanValueCounts: {},
    lowerBounds: {},
    upperBounds: {},
    splitOffsets: [],
  },
});

describe("Iceberg's single-value serialization of bounds", () => {
  it("writes decimals as minimal big-endian two's complement of the unscaled value", () => {
    expect([...decimalBytes(108412n)]).toEqual([0x01, 0xa7, 0x7c]);
    expect([...decimalBytes(-1n)]).toEqual([0xff]);
    expect([...decimalBytes(128n)]).toEqual([0x00, 0x80]);
    expect([...decimalBytes(-129n)]).toEqual([0xff, 0x7f]);
    const bid = columnsOf("fx_quotes").find((column) => column.name === "bid");
    if (!bid) throw new Error("no bid column");
    expect([...serializeValue(bid, 1.08412)]).toEqual([0x01, 0xa7, 0x7c]);
  });

  it("bounds a file's ts in microseconds and truncates long strings to 16 characters with an upper bound above them", () => {
    const events = [fxQuote(NOW + 7), fxQuote(NOW + 5_000, "USDJPY")];
    const metrics = columnMetricsOf("fx_quotes", events);
    const micros = (ms: number) => {
      const buffer = Buffer.alloc(8);
      buffer.writeBigInt64LE(BigInt(ms) * 1000n);
      return buffer.toString("base64");
    };
    expect(metrics.lowerBounds["3"]).toBe(micros(NOW + 7));
    expect(metrics.upperBounds["3"]).toBe(micros(NOW + 5_000));
    const ids = events.map((event) => event.id).sort();
    expect(Buffer.from(metrics.lowerBounds["2"] as string, "base64").toString()).toBe(ids[0]?.slice(0, 16));
    const upper = Buffer.from(metrics.upperBounds["2"] as string, "base64").toString();
    expect(upper).toHaveLength(16);
    expect(upper > (ids[1] as string)).toBe(true);
    expect(metrics.valueCounts).toMatchObject({ "1": 2, "8": 2 });
  });

  it("bounds text columns in UTF-8 order also where JavaScript's order differs", () => {
    const article = newsArticle(NOW);
    const events = [
      { ...article, data: { ...article.data, headline: "\u{1F600} rally" } },
      { ...article, id: "01M8C2FVR55YYJ0SY5BC8V38GZ", data: { ...article.data, headline: "\uFFFD glitch" } },
    ] as Envelope[];
    const metrics = columnMetricsOf("news", events);
    expect(Buffer.from(metrics.lowerBounds["7"] as string, "base64").toString()).toBe("\uFFFD glitch");
    expect(Buffer.from(metrics.upperBounds["7"] as string, "base64").toString()).toBe("\u{1F600} rally");
  });

  it("orders strings by UTF-8 bytes: a character beyond the BMP sorts after U+FFFD", () => {
    expect(compareUtf8("\u{1F600}", "\uFFFD")).toBeGreaterThan(0);
    expect("\u{1F600}" < "\uFFFD").toBe(true); // JavaScript's own order says the opposite
    expect(compareUtf8("abc", "abd")).toBeLessThan(0);
    expect(compareUtf8("ab", "abc")).toBeLessThan(0);
  });
});

describe("manifests, manifest lists and table metadata", () => {
  const schema = icebergSchemaOf("fx_quotes");
  const spec = hourPartitionSpec(schema);

  it("round-trips a manifest with 64-bit snapshot ids, inheriting sequence numbers of added entries", () => {
    const entries: ManifestEntry[] = [
      {
        status: ManifestEntryStatus.ADDED,
        snapshotId: BIG_ID,
        sequenceNumber: 7,
        fileSequenceNumber: 7,
        dataFile: dataFile("s3://b/a", 100),
      },
      {
        status: ManifestEntryStatus.DELETED,
        snapshotId: 5n,
        sequenceNumber: 3,
        fileSequenceNumber: 3,
        dataFile: dataFile("s3://b/d", 99),
      },
    ];
    const { bytes, summary } = writeManifest({
      schema,
      spec,
      snapshotId: BIG_ID,
      sequenceNumber: 7,
      entries,
    });
    const avro = readAvroFile(bytes);
    expect(avro.metadata).toMatchObject({ "format-version": "2", content: "data", "partition-spec-id": "0" });
    expect(JSON.parse(avro.metadata.schema as string).fields).toHaveLength(8);
    // Added entries leave their sequence numbers to the manifest list (null in the file).
    expect((avro.records[0] as { sequence_number: unknown }).sequence_number).toBeNull();
    const manifest: ManifestFile = {
      ...summary,
      manifestPath: "s3://b/m.avro",
      manifestLength: bytes.byteLength,
    };
    expect(manifest).toMatchObject({
      addedFilesCount: 1,
      deletedFilesCount: 1,
      minHour: 99,
      maxHour: 100,
      minSequenceNumber: 3,
    });
    expect(readManifest(bytes, manifest)).toEqual(entries);
    const list = writeManifestList([manifest], {
      snapshotId: BIG_ID,
      parentSnapshotId: undefined,
      sequenceNumber: 7,
    });
    expect(readManifestList(list)).toEqual([manifest]);
    expect(readAvroFile(list).metadata).toMatchObject({
      "snapshot-id": String(BIG_ID),
      "parent-snapshot-id": "null",
    });
  });

  it("keeps 64-bit snapshot ids exact through the metadata JSON", () => {
    const table = newTableMetadata({ dataset: "fx_quotes", location: "s3://b/t", nowMs: NOW });
    const next = withSnapshot(
      table,
      { snapshotId: BIG_ID, operation: "append", manifestList: "s3://b/l.avro", summary: {}, nowMs: NOW },
      "s3://b/t/metadata/v1.metadata.json",
    );
    const text = serializeTableMetadata(next);
    expect(text).toContain(`"current-snapshot-id":${BIG_ID}`);
    const back = parseTableMetadata(text, "test");
    expect(back["current-snapshot-id"]).toBe(BIG_ID);
    expect(back.refs.main?.["snapshot-id"]).toBe(BIG_ID);
    expect(back["metadata-log"]).toEqual([
      { "metadata-file": "s3://b/t/metadata/v1.metadata.json", "timestamp-ms": NOW },
    ]);
    expect(() => parseTableMetadata('{"format-version":1}', "v1.json")).toThrow(
      /v1\.json is not Iceberg v2 table metadata/,
    );
  });
});

describe("planning commits", () => {
  const table = newTableMetadata({ dataset: "fx_quotes", location: "s3://b/t", nowMs: NOW });
  const manifestOf = (path: string, minHour: number, maxHour: number): ManifestFile => ({
    manifestPath: path,
    manifestLength: 1,
    sequenceNumber: 1,
    minSequenceNumber: 1,
    addedSnapshotId: 1n,
    addedFilesCount: 1,
    existingFilesCount: 0,
    deletedFilesCount: 0,
    addedRowsCount: 10,
    existingRowsCount: 0,
    deletedRowsCount: 0,
    minHour,
    maxHour,
  });

  it("adds only files no manifest of their hour names, live or tombstone, and asks only for those manifests", () => {
    // GIVEN a table whose hour 100 holds a live file and a tombstone; hour 200's manifest is not read
    const state: TableState = {
      metadata: table,
      metadataLocation: "v1",
      manifests: [manifestOf("m100", 100, 100), manifestOf("m200", 200, 200)],
    };
    const entriesOf = new Map<string, ManifestEntry[]>([
      [
        "m100",
        [
          {
            status: ManifestEntryStatus.ADDED,
            snapshotId: 1n,
            sequenceNumber: 1,
            fileSequenceNumber: 1,
            dataFile: dataFile("s3://b/live", 100),
          },
          {
            status: ManifestEntryStatus.DELETED,
            snapshotId: 2n,
            sequenceNumber: 1,
            fileSequenceNumber: 1,
            dataFile: dataFile("s3://b/replaced", 100),
          },
        ],
      ],
    ]);
    const files = [
      announced("s3://b/live", 100),
      announced("s3://b/replaced", 100),
      announced("s3://b/new", 100),
      announced("s3://b/new", 100),
    ];
    // WHEN planned
    const plan = planAppend({ table: "fx_quotes", state, entriesOf, files, snapshotId: 9n, nowMs: NOW });
    // THEN only the new file is added, once
    expect(plan.kind).toBe("append");
    if (plan.kind !== "append") return;
    expect(plan.entries.map((entry) => entry.dataFile.filePath)).toEqual(["s3://b/new"]);
    expect(plan.alreadyCommitted).toEqual(["s3://b/live", "s3://b/replaced"]);
    expect(plan.carried).toEqual(state.manifests);
    expect(
      planAppend({
        table: "fx_quotes",
        state,
        entriesOf,
        files: files.slice(0, 2),
        snapshotId: 9n,
        nowMs: NOW,
      }).kind,
    ).toBe("nothing-new");
    // A manifest of the hour that was not read is an error, not a silent "new".
    expect(() =>
      planAppend({ table: "fx_quotes", state, entriesOf: new Map(), files, snapshotId: 9n, nowMs: NOW }),
    ).toThrow(/m100 was not read/);
  });

  it("announces again, as first published, the appends that committed the files a batch finds there", () => {
    // GIVEN an append of two files committed on an empty table, beside a replace's tombstone
    const empty: TableState = { metadata: table, metadataLocation: "v1", manifests: [] };
    const files = [announced("s3://b/one", 100), announced("s3://b/two", 100)];
    const plan = planAppend({
      table: "fx_quotes",
      state: empty,
      entriesOf: new Map(),
      files,
      snapshotId: 9n,
      nowMs: NOW,
    });
    if (plan.kind !== "append") throw new Error(`expected an append, planned ${plan.kind}`);
    const metadata = withSnapshot(
      table,
      { snapshotId: 9n, operation: "append", manifestList: "list-9", summary: plan.summary, nowMs: NOW },
      "v1",
    );
    const state: TableState = { metadata, metadataLocation: "v2", manifests: [manifestOf("m9", 100, 100)] };
    const tombstone: ManifestEntry = {
      status: ManifestEntryStatus.DELETED,
      snapshotId: 9n,
      sequenceNumber: 1,
      fileSequenceNumber: 1,
      dataFile: dataFile("s3://b/replaced", 100),
    };
    const entriesOf = new Map<string, ManifestEntry[]>([["m9", [...plan.entries, tombstone]]]);
    // WHEN a batch holding one of the files asks
    const again = announcementsOf("fx_quotes", state, entriesOf, ["s3://b/two"]);
    // THEN the snapshot is announced with all its files, as the commit published it
    expect(again).toEqual([plan.notification]);
    // and a replaced file, or no file, announces nothing
    expect(announcementsOf("fx_quotes", state, entriesOf, ["s3://b/replaced"])).toEqual([]);
    expect(announcementsOf("fx_quotes", state, entriesOf, [])).toEqual([]);
  });

  it("summarises shard ranges by numeric sequence order, whatever the number of files", () => {
    const ranges = shardRangesOf([
      announced("a", 1, "99", "100"),
      announced("b", 1, "1000", "1001"),
      announced("c", 1, "5", "7"),
    ]);
    expect(ranges).toEqual({ "s/shardId-0": ["5", "1001"] });
  });

  it("a replace planned on a state where a replaced file is gone is stale", () => {
    const state: TableState = {
      metadata: table,
      metadataLocation: "v1",
      manifests: [manifestOf("m100", 100, 100)],
    };
    const entriesOf = new Map<string, ManifestEntry[]>([["m100", []]]);
    const plan = planReplace({
      table: "fx_quotes",
      state,
      entriesOf,
      hour: 100,
      replaced: ["s3://b/x"],
      outputs: [],
      snapshotId: 3n,
      nowMs: NOW,
      ledgerRetentionMs: HOUR,
    });
    expect(plan).toEqual({ kind: "stale", reason: "no longer live: s3://b/x" });
  });
});
