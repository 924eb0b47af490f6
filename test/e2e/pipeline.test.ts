/**
 * The whole pipeline: known events in through Kinesis, exact records out in the lake, in the
 * right partitions, one notification per object; malformed records in quarantine with reasons;
 * a restart that neither loses nor rewrites anything; the tables read back by pyiceberg, also
 * after the maintenance function compacted them, and at an older snapshot. Twice, with the
 * same assertions: on the embedded local AWS (kinesalite, fauxqs and ticklake's S3
 * persistence) and on moto, an independent implementation of the same APIs (shared/DESIGN.md
 * §10).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KinesisShipper } from "../../src/aws/shipper.ts";
import { tableLayerOf } from "../../src/aws/tables.ts";
import { querySource, runQuery } from "../../src/cli/query.ts";
import { send } from "../../src/cli/send.ts";
import { DATASET_OF, DATASETS, type Dataset, type Envelope, validateRecord } from "../../src/core/events.ts";
import { COMPACTED_SORT_ORDER_ID } from "../../src/core/iceberg/compaction.ts";
import { hourPartitionOf, parseObjectKey } from "../../src/core/layout.ts";
import { resourceSpec } from "../../src/core/spec.ts";
import { LocalPipeline, type LocalPipelineOptions } from "../../src/local/pipeline.ts";
import type { Endpoints } from "../../src/local/state.ts";
import { lakeEnvelopes } from "../support/duckdb.ts";
import { fxQuote, httpRequest, newsArticle, stockQuote } from "../support/factories.ts";
import {
  type CheckedTable,
  expectTablesToHoldLake,
  idsByDataset,
  readPipelineTables,
} from "../support/iceberg.ts";
import { emulatorsIn, getBytes, listPipelineObjects, tempStateDir } from "../support/local-aws.ts";
import { startMoto } from "../support/moto.ts";
import { NotificationTimes } from "../support/notification-times.ts";

/** An implementation of Kinesis, SQS, SNS and S3 the pipeline runs against. */
interface Backend {
  name: string;
  start(stateDir: string): Promise<{ endpoints: Endpoints; stop(): Promise<void> }>;
  /**
   * Whether its stream and objects outlive a stop of its process. The embedded emulators keep
   * them under the state folder (kinesalite's LevelDB, ticklake's S3 persistence); moto keeps
   * everything in memory. Emulator-specific: on moto the restart test restarts the pipeline only.
   */
  persistent: boolean;
  /**
   * How long one test may take, where it differs from the suite's: moto (one Python process)
   * answers more slowly than the emulators, so a test gets the time its drain allows (90 s).
   */
  timeoutMs?: number;
}

/** moto's one endpoint as the pipeline's Kinesis, SQS, SNS and S3. */
async function motoBackend(): Promise<{ endpoints: Endpoints; stop(): Promise<void> }> {
  const moto = await startMoto();
  const { endpoint } = moto;
  return {
    endpoints: { kinesis: endpoint, sqs: endpoint, sns: endpoint, s3: endpoint, region: "us-east-1", pid: 0 },
    stop: () => moto.stop(),
  };
}

const BACKENDS: Backend[] = [
  { name: "the embedded emulators", start: emulatorsIn, persistent: true },
  { name: "moto", start: motoBackend, persistent: false, timeoutMs: 90_000 },
];

// A commit interval of 1 s: each drain waits for the last commit.
const spec = resourceSpec({ stage: "e2e", commitIntervalSeconds: 1 });
const NOW = Date.now();
const HOUR_MS = 3_600_000;
/**
 * The events' two hours: the current one, and the one two hours back, which is closed (and so
 * compactable: `closeAfterMs`, 10 minutes after its end) whenever the tests run. Events start
 * at the beginning of their hour (at most seconds ahead of the clock), so none spills into the
 * next.
 */
const CURRENT_HOUR_MS = Math.floor(NOW / HOUR_MS) * HOUR_MS;
const EARLIER_HOUR_MS = CURRENT_HOUR_MS - 2 * HOUR_MS;

/**
 * The pipeline of these tests, on a state folder and a backend: maintenance runs only when a
 * test invokes it (as the stack's schedule does), so the compaction test is the one that
 * compacts.
 */
const pipelineOptions = (stateDir: string, endpoints: Endpoints): LocalPipelineOptions => ({
  stateDir,
  spec,
  endpoints,
  maintenanceIntervalMs: 0,
});

/** N known events over four types and two hours, each type in both: the earlier hour arrives "late". */
function knownEvents(count: number, offset: number): Envelope[] {
  const makers = [fxQuote, stockQuote, newsArticle, httpRequest];
  return Array.from({ length: count }, (_, i) => {
    const make = makers[i % makers.length] as (atMs: number) => Envelope;
    // Halves, not alternating records: a packed message of one hour is one object, not two.
    const hourMs = i < count / 2 ? CURRENT_HOUR_MS : EARLIER_HOUR_MS;
    return make(hourMs + offset + i);
  });
}

