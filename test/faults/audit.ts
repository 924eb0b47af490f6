/**
 * The auditor: compares a ledger with what the pipeline left behind — the lake (read back
 * with DuckDB), quarantine, the DLQ, the notifications, and the Iceberg tables (read back with
 * pyiceberg) — and reports what the fault suite promises: nothing lost, no record stored twice
 * by the pipeline, no object written twice, every poison record in quarantine, every object
 * announced and every announcement true, and every lake object's records in its table exactly
 * once (no file committed twice, nothing missing, nothing extra, no poison).
 */
import { gunzipSync } from "node:zlib";
import type { KinesisClient } from "@aws-sdk/client-kinesis";
import type { S3Client } from "@aws-sdk/client-s3";
import { parseS3Uri } from "../../src/aws/iceberg-s3.ts";
import { queueDepth } from "../../src/aws/pipeline-view.ts";
import { shardIds, shardPages, userRecords } from "../../src/aws/stream-reader.ts";
import { DATASET_OF, DATASETS } from "../../src/core/events.ts";
import { parseObjectKey } from "../../src/core/layout.ts";
import { compareSequenceNumbers } from "../../src/core/packing.ts";
import { storedRangeOf } from "../../src/core/replay.ts";
import { quantile } from "../../src/core/stats.ts";
import { type CheckedTable, checkTables } from "../support/iceberg.ts";
import { getBytes, listKeys, listPipelineObjects } from "../support/local-aws.ts";
import type { LocalRun } from "../support/pipeline.ts";
import type { Ledger } from "./ledger.ts";

export interface AuditReport {
  /** Distinct valid events sent. */
  sent: number;
  storedUnique: number;
  lost: number;
  /** Where the first lost events were lost, read back from the stream (empty when none was). */
  lostWhere: string[];
  /** Extra lake rows of an id, beyond one. */
  duplicateRecords: number;
  /** Copies the producer itself put into the stream (same id, another Kinesis record). */
  producerCopies: number;
  /** Rows of an id beyond the copies put into the stream: the pipeline stored a record twice. */
  pipelineDuplicates: number;
  /** Objects whose message range overlaps another's for the same shard and dataset. */
  duplicateObjects: number;
  injected: number;
  quarantined: number;
  /** Injected poison records found in quarantine, each with a reason. */
  quarantinedInjected: number;
  objects: number;
  notifiedObjects: number;
  notificationsWithoutObject: number;
  objectsWithoutNotification: number;
  dlq: number;
  p99LatencyMs: number | null;
  /** The committer's DLQ: announcements parked. */
  committerDlq: number;
  /**
   * Tables whose `version-hint.text` lags behind their newest metadata file: readers that
   * trust the hint (pyiceberg's StaticTable) see an older snapshot until the next commit.
   */
  staleVersionHints: number;
}

/** What the tables hold against the lake, as pyiceberg reads them at their current snapshots. */
export interface TablesAudit {
  /** Dataset tables read. */
  tables: number;
  /** Snapshots in the tables' metadata: the commits. */
  snapshots: number;
  /** Data files in the current snapshots. */
  tableFiles: number;
  /** Rows in the current snapshots. */
  tableRows: number;
  /** Rows in the lake's objects. */
  lakeRows: number;
  /** Distinct files listed twice in a current snapshot, or added by more than one snapshot. */
  filesCommittedTwice: number;
  /** Lake objects no snapshot of their table added. */
  objectsNotCommitted: number;
  /** Lake rows beyond the rows of their id in their dataset's table: records missing from the tables. */
  lakeRowsNotInTables: number;
  /** Table rows beyond the rows of their id in the lake: records the lake does not hold. */
  tableRowsNotInLake: number;
  /** Table rows whose id is a quarantined (malformed) record's. */
  poisonInTables: number;
  /** Manifest lists no snapshot references: commit attempts that lost their race or died before the commit. */
  abandonedCommits: number | null;
  /** Files in the tables whose append no "table updated" notification announced. */
  filesNotAnnounced: number | null;
}

export interface TablesAuditInput {
  s3Endpoint: string;
  /** The lake's bucket: the tables' data files are `s3://<bucket>/<lake key>`. */
  bucket: string;
  /** The dataset tables that exist, each at its location (`s3://<bucket>/tables/<namespace>/<dataset>`). */
  tables: ReadonlyArray<{ dataset: string; location: string }>;
  /** The lake's objects (`lake/…` keys; others are ignored): each must be a file of its table. */
  lakeKeys: readonly string[];
  /** Every row of the lake's objects: the object it is in and its id, copies included. */
  lakeRows: ReadonlyArray<{ key: string; id: string }>;
  /** Ids no table may hold: the malformed records that went to quarantine. */
  forbiddenIds?: ReadonlySet<string>;
  /**
   * The bucket's keys under the tables' locations: each table is then read at its newest
   * metadata version (the local catalog's current one) rather than at its version hint, which a
   * crash between the compare-and-swap and the hint's update leaves behind; and abandoned
   * commit attempts are counted.
   */
  tableKeys?: readonly string[];
  /** Data files (`s3://…`) the "table updated" notifications announced as appended. */
  announcedFiles?: ReadonlySet<string>;
}

