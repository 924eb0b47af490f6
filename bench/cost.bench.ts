/**
 * Cost per million events on AWS for the deployed shape, next to Kinesis → Firehose → S3 and
 * Kinesis → EventBridge Pipes → SQS → Lambda → S3, for the same traffic. Sizes come from
 * encoding real simulated records here (packed message bytes, Parquet bytes); throughput per
 * Lambda GB-second from bench/results/processor.json. Prices and assumptions are stated in
 * the output and in bench/README.md.
 *
 *   npm run bench:cost            writes bench/results/cost-model.json and .md
 */
import { readFileSync, writeFileSync } from "node:fs";
import { DATASET_OF, type Dataset, type Envelope, envelopeOf } from "../src/core/events.ts";
import { packRecords } from "../src/core/packing.ts";
import { encodeParquet } from "../src/core/parquet.ts";
import { MarketSimulator } from "../src/core/simulator.ts";
import { resourceSpec } from "../src/core/spec.ts";

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

const HOURS_PER_MONTH = 730;
const KIB = 1024;
const GIB = 1024 ** 3;

export interface Traffic {
  /** Events per second, steady, around the clock. */
  eventsPerSecond: number;
  shards: number;
}

interface Sample {
  recordBytes: number;
  packedBytesPerRecord: number;
  parquetBytesPerRecord: number;
}

function sample(): Sample {
  const start = Date.UTC(2026, 10, 26, 14);
  const sim = new MarketSimulator({ seed: 9, startMs: start });
  const source = { service: "ticklake-webserver", instance: "ip-10-0-0-1" };
  const events: Envelope[] = [];
  for (let step = 1; events.length < 20_000; step++) {
    const tick = sim.advance(start + step * 200);
    for (const q of tick.fx) events.push(envelopeOf("fx.quote", q, source, tick.atMs));
    for (const q of tick.stocks) events.push(envelopeOf("stock.quote", q, source, tick.atMs));
  }
  const texts = events.map((e) => JSON.stringify(e));
  const records = texts.map((text, i) => ({
    sequenceNumber: `4959${String(i + 1).padStart(52, "0")}`,
    partitionKey: "k",
    arrivalMs: start + i,
    data: Buffer.from(text),
  }));
  const packed = packRecords(records, {
    stream: "s",
    shardId: "shardId-000000000000",
    maxMessageBytes: 1_048_576,
  });
  const packedBytes = packed.reduce((sum, m) => sum + Buffer.byteLength(JSON.stringify(m)), 0);
  const byDataset = new Map<Dataset, Envelope[]>();
  for (const event of events) {
    const dataset = DATASET_OF[event.type];
    byDataset.set(dataset, [...(byDataset.get(dataset) ?? []), event]);
  }
  // Objects of about the size the pipeline writes at this traffic (see objectsPerMillion).
  let parquetBytes = 0;
  for (const [dataset, rows] of byDataset) {
    for (let i = 0; i < rows.length; i += 1_000)
      parquetBytes += encodeParquet(dataset, rows.slice(i, i + 1_000)).byteLength;
  }
  return {
    recordBytes: texts.reduce((sum, t) => sum + Buffer.byteLength(t), 0) / texts.length,
    packedBytesPerRecord: packedBytes / texts.length,
    parquetBytesPerRecord: parquetBytes / texts.length,
  };
}

interface Line {
  item: string;
  count: number;
  usd: number;
}

function perMillion(lines: Line[]): { lines: Line[]; total: number } {
  return { lines, total: lines.reduce((sum, l) => sum + l.usd, 0) };
}