const MALFORMED = [
  "not json at all",
  '{"v":1,"truncated',
  JSON.stringify({ ...stockQuote(NOW), v: 9 }),
  JSON.stringify({ ...fxQuote(NOW), data: { pair: "EURUSD", bid: 0.1 + 0.2, ask: 1.1 } }),
  JSON.stringify({ hello: "world" }),
];

interface LakeContents {
  keys: string[];
  records: Array<{ key: string; event: Envelope }>;
  quarantined: Array<{
    key: string;
    entry: { violations: unknown[]; raw: { text?: string }; source: { sequenceNumber: string } };
  }>;
}

async function readLake(pipeline: LocalPipeline): Promise<LakeContents> {
  const { s3 } = pipeline.clients;
  const bucket = pipeline.resources.bucket;
  const keys = await listPipelineObjects(s3, bucket);
  const contents: LakeContents = { keys, records: [], quarantined: [] };
  const lake: Array<{ key: string; bytes: Uint8Array }> = [];
  for (const key of keys) {
    const bytes = await getBytes(s3, bucket, key);
    if (key.startsWith("lake/")) {
      lake.push({ key, bytes });
      continue;
    }
    for (const line of gunzipSync(bytes).toString("utf8").trim().split("\n")) {
      contents.quarantined.push({ key, entry: JSON.parse(line) });
    }
  }
  contents.records = await lakeEnvelopes(lake);
  return contents;
}

async function runBatch(pipeline: LocalPipeline, texts: Array<{ text: string; key: string }>): Promise<void> {
  const shipper = new KinesisShipper({
    kinesis: pipeline.clients.kinesis,
    streamName: pipeline.resources.streamName,
  });
  for (const { text, key } of texts) shipper.shipRaw(text, key);
  await shipper.flush();
  expect(shipper.stats.sent).toBe(texts.length);
  expect(await pipeline.drain(90_000)).toBe(true);
  expect(pipeline.drainPending).toEqual([]);
}

