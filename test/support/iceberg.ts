/**
 * Test helpers of the table layer: lake files written the way the processor writes them, and
 * pyiceberg's reading of tables (test/support/iceberg_check.py).
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, expect } from "vitest";
import type { AwsClients } from "../../src/aws/clients.ts";
import { S3TableFileIO, S3VersionCatalog } from "../../src/aws/iceberg-s3.ts";
import { receiveBatch, subscribeQueue } from "../../src/aws/object-sync.ts";
import type { TableLayerOptions } from "../../src/aws/tables.ts";
import { tableDeps } from "../../src/aws/tables.ts";
import { DATASET_OF, DATASETS, type Dataset, type Envelope } from "../../src/core/events.ts";
import { type AnnouncedFile, announcedFileOf, type TableUpdated } from "../../src/core/iceberg/commit.ts";
import { type CommitOutcome, commitFiles, ensureTable } from "../../src/core/iceberg/table-ops.ts";
import { LAKE_PREFIX, parseObjectKey } from "../../src/core/layout.ts";
import { ObjectManifest } from "../../src/core/planning.ts";
import type { RunningEmulators } from "../../src/local/emulators.ts";
import { type LocalPipeline, localClients } from "../../src/local/pipeline.ts";
import { emulatorsIn, tempStateDir } from "./local-aws.ts";
import { venvTool } from "./tools.ts";

const CHECKER = fileURLToPath(new URL("./iceberg_check.py", import.meta.url));

export { writeLakeFiles } from "./lake-files.ts";

export interface CheckedFile {
  path: string;
  records: number;
  bytes: number;
  partition: number[];
  value_counts: Record<string, number>;
  null_value_counts: Record<string, number>;
  column_sizes: Record<string, number>;
  lower_bounds: Record<string, string>;
  upper_bounds: Record<string, string>;
  sort_order_id: number | null;
}

export interface CheckedTable {
  format_version: number;
  location: string;
  schema: Array<{ id: number; name: string; required: boolean; type: string; element_id?: number }>;
  schemas: number;
  last_column_id: number;
  partition_spec: Array<{ source_id: number; field_id: number; name: string; transform: string }>;
  sort_order: Array<{ source_id: number; direction: string }>;
  current_snapshot: string | null;
  snapshots: Array<{
    id: string;
    parent: string | null;
    sequence: number;
    timestamp_ms: number;
    operation: string;
    summary: Record<string, string>;
    manifest_list: string;
    ids?: string[];
    /** With `addedFiles`: the data files this snapshot added (its own manifests' ADDED entries). */
    added_files?: string[];
  }>;
  files: CheckedFile[];
  /** The current snapshot's ids, sorted; empty when asked for `ids: false`. */
  ids: string[];
  metadata_log: number;
}

export type TableToCheck = (
  | { location: string }
  | { glue: { endpoint: string; database: string; name: string } }
) & {
  /** Snapshots whose ids are read too (`snapshots[].ids`), beside the current one's. */
  read_snapshots?: string[];
};

/**
 * Each table as pyiceberg reads it, all in one Python process. `snapshots`: the ids every
 * snapshot reads; `addedFiles`: the data files each snapshot added.
 */
export async function checkTables(
  s3Endpoint: string,
  tables: TableToCheck[],
  options: { snapshots?: boolean; ids?: boolean; addedFiles?: boolean } = {},
): Promise<CheckedTable[]> {
  const request = JSON.stringify({
    s3: { endpoint: s3Endpoint },
    tables,
    snapshots: options.snapshots ?? false,
    ids: options.ids ?? true,
    added_files: options.addedFiles ?? false,
  });
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = execFile(
      venvTool("python"),
      [CHECKER],
      { maxBuffer: 256 * 1024 * 1024, env: { ...process.env, AWS_EC2_METADATA_DISABLED: "true" } },
      (error, out, err) =>
        error ? reject(new Error(`pyiceberg checker failed: ${err || error.message}`)) : resolve(out),
    );
    child.stdin?.end(request);
  });
  return JSON.parse(stdout) as CheckedTable[];
}

/** The ids of `events` by dataset, each list sorted as pyiceberg's `ids` are. */
export function idsByDataset(events: readonly Envelope[]): Map<Dataset, string[]> {
  const ids = new Map<Dataset, string[]>();
  for (const event of events) {
    const dataset = DATASET_OF[event.type];
    const list = ids.get(dataset) ?? [];
    list.push(event.id);
    ids.set(dataset, list);
  }
  for (const list of ids.values()) list.sort();
  return ids;
}

/**
 * pyiceberg's reading of the tables of `datasets` that a running local pipeline commits to,
 * by dataset; `readSnapshots` names older snapshots whose ids to read as well.
 */