export function model(traffic: Traffic, s: Sample, processorRecordsPerSecondPerCore: number) {
  const spec = resourceSpec();
  const M = 1_000_000;
  const eventsPerMonth = traffic.eventsPerSecond * 3600 * HOURS_PER_MONTH;
  const kinesisFixed = (PRICES.kinesisOnDemandStreamHour * HOURS_PER_MONTH * M) / eventsPerMonth;
  const kinesisIngest = ((M * KIB) / GIB) * PRICES.kinesisOnDemandIngestPerGB;
  const kinesisRetrieval = ((M * s.recordBytes) / GIB) * PRICES.kinesisOnDemandRetrievalPerGB;
  const kinesis: Line[] = [
    { item: "Kinesis on-demand stream-hours (spread over the month's events)", count: 0, usd: kinesisFixed },
    { item: "Kinesis ingest (records rounded up to 1 KiB)", count: M, usd: kinesisIngest },
    { item: "Kinesis retrieval by one consumer", count: M, usd: kinesisRetrieval },
  ];

  // Bridge: one invocation per shard per batching window (or per full batch).
  const perShardPerSecond = traffic.eventsPerSecond / traffic.shards;
  const bridgeBatch = Math.min(
    spec.bridge.batchSize,
    perShardPerSecond * Math.max(1, spec.bridge.maxBatchingWindowSeconds),
  );
  const bridgeInvocations = M / bridgeBatch;
  // Lambda at 1,024 MB gets about 0.58 of a vCPU; the bridge does a fraction of the processor's work.
  const lambdaGB = 1;
  const vcpu = 0.58;
  // Assumed I/O waits, billed as duration: 50 ms per bridge invocation (SendMessageBatch),
  // 30 ms per object (S3 PUT, then SNS publish).
  const bridgeSeconds = M / (processorRecordsPerSecondPerCore * 3 * vcpu) + bridgeInvocations * 0.05;

  // SQS: packed messages, billed per 64 KiB; send, receive, delete.
  const packedBytes = M * s.packedBytesPerRecord;
  const messages = Math.max(packedBytes / spec.bridge.maxMessageBytes, bridgeInvocations * 4);
  const sqsChunks = packedBytes / (64 * KIB);
  const sqsRequests = sqsChunks * 2 + messages; // send + receive by size, delete per message

  // Objects: one per packed message (one dataset each), more only when a message spans hours.
  const objects = messages;
  const processorInvocations = messages / spec.processor.batchSize;
  const processorSeconds = M / (processorRecordsPerSecondPerCore * vcpu) + objects * 0.03;
  const parquetGB = (M * s.parquetBytesPerRecord) / GIB;

  const ticklake = perMillion([
    ...kinesis,
    {
      item: "bridge Lambda requests",
      count: bridgeInvocations,
      usd: (bridgeInvocations / M) * PRICES.lambdaRequestPerMillion,
    },
    {
      item: "bridge Lambda GB-seconds (arm64)",
      count: bridgeSeconds * lambdaGB,
      usd: bridgeSeconds * lambdaGB * PRICES.lambdaArmGBSecond,
    },
    {
      item: "SQS requests (64 KiB chunks: send, receive; delete)",
      count: sqsRequests,
      usd: (sqsRequests / M) * PRICES.sqsRequestPerMillion,
    },
    {
      item: "processor Lambda requests",
      count: processorInvocations,
      usd: (processorInvocations / M) * PRICES.lambdaRequestPerMillion,
    },
    {
      item: "processor Lambda GB-seconds (arm64)",
      count: processorSeconds * lambdaGB,
      usd: processorSeconds * lambdaGB * PRICES.lambdaArmGBSecond,
    },
    { item: "S3 PUTs (one per packed message)", count: objects, usd: (objects / 1000) * PRICES.s3PutPer1000 },
    {
      item: "SNS publishes (one per object)",
      count: objects,
      usd: (objects / M) * PRICES.snsPublishPerMillion,
    },
    {
      item: "S3 storage, one month (Parquet ZSTD)",
      count: parquetGB,
      usd: parquetGB * PRICES.s3StandardGBMonth,
    },
  ]);

  // Firehose: 5 KiB rounding per record, Parquet conversion, 128 MiB / 15 min buffers; a
  // validation Lambda would add its own cost, and there is no quarantine with reasons.
  const firehoseIngestGB = (M * 5 * KIB) / GIB;
  const firehoseObjects = Math.max(
    (M * s.recordBytes) / (128 * 1024 ** 2),
    (M / (traffic.eventsPerSecond * 900)) * 4,
  );
  const firehose = perMillion([
    ...kinesis,
    {
      item: "Firehose ingest (records rounded up to 5 KiB)",
      count: firehoseIngestGB,
      usd: firehoseIngestGB * PRICES.firehoseIngestPerGB,
    },
    {
      item: "Firehose format conversion to Parquet",
      count: firehoseIngestGB,
      usd: firehoseIngestGB * PRICES.firehoseFormatConversionPerGB,
    },
    { item: "S3 PUTs", count: firehoseObjects, usd: (firehoseObjects / 1000) * PRICES.s3PutPer1000 },
    { item: "S3 storage, one month", count: parquetGB, usd: parquetGB * PRICES.s3StandardGBMonth },
  ]);

  // Pipes: every event is a request; SQS targets take batches of at most 10 records, so every
  // event becomes an SQS message, and the processor reads them 10 000 at a time at best.
  const pipeMessages = M;
  const pipeSqs = pipeMessages / 10 + pipeMessages / 10 + pipeMessages / 10; // SendMessageBatch, Receive, DeleteBatch
  const pipes = perMillion([
    ...kinesis,
    { item: "EventBridge Pipes requests (one per event)", count: M, usd: PRICES.pipesRequestPerMillion },
    {
      item: "SQS requests (batches of 10: send, receive, delete)",
      count: pipeSqs,
      usd: (pipeSqs / M) * PRICES.sqsRequestPerMillion,
    },
    {
      item: "processor Lambda requests (≈ 1,000 events each)",
      count: M / 1_000,
      usd: (M / 1_000 / M) * PRICES.lambdaRequestPerMillion,
    },
    {
      item: "processor Lambda GB-seconds (arm64)",
      count: processorSeconds * lambdaGB,
      usd: processorSeconds * lambdaGB * PRICES.lambdaArmGBSecond,
    },
    {
      item: "S3 PUTs (one per dataset-hour of a batch)",
      count: (M / 1_000) * 4,
      usd: (((M / 1_000) * 4) / 1000) * PRICES.s3PutPer1000,
    },
    {
      item: "SNS publishes",
      count: (M / 1_000) * 4,
      usd: (((M / 1_000) * 4) / M) * PRICES.snsPublishPerMillion,
    },
    { item: "S3 storage, one month", count: parquetGB, usd: parquetGB * PRICES.s3StandardGBMonth },
  ]);
  return { ticklake, firehose, pipes };
}