const METADATA_VERSION = /\/metadata\/v(\d+)\.metadata\.json$/;

/** The newest version number of a table's metadata files among `keys`, 0 when none. */
export function newestVersion(location: string, keys: readonly string[]): number {
  const prefix = `${parseS3Uri(location).key}/metadata/`;
  let newest = 0;
  for (const key of keys) {
    const version = key.startsWith(prefix) ? METADATA_VERSION.exec(key) : null;
    if (version) newest = Math.max(newest, Number(version[1]));
  }
  return newest;
}

const newestMetadata = (bucket: string, location: string, keys: readonly string[]) =>
  `s3://${bucket}/${parseS3Uri(location).key}/metadata/v${newestVersion(location, keys)}.metadata.json`;

const countBy = <T>(items: Iterable<T>): Map<T, number> => {
  const counts = new Map<T, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
};

/**
 * Reads the dataset tables with pyiceberg (one Python process for all of them: current files
 * and rows, every snapshot's added files) and compares them with the lake: each lake object's
 * records in its table exactly once. Compaction drops duplicate ids: after it, the producer's
 * copies in the lake count as rows missing from the tables.
 */
export async function auditTables(input: TablesAuditInput): Promise<TablesAudit> {
  const checked =
    input.tables.length === 0
      ? []
      : await checkTables(
          input.s3Endpoint,
          input.tables.map(({ location }) => ({
            location: input.tableKeys ? newestMetadata(input.bucket, location, input.tableKeys) : location,
          })),
          { addedFiles: true },
        );
  return tablesAgainstLake(checked, input);
}

/** `auditTables`' comparison, given the tables as pyiceberg read them (in `input.tables`' order). */
export function tablesAgainstLake(
  checked: readonly CheckedTable[],
  input: Omit<TablesAuditInput, "s3Endpoint">,
): TablesAudit {
  const datasetOf = (key: string) => parseObjectKey(key)?.dataset ?? "";
  const lakeKeys = input.lakeKeys.filter((key) => key.startsWith("lake/"));
  let filesCommittedTwice = 0;
  let tableRows = 0;
  let tableFiles = 0;
  let snapshots = 0;
  let poisonInTables = 0;
  const added = new Set<string>();
  const tableIds = new Map<string, Map<string, number>>();
  const manifestLists = new Set<string>();
  const currentFiles: string[] = [];
  input.tables.forEach(({ dataset }, i) => {
    const table = checked[i];
    if (!table) throw new Error(`pyiceberg returned no table for ${dataset}`);
    snapshots += table.snapshots.length;
    tableRows += table.ids.length;
    tableFiles += table.files.length;
    tableIds.set(dataset, countBy(table.ids));
    for (const id of table.ids) if (input.forbiddenIds?.has(id)) poisonInTables++;
    const paths = table.files.map((file) => file.path);
    currentFiles.push(...paths);
    const additions = countBy(table.snapshots.flatMap((snapshot) => snapshot.added_files ?? []));
    const twice = new Set([
      ...[...countBy(paths)].filter(([, n]) => n > 1).map(([path]) => path),
      ...[...additions].filter(([, n]) => n > 1).map(([path]) => path),
    ]);
    filesCommittedTwice += twice.size;
    for (const path of [...paths, ...additions.keys()]) added.add(path);
    for (const snapshot of table.snapshots) manifestLists.add(snapshot.manifest_list);
  });

  const lakeIds = new Map<string, Map<string, number>>();
  for (const row of input.lakeRows) {
    const dataset = datasetOf(row.key);
    const ids = lakeIds.get(dataset) ?? new Map<string, number>();
    ids.set(row.id, (ids.get(row.id) ?? 0) + 1);
    lakeIds.set(dataset, ids);
  }
  let lakeRowsNotInTables = 0;
  let tableRowsNotInLake = 0;
  for (const dataset of new Set([...lakeIds.keys(), ...tableIds.keys()])) {
    const inLake = lakeIds.get(dataset) ?? new Map<string, number>();
    const inTable = tableIds.get(dataset) ?? new Map<string, number>();
    for (const [id, n] of inLake) lakeRowsNotInTables += Math.max(0, n - (inTable.get(id) ?? 0));
    for (const [id, n] of inTable) tableRowsNotInLake += Math.max(0, n - (inLake.get(id) ?? 0));
  }

  const metadataPrefixes = input.tables.map(({ location }) => `${parseS3Uri(location).key}/metadata/snap-`);
  return {
    tables: input.tables.length,
    snapshots,
    tableFiles,
    tableRows,
    lakeRows: input.lakeRows.length,
    filesCommittedTwice,
    objectsNotCommitted: lakeKeys.filter((key) => !added.has(`s3://${input.bucket}/${key}`)).length,
    lakeRowsNotInTables,
    tableRowsNotInLake,
    poisonInTables,
    abandonedCommits: input.tableKeys
      ? input.tableKeys.filter(
          (key) =>
            metadataPrefixes.some((prefix) => key.startsWith(prefix)) &&
            key.endsWith(".avro") &&
            !manifestLists.has(`s3://${input.bucket}/${key}`),
        ).length
      : null,
    filesNotAnnounced: input.announcedFiles
      ? new Set(currentFiles.filter((path) => !input.announcedFiles?.has(path))).size
      : null,
  };
}