describe.each(BACKENDS)(
  "end to end on $name: web-server logs → Kinesis → bridge → SQS → processor → S3 → SNS",
  (backend) => {
    let state: Awaited<ReturnType<typeof tempStateDir>>;
    let emulators: Awaited<ReturnType<Backend["start"]>>;
    let pipeline: LocalPipeline;
    /** The first pipeline's notifications, every manifest kept. */
    const firstNotifications = new NotificationTimes({ keepManifests: true });
    const first = knownEvents(3_000, 0);
    let afterFirst: LakeContents;
    /** Every valid event sent so far: what the tables must hold. */
    const ledger: Envelope[] = [];
    /** Each table's snapshot that was current once the first batch was committed. */
    const afterFirstBatch = new Map<Dataset, { id: string; committedAtMs: number }>();
    /** pyiceberg's reading of the tables after compaction: current, and at `afterFirstBatch`. */
    let compacted: Map<Dataset, CheckedTable>;

    beforeAll(async () => {
      state = await tempStateDir();
      emulators = await backend.start(state.dir);
      pipeline = await LocalPipeline.start(pipelineOptions(state.dir, emulators.endpoints));
      firstNotifications.follow(pipeline.notifications);
    });
    afterAll(async () => {
      await pipeline?.stop();
      await emulators?.stop();
      await state.remove();
    });

    it(
      "stores N known events exactly once each, in their event-time partitions, and quarantines M malformed ones",
      async () => {
        const texts = first.map((event, i) => ({ text: JSON.stringify(event), key: `k${i % 17}` }));
        // Malformed records ride among the good ones: the rest of their batches must still be stored.
        const mixed = [
          ...texts.slice(0, 1_000),
          ...MALFORMED.map((text, i) => ({ text, key: `bad${i}` })),
          ...texts.slice(1_000),
        ];
        await runBatch(pipeline, mixed);
        ledger.push(...first);
        // A drain that cannot end (more produced than was ever sent) names what it waits for.
        expect(await pipeline.drain(600, mixed.length + 1)).toBe(false);
        expect(pipeline.drainPending).toEqual([
          `the bridge delivered ${mixed.length} of ${mixed.length + 1} records`,
        ]);

        afterFirst = await readLake(pipeline);
        const stored = afterFirst.records.map((r) => r.event.id);
        expect(stored).toHaveLength(first.length);
        expect(new Set(stored)).toEqual(new Set(first.map((e) => e.id)));

        for (const { key, event } of afterFirst.records) {
          const location = parseObjectKey(key);
          expect(location?.dataset).toBe(DATASET_OF[event.type]);
          expect(location?.partition).toEqual(hourPartitionOf(Date.parse(event.ts)));
        }
        const byId = new Map(first.map((e) => [e.id, e]));
        for (const { event } of afterFirst.records) expect(event).toEqual(byId.get(event.id));

        expect(afterFirst.quarantined).toHaveLength(MALFORMED.length);
        expect(afterFirst.quarantined.map((q) => q.entry.raw.text).sort()).toEqual([...MALFORMED].sort());
        for (const { entry } of afterFirst.quarantined) expect(entry.violations.length).toBeGreaterThan(0);
      },
      backend.timeoutMs,
    );

    it(
      "announces every object exactly once with its record count, and leaves the DLQ empty",
      async () => {
        const counts = await pipeline.counts();
        expect(counts.objects).toBe(afterFirst.keys.length);
        expect(counts.stored).toBe(first.length);
        expect(counts.quarantined).toBe(MALFORMED.length);
        expect(counts.dlq).toBe(0);
        const received = firstNotifications.manifests;
        expect(new Set(received.keys())).toEqual(new Set(afterFirst.keys));
        for (const key of afterFirst.keys) {
          const inObject =
            afterFirst.records.filter((r) => r.key === key).length +
            afterFirst.quarantined.filter((q) => q.key === key).length;
          expect(received.get(key)?.manifest.records).toBe(inObject);
        }
      },
      backend.timeoutMs,
    );

    it(
      "commits every stored record to its dataset's table once: pyiceberg reads exact counts per dataset, no malformed record",
      async () => {
        // WHEN pyiceberg opens each dataset's table at its current snapshot (the drain waited
        // for the committer's last commit)
        // THEN each holds exactly the ids the processor stored for it, over both hours, from
        // exactly the lake's objects, each once
        const checked = await expectTablesToHoldLake(pipeline, idsByDataset(first), afterFirst.keys);
        expect([...checked.keys()].sort()).toEqual([...DATASETS].sort());
        // Each table spans both hours of the events (hidden partitioning by event hour).
        for (const [dataset, table] of checked) {
          expect(new Set(table.files.map((f) => f.partition[0])), dataset).toEqual(
            new Set([CURRENT_HOUR_MS / HOUR_MS, EARLIER_HOUR_MS / HOUR_MS]),
          );
          const current = table.snapshots.find((snapshot) => snapshot.id === table.current_snapshot);
          if (current) afterFirstBatch.set(dataset, { id: current.id, committedAtMs: current.timestamp_ms });
        }
        expect(afterFirstBatch.size).toBe(DATASETS.length);
        // … and the commits' notifications add up to the same
        const counts = await pipeline.counts();
        expect(counts.committed).toBe(first.length);
        expect(counts.committerDlq).toBe(0);
      },
      backend.timeoutMs,
    );

    it(
      "after a stop and restart keeps every object, resumes from its checkpoints and writes nothing twice",
      async () => {
        await pipeline.stop();
        if (backend.persistent) {
          await emulators.stop();
          emulators = await backend.start(state.dir);
        }
        pipeline = await LocalPipeline.start(pipelineOptions(state.dir, emulators.endpoints));

        const second = knownEvents(500, 10_000);
        await runBatch(
          pipeline,
          second.map((event, i) => ({ text: JSON.stringify(event), key: `k${i % 5}` })),
        );
        ledger.push(...second);

        const afterSecond = await readLake(pipeline);
        // Every earlier object is still there, unchanged in number.
        for (const key of afterFirst.keys) expect(afterSecond.keys).toContain(key);
        const ids = afterSecond.records.map((r) => r.event.id);
        expect(ids).toHaveLength(first.length + second.length);
        expect(new Set(ids).size).toBe(ids.length);
        // Only the new records were bridged: the checkpoints survived the restart.
        expect(pipeline.bridge.stats.recordsDelivered).toBe(second.length);
        expect((await pipeline.counts()).objects).toBe(afterSecond.keys.length - afterFirst.keys.length);
      },
      backend.timeoutMs,
    );

    it(
      "`ticklake send` of the shipped examples stores their 24 valid envelopes and quarantines the 4 others",
      async () => {
        const before = await readLake(pipeline);
        const file = fileURLToPath(new URL("../../examples/sample-events.ndjson", import.meta.url));
        // Retimed to now: the file's fixed times would otherwise fall outside the event-time window.
        const result = await send(pipeline.clients, pipeline.resources.streamName, file, { retime: true });
        expect(result).toEqual({ lines: 28, sent: 28, invalid: 4 });
        expect(await pipeline.drain(90_000)).toBe(true);

        const after = await readLake(pipeline);
        const lines = readFileSync(file, "utf8").trim().split("\n");
        const examples = lines.flatMap((line) => {
          const verdict = validateRecord(line);
          return verdict.ok ? [verdict.event] : [];
        });
        ledger.push(...examples);
        const exampleIds = examples.map((event) => event.id);
        const newIds = after.records
          .map((r) => r.event.id)
          .filter((id) => !before.records.some((r) => r.event.id === id));
        expect(newIds.sort()).toEqual(exampleIds.sort());
        expect(after.quarantined.length - before.quarantined.length).toBe(4);
      },
      backend.timeoutMs,
    );

    it(
      "compacts the closed hour through the maintenance function: pyiceberg reads the same records, from one file per dataset-hour, in a replace snapshot",
      async () => {
        // GIVEN the tables after three rounds of commits, the earlier event hour closed
        const earlierHour = `${new Date(EARLIER_HOUR_MS).toISOString().slice(0, 13)}:00Z`;
        // WHEN the maintenance function runs, as the stack's schedule invokes it
        const reports = await pipeline.runMaintenance();
        // THEN it compacted that hour of each table, removing no duplicate (there were none)
        expect(reports.map((report) => report.table).sort()).toEqual([...DATASETS].sort());
        for (const report of reports) {
          expect(report.error, report.table).toBeUndefined();
          expect(report.compacted, report.table).toContain(earlierHour);
          expect(report.skipped, report.table).toEqual([]);
          expect(report.duplicatesRemoved, report.table).toBe(0);
        }
        // … and pyiceberg reads exactly the ledger's records in each table, each once, none of
        // the malformed ones (it reads the snapshots after the first batch too, for the next test)
        const expected = idsByDataset(ledger);
        compacted = await readPipelineTables(
          pipeline,
          DATASETS,
          Object.fromEntries([...afterFirstBatch].map(([dataset, { id }]) => [dataset, [id]])),
        );
        for (const report of reports) {
          const table = compacted.get(report.table);
          expect(table?.ids, report.table).toEqual(expected.get(report.table));
          // Each compacted hour is one file (far below the target size), written by compaction.
          for (const hour of report.compacted) {
            const files = table?.files.filter((file) => file.partition[0] === Date.parse(hour) / HOUR_MS);
            expect(
              files?.map((file) => file.sort_order_id),
              `${report.table} ${hour}`,
            ).toEqual([COMPACTED_SORT_ORDER_ID]);
          }
          const current = table?.snapshots.find((snapshot) => snapshot.id === table.current_snapshot);
          expect(current?.operation, report.table).toBe("replace");
        }
      },
      backend.timeoutMs,
    );

    it(
      "reads an older snapshot as it was: the one current after the first batch holds the first batch, with pyiceberg and with `query --as-of`",
      async () => {
        // GIVEN each table's snapshot current after the first batch, since followed by two
        // rounds of commits and a compaction
        const firstIds = idsByDataset(first);
        // WHEN pyiceberg reads each table at that snapshot (after the compaction, above)
        // THEN it reads exactly the first batch's records of that table
        for (const [dataset, { id }] of afterFirstBatch) {
          const table = compacted.get(dataset);
          expect(table?.current_snapshot, dataset).not.toBe(id);
          const then = table?.snapshots.find((snapshot) => snapshot.id === id);
          expect(then?.ids, dataset).toEqual(firstIds.get(dataset));
        }
        // … and `ticklake query --as-of` at the time the last of them was committed (no table
        // committed in between) reads the same snapshots and as many records.
        const asOfMs = Math.max(...[...afterFirstBatch.values()].map((snapshot) => snapshot.committedAtMs));
        const counts = DATASETS.map(
          (dataset) => `SELECT '${dataset}' AS table_name, count(*) AS n FROM ${dataset}`,
        );
        const result = await runQuery(
          querySource(
            pipeline.clients,
            pipeline.bucket,
            tableLayerOf(spec, pipeline.bucket, "local"),
            join(state.dir, "query-cache"),
          ),
          `WITH counted AS (${counts.join(" UNION ALL ")})
           SELECT table_name, CAST(snapshot_id AS VARCHAR), n FROM table_snapshots JOIN counted USING (table_name)
           WHERE queried ORDER BY table_name`,
          { timeoutMs: 60_000, asOfMs },
        );
        expect(result.rows.map(([table, snapshot, n]) => [table, snapshot, Number(n)])).toEqual(
          [...DATASETS]
            .sort()
            .map((dataset) => [dataset, afterFirstBatch.get(dataset)?.id, firstIds.get(dataset)?.length]),
        );
      },
      backend.timeoutMs,
    );
  },
);
