/**
 * The cost model (bench/cost-model.ts) at 10 to 40,000 events/s for the stack as it deploys,
 * calibrated by what the pipeline benchmark measured (bench/results/pipeline.json), and checked
 * against it: the model, run with the local settings the benchmark ran with, against the
 * requests the benchmark counted.
 *
 *   npm run bench:cost            writes bench/results/cost-model.json and .md
 *                                 (run npm run bench:pipeline first: it reads its results)
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resourceSpec } from "../src/core/spec.ts";
import {
  ASSUMPTIONS,
  alternativesPerMillion,
  calibrate,
  costTableMarkdown,
  DEPLOYED,
  type Deployment,
  flowsAt,
  linesMarkdown,
  monthlyCost,
  observedSteps,
  PRICES,
  provisionedFor,
  RATES,
  SECONDS_PER_MONTH,
} from "./cost-model.ts";

const bench = JSON.parse(readFileSync(new URL("./results/pipeline.json", import.meta.url), "utf8")) as {
  date: string;
};
const observed = observedSteps();
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

writeFileSync(
  new URL("./results/cost-model.json", import.meta.url),
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      calibratedBy: `bench/results/pipeline.json of ${bench.date}`,
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