/** Objects of one shard and dataset whose message ranges overlap: the same records twice. */
export function overlappingObjects(keys: readonly string[]): number {
  const bySlot = new Map<string, Array<{ first: string; last: string }>>();
  for (const key of keys) {
    const range = storedRangeOf(key);
    if (!range) continue;
    const slot = `${range.shardId}/${range.dataset}`;
    const list = bySlot.get(slot) ?? [];
    // A message stored over two hours, or into lake and quarantine, has one range.
    if (!list.some((r) => r.first === range.firstSeq && r.last === range.lastSeq)) {
      list.push({ first: range.firstSeq, last: range.lastSeq });
    }
    bySlot.set(slot, list);
  }
  let overlaps = 0;
  for (const list of bySlot.values()) {
    list.sort((a, b) => compareSequenceNumbers(a.first, b.first));
    let furthest: string | undefined;
    for (const range of list) {
      if (furthest !== undefined && compareSequenceNumbers(range.first, furthest) <= 0) overlaps++;
      if (furthest === undefined || compareSequenceNumbers(range.last, furthest) > 0) furthest = range.last;
    }
  }
  return overlaps;
}

/** Records in quarantine, and how many of the injected poison records (by marker) are there with a reason. */
export async function auditQuarantine(
  s3: S3Client,
  bucket: string,
  keys: readonly string[],
  markers: readonly string[],
): Promise<{ quarantined: number; quarantinedInjected: number }> {
  let quarantined = 0;
  const found = new Set<string>();
  for (const key of keys.filter((k) => k.startsWith("quarantine/"))) {
    const lines = gunzipSync(await getBytes(s3, bucket, key))
      .toString("utf8")
      .trim()
      .split("\n");
    for (const line of lines) {
      quarantined++;
      const entry = JSON.parse(line) as { violations?: unknown[]; raw?: unknown };
      const raw = JSON.stringify(entry.raw);
      const marker = markers.find((m) => raw.includes(m));
      if (marker && (entry.violations?.length ?? 0) > 0) found.add(marker);
    }
  }
  return { quarantined, quarantinedInjected: found.size };
}

/** Objects against notifications: every object announced, every announcement naming an object. */
export function auditNotifications(keys: readonly string[], notified: ReadonlyMap<string, number>) {
  const listed = new Set(keys);
  return {
    objects: keys.length,
    notifiedObjects: notified.size,
    notificationsWithoutObject: [...notified.keys()].filter((key) => !listed.has(key)).length,
    objectsWithoutNotification: keys.filter((key) => !notified.has(key)).length,
  };
}

/** The dataset tables a pipeline's committer created, found by their metadata files. */
export function tablesOf(
  run: LocalRun,
  tableKeys: readonly string[],
): Array<{ dataset: string; location: string }> {
  const { tables } = run.pipeline;
  return DATASETS.map((dataset) => ({
    dataset,
    location: tables.locationOf({ namespace: tables.namespace, name: dataset }),
  })).filter(({ location }) => newestVersion(location, tableKeys) > 0);
}

/** Tables whose version hint names an older metadata version than their newest. */
async function staleVersionHints(
  s3: S3Client,
  bucket: string,
  tables: ReadonlyArray<{ location: string }>,
  tableKeys: readonly string[],
): Promise<number> {
  let stale = 0;
  for (const { location } of tables) {
    const hint = await getBytes(s3, bucket, `${parseS3Uri(location).key}/metadata/version-hint.text`);
    if (Number(Buffer.from(hint).toString("utf8").trim()) < newestVersion(location, tableKeys)) stale++;
  }
  return stale;
}

/** How many lost events `lostWhere` traces: enough to see a pattern, few enough to read. */
const LOST_TRACED = 5;

/**
 * Where lost events went missing, from the stream (which keeps them for a day): not in it at
 * all (the producer), in no stored object's sequence range (a packed message never became an
 * object: the bridge skipped it or a queue dropped it), or inside the range of an object of its
 * dataset but not in the object (dropped within a message).
 */
