/**
 * Cost per million events on AWS, computed from the requests the pipeline benchmark observed
 * (bench/results/pipeline.json: PutRecords records and bytes, bridge and processor invocations
 * and billed milliseconds, SQS requests in 64 KiB chunks, S3 PUTs, SNS publishes, Parquet
 * bytes), next to Kinesis → Firehose → S3 and Kinesis → EventBridge Pipes → SQS → Lambda → S3
 * for the same traffic. Prices and assumptions are in the output and in bench/README.md.
 *
 *   npm run bench:cost            writes bench/results/cost-model.json and .md
 *                                 (run npm run bench:pipeline first: it reads its results)
 */
import { readFileSync, writeFileSync } from "node:fs";

/** us-east-1 list prices, USD, as published on the AWS pricing pages (2025). */
export const PRICES = {
  kinesisOnDemandStreamHour: 0.04,
  kinesisOnDemandIngestPerGB: 0.08, // each record rounded up to 1 KiB
  kinesisOnDemandRetrievalPerGB: 0.04,
  lambdaRequestPerMillion: 0.2,
  lambdaArmGBSecond: 0.0000133334,
  sqsRequestPerMillion: 0.4, // every 64 KiB of a payload is one request
  s3PutPer1000: 0.005,
  s3StandardGBMonth: 0.023,
  snsPublishPerMillion: 0.5, // every 64 KiB is one publish
  firehoseIngestPerGB: 0.029, // each record rounded up to 5 KiB
  firehoseFormatConversionPerGB: 0.018,
  pipesRequestPerMillion: 0.4, // every event, per 64 KiB chunk
} as const;

/** Assumptions, stated with the results. */
export const ASSUMPTIONS = {
  lambdaMemoryGB: 1,
  /** vCPU share of a 1,024 MB Lambda; local durations were measured on a full core. */
  lambdaVcpu: 0.58,
  /** Firehose's buffer: an object per 128 MiB or per 15 minutes per dataset, whichever first. */
  firehoseBufferBytes: 128 * 1024 ** 2,
  firehoseBufferSeconds: 900,
  datasets: 4,
  /** Pipes sends at most 10 events per SQS batch; the processor reads up to 1,000 per invocation. */
  pipesEventsPerInvocation: 1_000,
} as const;

const HOURS_PER_MONTH = 730;
const KIB = 1024;
const GIB = 1024 ** 3;

/** The counts one benchmark step observed (bench/pipeline.bench.ts). */
interface Observed {
  offeredPerSecond: number;
  produced: number;
  sustained: boolean;
  lakeBytes: number;
  requests: {
    kinesisRecords: number;
    kinesisBytes: number;
    bridgeInvocations: number;
    bridgeBilledMs: number;
    sqsSendBilledRequests: number;
    sqsReceiveBilledRequests: number;
    sqsDeleteRequests: number;
    processorInvocations: number;
    processorBilledMs: number;
    objects: number;
    snsMessages: number;
  };
}

interface Line {
  item: string;
  /** Per million events. */
  count: number;
  usd: number;
}

const total = (lines: Line[]) => ({ lines, total: lines.reduce((sum, line) => sum + line.usd, 0) });

