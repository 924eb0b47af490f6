/**
 * The fault experiments: each runs a fresh local pipeline (real emulators, the real functions,
 * faults injected through SDK middleware or by killing the emulator process), drives it from a
 * ledger, drains it and audits what it left. `fast` ones also run inside `npm test`.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { queueDepth } from "../../src/aws/pipeline-view.ts";
import { KinesisShipper } from "../../src/aws/shipper.ts";
import { sleep } from "../../src/core/backoff.ts";
import { type ResourceSpec, resourceSpec } from "../../src/core/spec.ts";
import { localClients } from "../../src/local/pipeline.ts";
import { LocalRun } from "../support/pipeline.ts";
import { type AuditReport, audit, type TablesAudit } from "./audit.ts";
import {
  CAS_CONFLICTS,
  COMMIT_METADATA_KEY,
  FaultRule,
  faultsEnv,
  faultTally,
  injectFaults,
  injectThrottling,
} from "./inject.ts";
import { Ledger, putRecords } from "./ledger.ts";

/** The processor's timeout in the experiments; SQS's visibility timeout is six times it. */
export const PROCESSOR_TIMEOUT_SECONDS = 2;
/**
 * The committer's timeout in the experiments: its queue's visibility timeout (6 ×, 18 s) is
 * how long a crashed commit's announcements take to come back.
 */
export const COMMITTER_TIMEOUT_SECONDS = 3;
/** The commit interval in the experiments: many commits per experiment, and short drains. */
export const COMMIT_INTERVAL_SECONDS = 1;
/** Packed messages of 128 KiB, so that oversize records need not be huge. */
export const MAX_MESSAGE_BYTES = 131_072;
const DRAIN_TIMEOUT_MS = 120_000;

export interface Context {
  run: LocalRun;
  ledger: Ledger;
  /** Sends texts into the stream as a plain producer. */
  put(texts: readonly string[]): Promise<void>;
  /** Adds a figure to the experiment's report. */
  note(name: string, value: number): void;
}

export interface Experiment {
  name: string;
  /** Part of the quick subset in `npm test`. */
  fast: boolean;
  faults?: FaultRule[] | ((spec: ResourceSpec) => FaultRule[]);
  /** The processor's timeout here, when not PROCESSOR_TIMEOUT_SECONDS. */
  processorTimeoutSeconds?: number;
  /** The committer's timeout here, when not COMMITTER_TIMEOUT_SECONDS. */
  committerTimeoutSeconds?: number;
  /** Figures of `faults` that must be above 0: the proof that the fault happened. */
  evidence?: string[];
  drive(context: Context): Promise<void>;
}

export interface ExperimentResult extends AuditReport, TablesAudit {
  experiment: string;
  seconds: number;
  drained: boolean;
  /** Calls the middleware rules picked (each subject once), and other figures of the experiment. */
  faults: Record<string, number>;
}

const WRAPPERS = {
  processor: new URL("./processor-with-faults.ts", import.meta.url),
  committer: new URL("./committer-with-faults.ts", import.meta.url),
};

export async function runExperiment(experiment: Experiment, seed = 1): Promise<ExperimentResult> {
  const startedAt = Date.now();
  const faultsDir = await mkdtemp(join(tmpdir(), "ticklake-faults-"));
  const spec = resourceSpec({
    stage: "faults",
    processorTimeoutSeconds: experiment.processorTimeoutSeconds ?? PROCESSOR_TIMEOUT_SECONDS,
    committerTimeoutSeconds: experiment.committerTimeoutSeconds ?? COMMITTER_TIMEOUT_SECONDS,
    commitIntervalSeconds: COMMIT_INTERVAL_SECONDS,
    maxMessageBytes: MAX_MESSAGE_BYTES,
  });
  const rules = typeof experiment.faults === "function" ? experiment.faults(spec) : (experiment.faults ?? []);
  const parsed = FaultRule.array().parse(rules);
  const wrapped = (site: keyof typeof WRAPPERS) =>
    parsed.some((rule) => rule.in === site) ? { [site]: WRAPPERS[site] } : {};
  const run = await LocalRun.start(
    spec,
    rules.length > 0
      ? { ...wrapped("processor"), ...wrapped("committer"), env: faultsEnv(rules, faultsDir) }
      : undefined,
  );
  injectFaults(run.pipeline.clients, parsed, faultsDir, "event-sources");
  try {
    const ledger = new Ledger(seed);
    const faults: Record<string, number> = {};
    await experiment.drive({
      run,
      ledger,
      put: (texts) => putRecords(run.pipeline.clients, run.pipeline.streamName, texts),
      note: (name, value) => {
        faults[name] = value;
      },
    });
    const drained = await run.pipeline.drain(DRAIN_TIMEOUT_MS);
    const report = await audit(run, ledger);
    Object.assign(faults, faultTally(await readdir(faultsDir), rules));
    // A failed commit's announcements come back after the committer queue's visibility timeout.
    const failedCommits = run.pipeline.committer.stats.failedInvocations;
    if (failedCommits > 0) faults["committer invocations failed"] = failedCommits;
    return {
      experiment: experiment.name,
      seconds: Math.round((Date.now() - startedAt) / 1000),
      drained,
      faults,
      ...report,
    };
  } finally {
    await run.stop();
    await rm(faultsDir, { recursive: true, force: true });
  }
}

