/**
 * The cost model (bench/cost-model.ts) at 10 to 40,000 events/s for the stack as it deploys,
 * calibrated by what the pipeline benchmark measured (bench/results/pipeline-calibration.json), and checked
 * against it: the model, run with the local settings the benchmark ran with, against the
 * requests the benchmark counted.
 *
 * Beside it: the cost per million events at 10 to 5,000 events/s with the table layer's commits
 * and compaction apart, and what the commit interval costs against the freshness that
 * bench/freshness.bench.ts measured (bench/results/freshness.json, when there is one).
 *
 *   npm run bench:cost            writes bench/results/cost-model.json and .md
 *                                 (run npm run bench:pipeline first: it reads its results)
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { resourceSpec } from "../src/core/spec.ts";
import {
  ASSUMPTIONS,
  alternativesPerMillion,
  COMMIT_INTERVALS,
  calibrate,
  calibrationRun,
  commitIntervalMarkdown,
  commitsAt,
  costTableMarkdown,
  DEPLOYED,
  type Deployment,
  flowsAt,
  linesMarkdown,
  monthlyCost,
  observedSteps,
  PRICES,
  perMillionMarkdown,
  provisionedFor,
  RATES,
  SECONDS_PER_MONTH,
} from "./cost-model.ts";

const bench = calibrationRun();
const observed = observedSteps(bench);
const calibration = calibrate(observed);

const results = RATES.map((rate) => ({
  eventsPerSecond: rate,
  onDemand: monthlyCost(rate, DEPLOYED, calibration),
  provisioned: monthlyCost(rate, provisionedFor(rate, calibration), calibration),
}));

// The model with the settings the benchmark ran with (local spec: 2 provisioned shards, 1 s
// windows) against what the benchmark counted.
const LOCAL: Deployment = { ...DEPLOYED, spec: resourceSpec(), streamMode: "provisioned" };
const check = observed.map((step) => {
  const seconds = step.produced / step.offeredPerSecond;
  const model = flowsAt(step.offeredPerSecond, LOCAL, calibration);
  const pair = (modelled: number, counted: number) => ({ model: Math.round(modelled * seconds), counted });
  return {
    eventsPerSecond: step.offeredPerSecond,
    kinesisRecords: pair(model.kinesisRecords, step.requests.kinesisRecords),
    bridgeInvocations: pair(model.bridgeInvocations, step.requests.bridgeInvocations),
    sqsMessages: pair(model.sqsMessages, step.requests.sqsMessages),
    objects: pair(model.objects, step.requests.objects),
  };
});

const alternatives = observed.map((step) => {
  const ours = monthlyCost(step.offeredPerSecond, DEPLOYED, calibration);
  const afterStream = ours.lines
    .filter((line) => line.group !== "fixed" && line.group !== "stream")
    .reduce((sum, line) => sum + line.usd, 0);
  return {
    eventsPerSecond: step.offeredPerSecond,
    ticklakeAfterStream: (afterStream / (step.offeredPerSecond * SECONDS_PER_MONTH)) * 1e6,
    ...alternativesPerMillion(step, calibration),
  };
});

// The commit interval: its price at a demo's rate and at 5,000 events/s, against the freshness
// measured at each interval the freshness benchmark ran (p99 per rate).
const TRADE_OFF_RATES = [50, 5_000];
const freshnessFile = new URL("./results/freshness.json", import.meta.url);
const freshness = existsSync(freshnessFile)
  ? (JSON.parse(readFileSync(freshnessFile, "utf8")) as {
      date: string;
      runs: Array<{
        eventsPerSecond: number;
        commitIntervalSeconds: number;
        visibleMs: { p99: number };
        loadAverage1m: { before: number; after: number };
      }>;
    })
  : undefined;
// Per interval, each rate's p99 over its runs (a range when it ran more than once), with the
// load averages beside it: on a busy machine the figure says more about the machine.
const measured = new Map<number, string>();
const seconds = (ms: number) => (ms / 1000).toFixed(1);
for (const interval of new Set((freshness?.runs ?? []).map((r) => r.commitIntervalSeconds))) {
  const runs = (freshness?.runs ?? []).filter((r) => r.commitIntervalSeconds === interval);
  const texts = [...new Set(runs.map((r) => r.eventsPerSecond))].map((rate) => {
    const atRate = runs.filter((r) => r.eventsPerSecond === rate);
    const p99s = atRate.map((r) => r.visibleMs.p99);
    const loads = atRate.flatMap((r) => [r.loadAverage1m.before, r.loadAverage1m.after]);
    const [low, high] = [seconds(Math.min(...p99s)), seconds(Math.max(...p99s))];
    const runsText = atRate.length > 1 ? `${atRate.length} runs, ` : "";
    return `${low === high ? low : `${low}-${high}`} s at ${rate.toLocaleString("en-US")}/s (${runsText}load ${Math.min(...loads)}-${Math.max(...loads)})`;
  });
  measured.set(interval, texts.join(", "));
}
const commitIntervals = COMMIT_INTERVALS.map((interval) => ({
  intervalSeconds: interval,
  atRates: TRADE_OFF_RATES.map((rate) => ({
    eventsPerSecond: rate,
    ...commitsAt(rate, interval, calibration),
  })),
}));

writeFileSync(
  new URL("./results/cost-model.json", import.meta.url),
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      calibratedBy: `bench/results/pipeline-calibration.json of ${bench.date}`,
      prices: PRICES,
      assumptions: ASSUMPTIONS,
      deployed: {
        ...DEPLOYED,
        spec: undefined,
        bridgeWindowSeconds: DEPLOYED.spec.bridge.maxBatchingWindowSeconds,
      },
      calibration,
      results: results.map((r) => ({
        eventsPerSecond: r.eventsPerSecond,
        onDemand: r.onDemand,
        provisioned: {
          shards: r.provisioned.flows.shards,
          total: r.provisioned.total,
          fixed: r.provisioned.fixed,
        },
      })),
      modelAgainstBenchmark: check,
      commitIntervals,
      freshnessMeasuredBy: freshness && `bench/results/freshness.json of ${freshness.date}`,
      alternativesPerMillion: alternatives,
    },
    null,
    2,
  )}\n`,
);

const demo = results.find((r) => r.eventsPerSecond === 50) ?? results[0];
const md = [
  `Monthly cost on AWS (us-east-1 list prices) of the stack as \`npm run deploy\` makes it: bridge window ${DEPLOYED.spec.bridge.maxBatchingWindowSeconds} s, batch ${DEPLOYED.spec.bridge.batchSize.toLocaleString("en-US")}, 1 web server task (0.5 vCPU, arm64).`,
  "",
  costTableMarkdown(calibration),
  "",
  `At ${demo?.eventsPerSecond} events/s (a demo: the market feed's tick log is ~42 events/s while New York trades), line by line, on-demand stream:`,
  "",
  demo ? linesMarkdown(demo.onDemand) : "",
  "",
  "Per million events at 10 to 5,000 events/s, on-demand stream, commits and compaction included (and apart):",
  "",
  perMillionMarkdown(calibration),
  "",
  `The commit interval's price (the committer's lines, \`commits\` above) at ${TRADE_OFF_RATES.map((rate) => rate.toLocaleString("en-US")).join(" and ")} events/s, against freshness: the goal, and the p99 from event to visible that \`npm run bench:freshness\` measured locally at that interval (1 s bridge window; on AWS the bridge's 60 s window comes first):`,
  "",
  commitIntervalMarkdown(calibration, TRADE_OFF_RATES, measured),
  "",
  "The model with the benchmark's own settings (2 shards, 1 s windows) against the requests the benchmark counted:",
  "",
  "| events/s | Kinesis records (model / counted) | bridge invocations | SQS messages | objects |",
  "| --- | --- | --- | --- | --- |",
  ...check.map(
    (c) =>
      `| ${c.eventsPerSecond.toLocaleString("en-US")} | ${c.kinesisRecords.model.toLocaleString("en-US")} / ${c.kinesisRecords.counted.toLocaleString("en-US")} | ${c.bridgeInvocations.model} / ${c.bridgeInvocations.counted} | ${c.sqsMessages.model} / ${c.sqsMessages.counted} | ${c.objects.model} / ${c.objects.counted} |`,
  ),
  "",
  "Per million events after the stream (Kinesis is the same for all three), at the benchmark's rates:",
  "",
  "| events/s | ticklake: bridge → SQS → processor → S3 + SNS | Firehose with Parquet conversion | EventBridge Pipes → SQS → Lambda |",
  "| --- | --- | --- | --- |",
  ...alternatives.map(
    (a) =>
      `| ${a.eventsPerSecond.toLocaleString("en-US")} | $${a.ticklakeAfterStream.toFixed(4)} | $${a.firehose.toFixed(4)} | $${a.pipes.toFixed(4)} |`,
  ),
].join("\n");
writeFileSync(new URL("./results/cost-model.md", import.meta.url), `${md}\n`);
console.log(md);