export function costPerMillion(step: Observed) {
  const M = 1_000_000;
  const scale = M / step.produced;
  const r = step.requests;
  const eventsPerMonth = step.offeredPerSecond * 3600 * HOURS_PER_MONTH;
  const bytesPerEvent = r.kinesisBytes / step.produced;
  const bytesPerKinesisRecord = r.kinesisBytes / r.kinesisRecords;
  const billedKiB = r.kinesisRecords * Math.ceil(bytesPerKinesisRecord / KIB) * scale;
  const gbSeconds = (ms: number) => (ms / 1000 / ASSUMPTIONS.lambdaVcpu) * ASSUMPTIONS.lambdaMemoryGB * scale;
  const storageGB = (step.lakeBytes * scale) / GIB;

  const kinesis: Line[] = [
    {
      item: "Kinesis on-demand stream-hours (spread over a month at this rate)",
      count: (HOURS_PER_MONTH * M) / eventsPerMonth,
      usd: (PRICES.kinesisOnDemandStreamHour * HOURS_PER_MONTH * M) / eventsPerMonth,
    },
    {
      item: "Kinesis ingest, KiB (aggregated records, each rounded up to 1 KiB)",
      count: billedKiB,
      usd: ((billedKiB * KIB) / GIB) * PRICES.kinesisOnDemandIngestPerGB,
    },
    {
      item: "Kinesis retrieval by one consumer, GB",
      count: (r.kinesisBytes * scale) / GIB,
      usd: ((r.kinesisBytes * scale) / GIB) * PRICES.kinesisOnDemandRetrievalPerGB,
    },
  ];
  const storage: Line = {
    item: "S3 storage for a month, GB (Parquet, ZSTD)",
    count: storageGB,
    usd: storageGB * PRICES.s3StandardGBMonth,
  };

  const sqsRequests = (r.sqsSendBilledRequests + r.sqsReceiveBilledRequests + r.sqsDeleteRequests) * scale;
  /** A function's requests and GB-seconds, per million events. */
  const lambda = (name: string, invocations: number, billedMs: number) => [
    {
      item: `${name} Lambda requests`,
      count: invocations * scale,
      usd: ((invocations * scale) / M) * PRICES.lambdaRequestPerMillion,
    },
    {
      item: `${name} Lambda GB-seconds (arm64)`,
      count: gbSeconds(billedMs),
      usd: gbSeconds(billedMs) * PRICES.lambdaArmGBSecond,
    },
  ];
  const ticklake = total([
    ...kinesis,
    ...lambda("bridge", r.bridgeInvocations, r.bridgeBilledMs),
    {
      item: "SQS requests (send, receive in 64 KiB chunks; delete)",
      count: sqsRequests,
      usd: (sqsRequests / M) * PRICES.sqsRequestPerMillion,
    },
    ...lambda("processor", r.processorInvocations, r.processorBilledMs),
    { item: "S3 PUTs", count: r.objects * scale, usd: ((r.objects * scale) / 1000) * PRICES.s3PutPer1000 },
    {
      item: "SNS publishes",
      count: r.snsMessages * scale,
      usd: ((r.snsMessages * scale) / M) * PRICES.snsPublishPerMillion,
    },
    storage,
  ]);

  // Firehose: 5 KiB rounding per record, Parquet conversion, an object per buffer and dataset;
  // no validation with reasons (a transformation Lambda would add its own cost).
  const firehoseGB = (M * 5 * KIB) / GIB;
  const firehoseObjects = Math.max(
    (M * bytesPerEvent) / ASSUMPTIONS.firehoseBufferBytes,
    (M / (step.offeredPerSecond * ASSUMPTIONS.firehoseBufferSeconds)) * ASSUMPTIONS.datasets,
  );
  const firehose = total([
    ...kinesis,
    {
      item: "Firehose ingest, GB (records rounded up to 5 KiB)",
      count: firehoseGB,
      usd: firehoseGB * PRICES.firehoseIngestPerGB,
    },
    {
      item: "Firehose format conversion to Parquet, GB",
      count: firehoseGB,
      usd: firehoseGB * PRICES.firehoseFormatConversionPerGB,
    },
    { item: "S3 PUTs", count: firehoseObjects, usd: (firehoseObjects / 1000) * PRICES.s3PutPer1000 },
    storage,
  ]);

  // Pipes: every event is a billed request, and an SQS target takes batches of at most 10, so
  // every event becomes an SQS message; the processor's work stays what was observed.
  const pipeInvocations = M / ASSUMPTIONS.pipesEventsPerInvocation;
  const pipeObjects = pipeInvocations * ASSUMPTIONS.datasets;
  const pipes = total([
    ...kinesis,
    { item: "EventBridge Pipes requests (one per event)", count: M, usd: PRICES.pipesRequestPerMillion },
    {
      item: "SQS requests (batches of 10: send, receive, delete)",
      count: (M / 10) * 3,
      usd: ((M / 10) * 3 * PRICES.sqsRequestPerMillion) / M,
    },
    {
      item: "processor Lambda requests",
      count: pipeInvocations,
      usd: (pipeInvocations / M) * PRICES.lambdaRequestPerMillion,
    },
    {
      item: "processor Lambda GB-seconds (arm64), as observed",
      count: gbSeconds(r.processorBilledMs),
      usd: gbSeconds(r.processorBilledMs) * PRICES.lambdaArmGBSecond,
    },
    {
      item: "S3 PUTs (a dataset per invocation)",
      count: pipeObjects,
      usd: (pipeObjects / 1000) * PRICES.s3PutPer1000,
    },
    { item: "SNS publishes", count: pipeObjects, usd: (pipeObjects / M) * PRICES.snsPublishPerMillion },
    storage,
  ]);
  return { ticklake, firehose, pipes };
}

const bench = JSON.parse(readFileSync(new URL("./results/pipeline.json", import.meta.url), "utf8")) as {
  date: string;
  steps: Observed[];
};
const observed = bench.steps.filter((step) => step.sustained);
if (observed.length === 0)
  throw new Error("bench/results/pipeline.json has no sustained step: run npm run bench:pipeline");
const results = observed.map((step) => ({ eventsPerSecond: step.offeredPerSecond, ...costPerMillion(step) }));
const output = {
  date: new Date().toISOString(),
  observedIn: `bench/results/pipeline.json of ${bench.date}`,
  prices: PRICES,
  assumptions: ASSUMPTIONS,
  results,
};
writeFileSync(new URL("./results/cost-model.json", import.meta.url), `${JSON.stringify(output, null, 2)}\n`);

const usd = (n: number) => `$${n.toFixed(4)}`;
const reference = results.find((r) => r.eventsPerSecond === 5_000) ?? results[0];
const md = [
  "| events/s (observed step) | ticklake | Kinesis → Firehose → S3 | Kinesis → Pipes → SQS → Lambda |",
  "| --- | --- | --- | --- |",
  ...results.map(
    (r) =>
      `| ${r.eventsPerSecond.toLocaleString("en-US")} | ${usd(r.ticklake.total)} | ${usd(r.firehose.total)} | ${usd(r.pipes.total)} |`,
  ),
  "",
  `Per million events at ${reference?.eventsPerSecond.toLocaleString("en-US")} events/s, from the observed requests:`,
  "",
  "| ticklake line item | count per million events | USD |",
  "| --- | --- | --- |",
  ...(reference?.ticklake.lines ?? []).map(
    (l) =>
      `| ${l.item} | ${l.count < 10 ? l.count.toFixed(3) : Math.round(l.count).toLocaleString("en-US")} | ${usd(l.usd)} |`,
  ),
].join("\n");
writeFileSync(new URL("./results/cost-model.md", import.meta.url), `${md}\n`);
console.log(md);