const at = (rules: FaultRule[]) => rules;

/** A rule on the committer's compare-and-swap: the catalog's write of metadata version N ≥ 2. */
const atCommit = (rule: Omit<FaultRule, "in" | "service" | "command" | "subjectPattern">): FaultRule => ({
  in: "committer",
  service: "s3",
  command: "PutObjectCommand",
  subjectPattern: COMMIT_METADATA_KEY,
  ...rule,
});

/**
 * 800 events in eight rounds a little over the bridge's batching window apart: many packed
 * messages and objects, so that a share of them meets the fault.
 */
async function inRounds(put: Context["put"], ledger: Ledger): Promise<void> {
  for (let round = 0; round < 8; round++) {
    await put(ledger.send(ledger.make(100)));
    await sleep(1_100);
  }
}

export const EXPERIMENTS: Experiment[] = [
  {
    name: "1. the producer re-sends events (same id)",
    fast: true,
    async drive({ ledger, put }) {
      const events = ledger.make(600);
      await put(ledger.send(events));
      // A tenth again, as a producer does when it cannot tell whether a call succeeded.
      await put(ledger.send(events.filter((_, i) => i % 10 === 3)));
    },
  },
  {
    name: "2. Kinesis throttling with partial PutRecords failures",
    fast: true,
    async drive({ run, ledger, note }) {
      const clients = localClients(run.emulators.endpoints);
      try {
        const throttled = injectThrottling(clients.kinesis, 0.3);
        // Small aggregates, so that there are many Kinesis records to throttle.
        const shipper = new KinesisShipper({
          kinesis: clients.kinesis,
          streamName: run.pipeline.streamName,
          maxAggregateBytes: 2_048,
        });
        const events = ledger.make(1_000);
        ledger.send(events);
        for (const event of events) shipper.ship(event);
        await shipper.flush();
        note("throttled Kinesis records", throttled());
      } finally {
        clients.destroy();
      }
    },
  },
  {
    name: "3. the processor crashes after its S3 write",
    fast: true,
    faults: at([
      { service: "s3", command: "PutObjectCommand", effect: "crash-after", share: 0.3, once: true, limit: 3 },
    ]),
    async drive({ ledger, put }) {
      await inRounds(put, ledger);
    },
  },
  {
    name: "4. the processor crashes before its S3 write",
    fast: true,
    faults: at([
      {
        service: "s3",
        command: "PutObjectCommand",
        effect: "crash-before",
        share: 0.3,
        once: true,
        limit: 3,
      },
    ]),
    async drive({ ledger, put }) {
      await inRounds(put, ledger);
    },
  },
  {
    name: "5. a handler slower than its timeout and the visibility timeout",
    fast: false,
    faults: at([
      {
        service: "s3",
        command: "PutObjectCommand",
        effect: "delay",
        share: 0.3,
        once: true,
        delayMs: 7_000 * PROCESSOR_TIMEOUT_SECONDS,
      },
    ]),
    async drive({ ledger, put }) {
      await inRounds(put, ledger);
    },
  },
  {
    name: "6. poison records: invalid JSON, schema violations, oversize, late and future events",
    fast: true,
    async drive({ ledger, put }) {
      const texts = [
        ...ledger.send(ledger.make(400)),
        ...ledger.makePoison("invalid-json", 10, MAX_MESSAGE_BYTES),
        ...ledger.makePoison("schema", 10, MAX_MESSAGE_BYTES),
        ...ledger.makePoison("oversize", 3, MAX_MESSAGE_BYTES),
        ...ledger.makePoison("late", 5, MAX_MESSAGE_BYTES),
        ...ledger.makePoison("future", 3, MAX_MESSAGE_BYTES),
      ];
      // Interleaved, so that poison shares messages with good records.
      const mixed = texts
        .map((text, i) => ({ text, order: (i * 7919) % texts.length }))
        .sort((a, b) => a.order - b.order);
      await put(mixed.map((m) => m.text));
    },
  },
  {
    name: "7. S3 5xx errors, and a 30-second S3 outage",
    fast: false,
    // A message is received every visibility timeout (6 × this) and parked in the DLQ after
    // five: 3 s rides out 90 s, as the deployed 60 s rides out 30 minutes. With 1 s the
    // outage outlasts the five receives and the messages wait in the DLQ for a redrive.
    processorTimeoutSeconds: 3,
    faults: () => [
      { service: "s3", command: "PutObjectCommand", effect: "fail", share: 0.2, once: true },
      {
        service: "s3",
        command: "PutObjectCommand",
        effect: "outage",
        startsAtMs: Date.now() + 8_000,
        durationMs: 30_000,
      },
    ],
    async drive({ ledger, put }) {
      for (let i = 0; i < 12; i++) {
        await put(ledger.send(ledger.make(100)));
        await sleep(1_000);
      }
    },
  },
  {
    name: "8. SNS fails after a successful S3 write",
    fast: true,
    faults: at([{ service: "sns", command: "PublishCommand", effect: "fail", share: 0.3, once: true }]),
    async drive({ ledger, put }) {
      await inRounds(put, ledger);
    },
  },
  {
    name: "9. the emulator process killed and restarted mid-run",
    fast: false,
    async drive({ run, ledger, put, note }) {
      await put(ledger.send(ledger.make(500)));
      await sleep(2_000);
      // More, then everything dies while it is in flight: queue and topic with it.
      await put(ledger.send(ledger.make(500)));
      await sleep(300);
      const queue = await queueDepth(run.pipeline.clients, run.pipeline.resources.queueUrl);
      note(
        "records in the stream not yet bridged",
        ledger.events.size - run.pipeline.bridge.stats.recordsDelivered,
      );
      note("packed messages lost with the emulator", queue.visible + queue.inFlight);
      await run.pipeline.abandon();
      await run.emulators.kill();
      await run.restart();
      await run.pipeline.drain(DRAIN_TIMEOUT_MS);
      await putRecords(run.pipeline.clients, run.pipeline.streamName, ledger.send(ledger.make(500)));
    },
  },
  {
    name: "10. a 10× burst",
    fast: false,
    async drive({ ledger, put }) {
      // 200 events/s, then 2,000/s for five seconds, then 200/s again.
      for (const [rate, seconds] of [
        [200, 5],
        [2_000, 5],
        [200, 5],
      ] as const) {
        for (let s = 0; s < seconds * 4; s++) {
          const started = Date.now();
          await put(ledger.send(ledger.make(rate / 4)));
          await sleep(Math.max(0, 250 - (Date.now() - started)));
        }
      }
    },
  },
  {
    name: "11. the committer crashes before its commit",
    fast: false,
    // The runtime dies instead of the catalog's compare-and-swap (the new metadata file is
    // never written): its manifests stay behind unreferenced, and its batch comes back.
    faults: at([atCommit({ effect: "crash-before", share: 0.3, once: true, limit: 3 })]),
    evidence: ["committer: PutObjectCommand crash-before"],
    async drive({ ledger, put }) {
      await inRounds(put, ledger);
    },
  },
  {
    name: "12. the committer crashes after its commit, before acknowledging its batch",
    fast: true,
    // The new metadata file is written (the commit is in the table), then the runtime dies:
    // no version hint, no notification, no deletion of the batch, which comes back.
    faults: at([atCommit({ effect: "crash-after", share: 0.3, once: true, limit: 3 })]),
    evidence: ["committer: PutObjectCommand crash-after"],
    async drive({ ledger, put }) {
      await inRounds(put, ledger);
    },
  },
  {
    name: "13. two commits race on one table",
    fast: false,
    // The first four compare-and-swaps (each table version's first writer) wait 4 s: the next
    // batch, a commit interval later in the committer's second execution environment (whose
    // cold start takes seconds), reads the same base metadata and commits first; the waiting
    // commit loses its swap, reads again and commits only its own files. An invocation can
    // now take two delays: the timeout leaves room for them.
    committerTimeoutSeconds: 20,
    faults: at([atCommit({ effect: "delay", delayMs: 4_000, once: true, limit: 4 })]),
    evidence: ["committer: PutObjectCommand delay", CAS_CONFLICTS],
    async drive({ ledger, put }) {
      await inRounds(put, ledger);
    },
  },
  {
    name: "14. processor messages delivered again after they succeeded",
    fast: false,
    // The event source's deletion of a processed batch fails: its messages come back after the
    // visibility timeout, find their objects written, and announce them again.
    faults: (spec) => [
      {
        in: "event-sources",
        service: "sqs",
        command: "DeleteMessageBatchCommand",
        effect: "fail",
        subjectPattern: `/${spec.queue.name}"`,
        share: 0.5,
        once: true,
        limit: 3,
      },
    ],
    evidence: ["event-sources: DeleteMessageBatchCommand fail"],
    async drive({ ledger, put }) {
      await inRounds(put, ledger);
    },
  },
];

