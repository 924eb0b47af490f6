/**
 * The whole pipeline: known events in through Kinesis, exact records out in the lake, in the
 * right partitions, one notification per object; malformed records in quarantine with reasons;
 * and a restart that neither loses nor rewrites anything. Twice, with the same assertions: on
 * the embedded local AWS (kinesalite, fauxqs and ticklake's S3 persistence) and on moto, an
 * independent implementation of the same APIs (shared/DESIGN.md §10).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KinesisShipper } from "../../src/aws/shipper.ts";
import { send } from "../../src/cli/send.ts";
import { DATASET_OF, type Envelope, validateRecord } from "../../src/core/events.ts";
import { hourPartitionOf, parseObjectKey } from "../../src/core/layout.ts";
import { resourceSpec } from "../../src/core/spec.ts";
import { LocalPipeline } from "../../src/local/pipeline.ts";
import type { Endpoints } from "../../src/local/state.ts";
import { lakeEnvelopes } from "../support/duckdb.ts";
import { fxQuote, httpRequest, newsArticle, stockQuote } from "../support/factories.ts";
import { checkTables } from "../support/iceberg.ts";
import { emulatorsIn, getBytes, listPipelineObjects, tempStateDir } from "../support/local-aws.ts";
import { startMoto } from "../support/moto.ts";

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

/** N known events over four types and two hours: the earlier hour arrives "late". */
function knownEvents(count: number, offset: number): Envelope[] {
  const makers = [fxQuote, stockQuote, newsArticle, httpRequest];
  return Array.from({ length: count }, (_, i) => {
    const make = makers[i % makers.length] as (atMs: number) => Envelope;
    return make(NOW - (i % 2) * HOUR_MS + offset + i);
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
}

describe.each(BACKENDS)(
  "end to end on $name: web-server logs → Kinesis → bridge → SQS → processor → S3 → SNS",
  (backend) => {
    let state: Awaited<ReturnType<typeof tempStateDir>>;
    let emulators: Awaited<ReturnType<Backend["start"]>>;
    let pipeline: LocalPipeline;
    const first = knownEvents(3_000, 0);
    let afterFirst: LakeContents;

    beforeAll(async () => {
      state = await tempStateDir();
      emulators = await backend.start(state.dir);
      pipeline = await LocalPipeline.start({ stateDir: state.dir, spec, endpoints: emulators.endpoints });
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
        const received = pipeline.notifications.received;
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
        const datasets = [...new Set(first.map((event) => DATASET_OF[event.type]))].sort();
        const checked = await checkTables(
          emulators.endpoints.s3,
          datasets.map((name) => ({
            location: pipeline.tables.locationOf({ namespace: pipeline.tables.namespace, name }),
          })),
        );
        // THEN each holds exactly the ids the processor stored for it, over both hours, and
        // each lake object once
        const storedIds = new Set(afterFirst.records.map((r) => r.event.id));
        datasets.forEach((dataset, i) => {
          const expected = first.filter((e) => DATASET_OF[e.type] === dataset).map((e) => e.id);
          expect(checked[i]?.ids.sort(), dataset).toEqual(expected.sort());
          for (const id of checked[i]?.ids ?? []) expect(storedIds.has(id)).toBe(true);
          const paths = checked[i]?.files.map((f) => f.path) ?? [];
          expect(new Set(paths).size).toBe(paths.length);
        });
        expect(datasets).toHaveLength(4);
        // The tables span both hours of the events (hidden partitioning by event hour).
        const hours = new Set(checked.flatMap((table) => table.files.map((f) => f.partition[0])));
        expect(hours.size).toBe(2);
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
        pipeline = await LocalPipeline.start({ stateDir: state.dir, spec, endpoints: emulators.endpoints });

        const second = knownEvents(500, 10_000);
        await runBatch(
          pipeline,
          second.map((event, i) => ({ text: JSON.stringify(event), key: `k${i % 5}` })),
        );

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
        const exampleIds = lines.flatMap((line) => {
          const verdict = validateRecord(line);
          return verdict.ok ? [verdict.event.id] : [];
        });
        const newIds = after.records
          .map((r) => r.event.id)
          .filter((id) => !before.records.some((r) => r.event.id === id));
        expect(newIds.sort()).toEqual(exampleIds.sort());
        expect(after.quarantined.length - before.quarantined.length).toBe(4);
      },
      backend.timeoutMs,
    );
  },
);