export async function readPipelineTables(
  pipeline: LocalPipeline,
  datasets: readonly Dataset[],
  readSnapshots: Partial<Record<Dataset, string[]>> = {},
): Promise<Map<Dataset, CheckedTable>> {
  const s3 = pipeline.clientOptions.endpoints?.s3;
  if (!s3) throw new Error("the local pipeline has no S3 endpoint");
  const { namespace } = pipeline.tables;
  const checked = await checkTables(
    s3,
    datasets.map((name) => ({
      location: pipeline.tables.locationOf({ namespace, name }),
      read_snapshots: readSnapshots[name] ?? [],
    })),
  );
  return new Map(datasets.map((dataset, i) => [dataset, checked[i] as CheckedTable]));
}

/**
 * Asserts what pyiceberg reads in the table of each dataset of `expected`: exactly those ids,
 * each once (so no quarantined record, no copy), from exactly the lake's objects of that
 * dataset among `lakeKeys`, each once. Holds until compaction rewrites the files: every
 * announcement of an object again (a redelivery, a redrive, a replay, an object restored)
 * must find it committed.
 */
export async function expectTablesToHoldLake(
  pipeline: LocalPipeline,
  expected: ReadonlyMap<Dataset, readonly string[]>,
  lakeKeys: readonly string[],
): Promise<Map<Dataset, CheckedTable>> {
  const checked = await readPipelineTables(pipeline, [...expected.keys()]);
  for (const [dataset, ids] of expected) {
    const table = checked.get(dataset);
    expect(table?.ids, `${dataset}: the ids pyiceberg reads`).toEqual([...ids].sort());
    const objects = lakeKeys
      .filter((key) => key.startsWith(LAKE_PREFIX) && parseObjectKey(key)?.dataset === dataset)
      .map((key) => `s3://${pipeline.bucket}/${key}`);
    expect(table?.files.map((file) => file.path).sort(), `${dataset}: the table's files`).toEqual(
      objects.sort(),
    );
  }
  return checked;
}

export interface LocalTables {
  emulators: RunningEmulators;
  s3: S3Client;
  io: S3TableFileIO;
  /** The local catalog, its warehouse at `s3://<bucket>/tables`. */
  catalog: S3VersionCatalog;
}

/**
 * For a test file: the emulators in a temporary state folder, a bucket, and the local catalog
 * on it, set up before its tests and removed after them. Fields are set once `beforeAll` ran.
 */
export function localTables(bucket: string): LocalTables {
  const tables = {} as LocalTables;
  let remove = async () => {};
  beforeAll(async () => {
    const state = await tempStateDir();
    remove = state.remove;
    tables.emulators = await emulatorsIn(state.dir);
    tables.s3 = localClients(tables.emulators.endpoints).s3;
    await tables.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    tables.io = new S3TableFileIO(tables.s3);
    tables.catalog = new S3VersionCatalog(tables.io, `s3://${bucket}/tables`);
  });
  afterAll(async () => {
    tables.s3?.destroy();
    await tables.emulators?.stop();
    await remove();
  });
  return tables;
}

/**
 * What the committer does, for tests of readers while it is not part of the pipeline: the
 * announced files committed into their tables (created if need be), one snapshot per table.
 */
export async function commitAnnounced(
  clients: AwsClients,
  layer: TableLayerOptions,
  files: readonly AnnouncedFile[],
): Promise<Map<Dataset, CommitOutcome>> {
  const deps = tableDeps(clients, layer);
  const outcomes = new Map<Dataset, CommitOutcome>();
  for (const name of DATASETS) {
    const ofTable = files.filter((file) => file.dataset === name);
    if (ofTable.length === 0) continue;
    const table = { namespace: layer.namespace, name };
    await ensureTable(deps, table, name, deps.locationOf(table));
    outcomes.set(name, await commitFiles(deps, table, ofTable));
  }
  return outcomes;
}

/**
 * A stand-in for the committer beside a running pipeline: a queue of its own subscribed to
 * the topic's lake announcements, each batch received committed into the tables.
 */
export class TestCommitter {
  readonly #clients: AwsClients;
  readonly #layer: TableLayerOptions;
  readonly #queueUrl: string;
  readonly notifications: TableUpdated[] = [];

  private constructor(clients: AwsClients, layer: TableLayerOptions, queueUrl: string) {
    this.#clients = clients;
    this.#layer = layer;
    this.#queueUrl = queueUrl;
  }

  static async subscribe(
    clients: AwsClients,
    layer: TableLayerOptions,
    topicArn: string,
    queueName: string,
  ): Promise<TestCommitter> {
    const queueUrl = await subscribeQueue({ clients, topicArn, queueName, kinds: ["lake"] });
    return new TestCommitter(clients, layer, queueUrl);
  }

  /** Commits what is waiting, until a receive finds nothing; how many files were committed. */
  async commitWaiting(): Promise<number> {
    let committed = 0;
    for (;;) {
      const files: AnnouncedFile[] = [];
      const received = await receiveBatch(this.#clients, this.#queueUrl, 1, async (body) => {
        files.push(announcedFileOf(ObjectManifest.parse(JSON.parse(body))));
      });
      if (received === 0) return committed;
      for (const outcome of (await commitAnnounced(this.#clients, this.#layer, files)).values()) {
        if (outcome.kind !== "committed") continue;
        committed += outcome.notification.files.length;
        this.notifications.push(outcome.notification);
      }
    }
  }
}