/** What every experiment must show; returns the broken promises, none when all hold. */
export function brokenPromises(result: ExperimentResult, experiment?: Experiment): string[] {
  const broken: string[] = [];
  for (const figure of experiment?.evidence ?? []) {
    if (!((result.faults[figure] ?? 0) > 0)) broken.push(`no evidence that the fault happened: ${figure}`);
  }
  if (!result.drained) broken.push("the pipeline did not drain");
  if (result.lost !== 0) broken.push(`${result.lost} events lost (${result.lostWhere.join("; ")})`);
  if (result.pipelineDuplicates !== 0)
    broken.push(`${result.pipelineDuplicates} records stored twice by the pipeline`);
  if (result.duplicateObjects !== 0)
    broken.push(`${result.duplicateObjects} objects duplicate another's records`);
  if (result.quarantined !== result.injected || result.quarantinedInjected !== result.injected) {
    broken.push(
      `quarantined ${result.quarantined} (${result.quarantinedInjected} of them injected), injected ${result.injected}`,
    );
  }
  if (result.notificationsWithoutObject !== 0)
    broken.push(`${result.notificationsWithoutObject} notifications name no object`);
  if (result.objectsWithoutNotification !== 0)
    broken.push(`${result.objectsWithoutNotification} objects never announced`);
  if (result.dlq !== 0) broken.push(`${result.dlq} messages in the DLQ`);
  if (result.committerDlq !== 0) broken.push(`${result.committerDlq} announcements in the committer's DLQ`);
  if (result.filesCommittedTwice !== 0)
    broken.push(`${result.filesCommittedTwice} files committed to their table twice`);
  if (result.objectsNotCommitted !== 0)
    broken.push(`${result.objectsNotCommitted} lake objects never committed to their table`);
  if (result.lakeRowsNotInTables !== 0)
    broken.push(`${result.lakeRowsNotInTables} lake records missing from the tables`);
  if (result.tableRowsNotInLake !== 0)
    broken.push(`${result.tableRowsNotInLake} table rows the lake does not hold`);
  if (result.poisonInTables !== 0) broken.push(`${result.poisonInTables} quarantined records in the tables`);
  return broken;
}