async function whereLost(
  kinesis: KinesisClient,
  streamName: string,
  lostIds: readonly string[],
  lakeKeys: readonly string[],
): Promise<string[]> {
  const wanted = new Set(lostIds.slice(0, LOST_TRACED));
  if (wanted.size === 0) return [];
  const found = new Map<string, { shardId: string; seq: string; dataset: string }>();
  for (const shardId of await shardIds(kinesis, streamName)) {
    for await (const page of shardPages(kinesis, streamName, shardId, {
      ShardIteratorType: "TRIM_HORIZON",
    })) {
      for (const record of page.flatMap(userRecords)) {
        const text = Buffer.from(record.data).toString("utf8");
        const id = /"id":"([^"]+)"/.exec(text)?.[1];
        if (!id || !wanted.has(id)) continue;
        const { type } = JSON.parse(text) as { type: keyof typeof DATASET_OF };
        found.set(id, { shardId, seq: record.sequenceNumber, dataset: DATASET_OF[type] });
      }
    }
  }
  const ranges = lakeKeys.flatMap((key) => {
    const range = storedRangeOf(key);
    return range ? [{ key, ...range }] : [];
  });
  return [...wanted].map((id) => {
    const at = found.get(id);
    if (!at) return `${id}: not in the stream`;
    const holder = ranges.find(
      (r) =>
        r.shardId === at.shardId &&
        r.dataset === at.dataset &&
        compareSequenceNumbers(r.firstSeq, at.seq) <= 0 &&
        compareSequenceNumbers(at.seq, r.lastSeq) <= 0,
    );
    return holder
      ? `${id}: ${at.shardId} ${at.seq}, inside the range of ${holder.key} but not in it`
      : `${id}: ${at.shardId} ${at.seq}, in no stored object's range`;
  });
}

export async function audit(run: LocalRun, ledger: Ledger): Promise<AuditReport & TablesAudit> {
  const { s3 } = run.pipeline.clients;
  const bucket = run.pipeline.resources.bucket;
  const rows = await run.lakeRows();
  const keys = await listPipelineObjects(s3, bucket);
  const notified = run.notifications();

  const rowsOf = new Map<string, number>();
  for (const row of rows) rowsOf.set(row.event.id, (rowsOf.get(row.event.id) ?? 0) + 1);
  const lostIds: string[] = [];
  let pipelineDuplicates = 0;
  let producerCopies = 0;
  for (const [id, copies] of ledger.copies) {
    const stored = rowsOf.get(id) ?? 0;
    if (stored === 0) lostIds.push(id);
    pipelineDuplicates += Math.max(0, stored - copies);
    producerCopies += copies - 1;
  }

  const latencies = rows
    .filter((row) => ledger.events.has(row.event.id))
    .map((row) => (notified.get(row.key) ?? Number.NaN) - Date.parse(row.event.ts))
    .filter(Number.isFinite);
  const p99 = quantile(latencies, 0.99);
  const dlq = await queueDepth(run.pipeline.clients, run.pipeline.resources.dlqUrl);
  const committerDlq = await queueDepth(run.pipeline.clients, run.pipeline.resources.committerDlqUrl);
  const tableKeys = await listKeys(s3, bucket, run.spec.tables.warehousePrefix);
  const existing = tablesOf(run, tableKeys);
  const tables = await auditTables({
    s3Endpoint: run.emulators.endpoints.s3,
    bucket,
    tables: existing,
    lakeKeys: keys,
    lakeRows: rows.map((row) => ({ key: row.key, id: row.event.id })),
    forbiddenIds: new Set(ledger.poison.flatMap((poison) => (poison.id ? [poison.id] : []))),
    tableKeys,
    announcedFiles: new Set(run.commitNotifications().keys()),
  });
  return {
    sent: ledger.events.size,
    storedUnique: [...ledger.events.keys()].filter((id) => rowsOf.has(id)).length,
    lost: lostIds.length,
    lostWhere: await whereLost(run.pipeline.clients.kinesis, run.pipeline.streamName, lostIds, keys),
    duplicateRecords: rows.length - rowsOf.size,
    producerCopies,
    pipelineDuplicates,
    duplicateObjects: overlappingObjects(keys),
    injected: ledger.poison.length,
    ...(await auditQuarantine(
      s3,
      bucket,
      keys,
      ledger.poison.map((p) => p.marker),
    )),
    ...auditNotifications(keys, notified),
    dlq: dlq.visible + dlq.inFlight,
    p99LatencyMs: p99 === undefined ? null : Math.round(p99),
    committerDlq: committerDlq.visible + committerDlq.inFlight,
    staleVersionHints: await staleVersionHints(s3, bucket, existing, tableKeys),
    ...tables,
  };
}