const processorBench = JSON.parse(
  readFileSync(new URL("./results/processor.json", import.meta.url), "utf8"),
) as {
  processorRecordsPerSecond: number;
};
const measured = sample();
const scenarios: Traffic[] = [
  { eventsPerSecond: 500, shards: 1 },
  { eventsPerSecond: 5_000, shards: 5 },
  { eventsPerSecond: 50_000, shards: 50 },
];
const results = scenarios.map((traffic) => ({
  traffic,
  ...model(traffic, measured, processorBench.processorRecordsPerSecond),
}));
const output = { date: new Date().toISOString(), prices: PRICES, sample: measured, results };
writeFileSync(new URL("./results/cost-model.json", import.meta.url), `${JSON.stringify(output, null, 2)}\n`);

const usd = (n: number) => `$${n.toFixed(4)}`;
const md = [
  "| events/s (steady) | ticklake | Kinesis → Firehose → S3 | Kinesis → Pipes → SQS → Lambda |",
  "| --- | --- | --- | --- |",
  ...results.map(
    (r) =>
      `| ${r.traffic.eventsPerSecond.toLocaleString("en-US")} | ${usd(r.ticklake.total)} | ${usd(r.firehose.total)} | ${usd(r.pipes.total)} |`,
  ),
  "",
  `Per million events at ${results[1]?.traffic.eventsPerSecond.toLocaleString("en-US")} events/s:`,
  "",
  "| ticklake line item | count | USD |",
  "| --- | --- | --- |",
  ...(results[1]?.ticklake.lines ?? []).map(
    (l) => `| ${l.item} | ${Math.round(l.count).toLocaleString("en-US")} | ${usd(l.usd)} |`,
  ),
].join("\n");
writeFileSync(new URL("./results/cost-model.md", import.meta.url), `${md}\n`);
console.log(md);
console.log(`\nsample: ${JSON.stringify(measured)}`);