export function resultsTable(results: readonly ExperimentResult[]): string {
  const header =
    "| experiment | faults | sent | stored unique | lost | duplicate records (producer copies) | duplicate objects | quarantined / injected | objects / notified | DLQ (processor + committer) | table rows / lake rows | snapshots (abandoned attempts) | files committed twice | lake records missing / table rows extra / quarantined records in tables | objects not committed | commits not announced (files) | p99 ms | seconds |";
  const rows = results.map(
    (r) =>
      `| ${r.experiment} | ${
        Object.entries(r.faults)
          .map(([name, n]) => `${name}: ${n}`)
          .join("; ") || "-"
      } | ${r.sent} | ${r.storedUnique} | ${r.lost} | ${r.duplicateRecords} (${r.producerCopies}) | ${r.duplicateObjects} | ${r.quarantined} / ${r.injected} | ${r.objects} / ${r.notifiedObjects} | ${r.dlq + r.committerDlq} | ${r.tableRows} / ${r.lakeRows} | ${r.snapshots} (${r.abandonedCommits ?? "-"}) | ${r.filesCommittedTwice} | ${r.lakeRowsNotInTables} / ${r.tableRowsNotInLake} / ${r.poisonInTables} | ${r.objectsNotCommitted} | ${r.filesNotAnnounced ?? "-"} | ${r.p99LatencyMs ?? "-"} | ${r.seconds} |`,
  );
  return [header, `|${" --- |".repeat(18)}`, ...rows].join("\n");
}
