/**
 * What ticklake costs on AWS per month, at a given event rate, for the stack as it deploys:
 * fixed monthly charges (load balancer, Fargate, public IPv4 addresses, the stream's hours, KMS,
 * CloudWatch, Container Insights) and the charges that follow the traffic (Kinesis bytes,
 * Lambda, SQS, and per object written: S3 PUT, SNS publish, the subscriber queue's delivery).
 *
 * The requests are derived from the deployed shape (the resource spec for `target: "aws"`: the
 * bridge's batching window and batch size, shards, message size) and from what the pipeline
 * benchmark measured per event (bytes, Lambda milliseconds, Parquet bytes; `calibrate`). Every
 * price and assumption is stated here and printed with the results (bench/README.md).
 *
 * The model is a list of cost components (`COMPONENTS`), each turning the flows into priced
 * lines; `tableCosts` prices the Iceberg commits per table and interval and the compaction of
 * closed hours.
 */
import { readFileSync } from "node:fs";
import { FX_PAIRS, STOCK_SYMBOLS } from "../src/core/instruments.ts";
import { type ResourceSpec, resourceSpec } from "../src/core/spec.ts";

/** us-east-1 list prices, USD, as published on the AWS pricing pages (2025). */
export const PRICES = {
  kinesisOnDemandStreamHour: 0.04,
  kinesisOnDemandIngestPerGB: 0.08, // each record rounded up to 1 KiB
  kinesisOnDemandRetrievalPerGB: 0.04,
  kinesisShardHour: 0.015,
  kinesisPutPayloadUnitPerMillion: 0.014, // 25 KiB units, provisioned mode
  lambdaRequestPerMillion: 0.2,
  lambdaArmGBSecond: 0.0000133334,
  sqsRequestPerMillion: 0.4, // every 64 KiB of a payload is one request
  s3PutPer1000: 0.005,
  s3GetPer1000: 0.0004,
  glueRequestPerMillion: 1, // Data Catalog requests above the free million a month
  s3StandardGBMonth: 0.023,
  snsPublishPerMillion: 0.5, // every 64 KiB is one publish; deliveries to SQS are free
  albHour: 0.0225,
  albLcuHour: 0.008,
  fargateArmVcpuHour: 0.03238,
  fargateArmGBHour: 0.00356,
  publicIpv4Hour: 0.005,
  kmsKeyMonth: 1,
  kmsRequestPer10k: 0.03,
  cloudWatchAlarmMetricMonth: 0.1, // standard resolution, per metric an alarm evaluates
  cloudWatchDashboardMonth: 3,
  cloudWatchCustomMetricMonth: 0.3, // first 10,000 metrics
  cloudWatchLogsIngestPerGB: 0.5,
  firehoseIngestPerGB: 0.029, // each record rounded up to 5 KiB
  firehoseFormatConversionPerGB: 0.018,
  pipesRequestPerMillion: 0.4, // every event, per 64 KiB chunk
} as const;

export const HOURS_PER_MONTH = 730;
export const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
const KIB = 1024;
const GIB = 1024 ** 3;

/** What the stack deploys, as far as cost goes. `DEPLOYED` is the default; the stack tests check it. */
export interface Deployment {
  spec: ResourceSpec;
  streamMode: "on-demand" | "provisioned";
  /** Fargate tasks of the web server, their vCPU and memory (arm64). */
  tasks: number;
  taskVcpu: number;
  taskMemoryGB: number;
  /** Availability zones of the public load balancer: one public IPv4 address each. */
  loadBalancerZones: number;
  /** Metrics the alarms evaluate (a metric-math alarm counts each of its metrics). */
  alarmMetrics: number;
  dashboards: number;
  /** Customer-managed KMS keys. */
  kmsKeys: number;
  /** Custom metrics while the pipeline runs: the functions' EMF metrics and the shipper's filters. */
  customMetrics: number;
  /** Container Insights (standard) on the cluster: its metrics are custom metrics. */
  containerInsightsMetrics: number;
}

export const DEPLOYED: Deployment = {
  spec: resourceSpec({ stage: "dev", target: "aws" }),
  streamMode: "on-demand",
  tasks: 1,
  taskVcpu: 0.5,
  taskMemoryGB: 1,
  loadBalancerZones: 2,
  // 10 for ingest and processing; the committer's 3 counts and DLQ, maintenance's 2 counts,
  // errors and throttles of both (infra/monitoring.ts).
  alarmMetrics: 20,
  dashboards: 1,
  kmsKeys: 1,
  // Processor: 6 metrics, bridge: 2, committer: 9, maintenance: 8 (src/core/metrics.ts);
  // ShipperBuffered, ShipperRefused.
  customMetrics: 27,
  // Cluster, service and task-family dimensions of ECS/ContainerInsights (an estimate).
  containerInsightsMetrics: 30,
};

/** A provisioned stream of one shard, for a demo that needs none of on-demand's headroom. */
export const DEMO_PROVISIONED: Deployment = {
  ...DEPLOYED,
  spec: resourceSpec({ stage: "dev", target: "aws", shardCount: 1 }),
  streamMode: "provisioned",
};

/** Assumptions, stated with the results. */
export const ASSUMPTIONS = {
  /** An on-demand stream starts with 4 shards (4 MB/s in); records spread over them by key. */
  onDemandShards: 4,
  /** The shipper sends what waited 100 ms (its flush interval), one aggregated record per key. */
  shipperFlushSeconds: 0.1,
  /** Partition keys of the market feed's tick log: one per FX pair and stock. */
  partitionKeys: FX_PAIRS.length + STOCK_SYMBOLS.length,
  /** The tick log's datasets, by share of events: a quote per pair and per stock each tick, news 1 a minute. */
  datasetShares: {
    fx_quotes: FX_PAIRS.length / (FX_PAIRS.length + STOCK_SYMBOLS.length),
    stock_quotes: STOCK_SYMBOLS.length / (FX_PAIRS.length + STOCK_SYMBOLS.length),
  } as Record<string, number>,
  lambdaMemoryGB: 1,
  /** vCPU share of a 1,024 MB Lambda; local durations were measured on a full core. */
  lambdaVcpu: 0.58,
  /** Lambda's SQS event source long-polls with 5 pollers (20 s) while the queue is empty. */
  sqsIdlePollsPerSecond: 5 / 20,
  /** Each Lambda invocation logs START, END, REPORT and its EMF metrics: about 1 KiB. */
  logBytesPerInvocation: 1024,
  /** The load balancer's capacity units with no API traffic (health checks are not billed). */
  idleLcus: 0,
  /** SNS asks KMS for a data key per publish to an encrypted topic (no reuse assumed). */
  kmsRequestsPerPublish: 1,
  /** Firehose's buffer: an object per 128 MiB or per 15 minutes per dataset, whichever first. */
  firehoseBufferBytes: 128 * 1024 ** 2,
  firehoseBufferSeconds: 900,
  /**
   * The committer, per table commit: it reads the metadata file, the manifest list and about
   * two manifests, writes a manifest, a manifest list and a metadata file, asks Glue twice
   * (GetTable, UpdateTable) and publishes one notification; about 300 ms of a 1,024 MB function
   * per invocation (an estimate: bench/README.md, phase B3 measures it).
   */
  commitS3Gets: 4,
  commitS3Puts: 3,
  commitGlueRequests: 2,
  committerMsPerInvocation: 300,
  /** Datasets with traffic: the commits per interval (news is as frequent as the quotes are not). */
  tablesCommitted: 4,
  /** Compaction's throughput, records a second (bench/results/compaction.json: 76,154 for the busiest hour, loaded machine). */
  compactionRecordsPerSecond: 76_000,
  /** Pipes sends at most 10 events per SQS batch; the processor reads up to 1,000 per invocation. */
  pipesEventsPerInvocation: 1_000,
} as const;

/** What one step of the pipeline benchmark observed (bench/pipeline.bench.ts). */
export interface Observed {
  offeredPerSecond: number;
  produced: number;
  sustained: boolean;
  lakeBytes: number;
  requests: {
    kinesisRecords: number;
    kinesisBytes: number;
    bridgeInvocations: number;
    bridgeBilledMs: number;
    sqsMessages: number;
    sqsBytes: number;
    processorInvocations: number;
    processorBilledMs: number;
    objects: number;
  };
}

/** Per-event and per-call figures measured by the pipeline benchmark. */
export interface Calibration {
  /** Kinesis payload bytes per event (JSON, aggregated). */
  kinesisBytesPerEvent: number;
  /** Packed SQS message bytes per event. */
  packedBytesPerEvent: number;
  /** Parquet bytes: a fixed part per object and a part per event. */
  lakeBytesPerObject: number;
  lakeBytesPerEvent: number;
  /** Billed Lambda milliseconds on a full core: per invocation and per event. */
  bridgeMsPerInvocation: number;
  bridgeMsPerEvent: number;
  processorMsPerInvocation: number;
  processorMsPerEvent: number;
}

/** Least squares of y = a·x1 + b·x2 (no intercept), with both coefficients kept ≥ 0. */
function fitTwo(rows: Array<[number, number, number]>): [number, number] {
  let s11 = 0;
  let s12 = 0;
  let s22 = 0;
  let s1y = 0;
  let s2y = 0;
  for (const [x1, x2, y] of rows) {
    s11 += x1 * x1;
    s12 += x1 * x2;
    s22 += x2 * x2;
    s1y += x1 * y;
    s2y += x2 * y;
  }
  const det = s11 * s22 - s12 * s12;
  const a = (s1y * s22 - s2y * s12) / det;
  const b = (s2y * s11 - s1y * s12) / det;
  if (a < 0) return [0, s2y / s22];
  if (b < 0) return [s1y / s11, 0];
  return [a, b];
}

/** The per-event figures of the benchmark's sustained steps. */
export function calibrate(steps: readonly Observed[]): Calibration {
  const sum = (f: (s: Observed) => number) => steps.reduce((total, step) => total + f(step), 0);
  const events = sum((s) => s.produced);
  const [lakeBytesPerObject, lakeBytesPerEvent] = fitTwo(
    steps.map((s) => [s.requests.objects, s.produced, s.lakeBytes]),
  );
  const [bridgeMsPerInvocation, bridgeMsPerEvent] = fitTwo(
    steps.map((s) => [s.requests.bridgeInvocations, s.produced, s.requests.bridgeBilledMs]),
  );
  const [processorMsPerInvocation, processorMsPerEvent] = fitTwo(
    steps.map((s) => [s.requests.processorInvocations, s.produced, s.requests.processorBilledMs]),
  );
  return {
    kinesisBytesPerEvent: sum((s) => s.requests.kinesisBytes) / events,
    packedBytesPerEvent: sum((s) => s.requests.sqsBytes) / events,
    lakeBytesPerObject,
    lakeBytesPerEvent,
    bridgeMsPerInvocation,
    bridgeMsPerEvent,
    processorMsPerInvocation,
    processorMsPerEvent,
  };
}

/** Requests and sizes per second at one event rate on one deployment. */
export interface Flows {
  eventsPerSecond: number;
  shards: number;
  kinesisRecords: number;
  kinesisBytes: number;
  /** Kinesis on-demand billing: each record rounded up to 1 KiB. */
  kinesisBilledKiB: number;
  /** Provisioned billing: 25 KiB PUT payload units. */
  kinesisPayloadUnits: number;
  bridgeInvocations: number;
  bridgeBilledMs: number;
  sqsMessages: number;
  sqsBytes: number;
  processorInvocations: number;
  processorBilledMs: number;
  /** Lake and quarantine objects written: one S3 PUT and one SNS manifest each. */
  objects: number;
  lakeBytes: number;
}

/** Expected count of distinct keys hit by `n` events spread evenly over `k` keys. */
const distinct = (n: number, k: number) => k * (1 - Math.exp(-n / k));

export function flowsAt(eventsPerSecond: number, deployment: Deployment, calibration: Calibration): Flows {
  const { spec } = deployment;
  const R = eventsPerSecond;
  const shards = deployment.streamMode === "on-demand" ? ASSUMPTIONS.onDemandShards : spec.stream.shardCount;
  // The shipper: a flush every 100 ms while events come, one aggregated record per key it holds
  // (more when a key's aggregate passes the KPL's 51,200 bytes).
  const flushes = Math.min(1 / ASSUMPTIONS.shipperFlushSeconds, R);
  const perFlush = R / flushes;
  const keys = distinct(perFlush, ASSUMPTIONS.partitionKeys);
  const bytesPerKey = (perFlush * calibration.kinesisBytesPerEvent) / keys;
  const recordsPerKey = Math.max(1, bytesPerKey / 51_200);
  const kinesisRecords = flushes * keys * recordsPerKey;
  const recordBytes = (R * calibration.kinesisBytesPerEvent) / kinesisRecords;
  // The bridge, per shard: an invocation when the batch is full (records or Lambda's 6 MB), or
  // when the batching window ends; Lambda polls a shard about once a second.
  const recordsPerShard = kinesisRecords / shards;
  const bytesPerShard = (R * calibration.kinesisBytesPerEvent) / shards;
  const interval = Math.max(
    1,
    Math.min(
      spec.bridge.maxBatchingWindowSeconds,
      spec.bridge.batchSize / recordsPerShard,
      (6 * 1024 ** 2) / bytesPerShard,
    ),
  );
  const invocationsPerShard = Math.min(1 / interval, recordsPerShard);
  const bridgeInvocations = shards * invocationsPerShard;
  const eventsPerInvocation = R / bridgeInvocations;
  // Messages: one per dataset present in the batch, more when a dataset's records pass the
  // message size.
  const messagesPerInvocation = Object.values(ASSUMPTIONS.datasetShares).reduce((sum, share) => {
    const events = share * eventsPerInvocation;
    const bytes = events * calibration.packedBytesPerEvent;
    return sum + Math.max(1 - Math.exp(-events), bytes / spec.bridge.maxMessageBytes);
  }, 0);
  const sqsMessages = bridgeInvocations * messagesPerInvocation;
  // A message's records span one batching interval: it crosses an hour boundary that often.
  const objects = sqsMessages * (1 + interval / 3600);
  const processorInvocations =
    bridgeInvocations * Math.max(1, Math.ceil(messagesPerInvocation / spec.processor.batchSize));
  return {
    eventsPerSecond: R,
    shards,
    kinesisRecords,
    kinesisBytes: R * calibration.kinesisBytesPerEvent,
    kinesisBilledKiB: kinesisRecords * Math.ceil(recordBytes / KIB),
    kinesisPayloadUnits: kinesisRecords * Math.ceil(recordBytes / (25 * KIB)),
    bridgeInvocations,
    bridgeBilledMs: bridgeInvocations * calibration.bridgeMsPerInvocation + R * calibration.bridgeMsPerEvent,
    sqsMessages,
    sqsBytes: R * calibration.packedBytesPerEvent,
    processorInvocations,
    processorBilledMs:
      processorInvocations * calibration.processorMsPerInvocation + R * calibration.processorMsPerEvent,
    objects,
    lakeBytes: objects * calibration.lakeBytesPerObject + R * calibration.lakeBytesPerEvent,
  };
}

/** Lines by part of the pipeline; the table layer's are "commits" and "compaction". */
export type CostGroup =
  | "fixed"
  | "stream"
  | "functions"
  | "queue"
  | "per object"
  | "storage"
  | "commits"
  | "compaction";

export interface CostLine {
  group: CostGroup;
  item: string;
  /** Units per month. */
  count: number;
  /** USD per month. */
  usd: number;
}

export interface CostContext {
  deployment: Deployment;
  flows: Flows;
}

/** A part of the bill: priced lines per month from the flows and the deployment. */
export type CostComponent = (context: CostContext) => CostLine[];

const monthly = (perSecond: number) => perSecond * SECONDS_PER_MONTH;

/** A priced line: `count` units a month at `unitPrice` USD each. */
const line = (group: CostGroup, item: string, count: number, unitPrice: number): CostLine => ({
  group,
  item,
  count,
  usd: count * unitPrice,
});

const PER_MILLION = 1e-6;

export const fixedCosts: CostComponent = ({ deployment: d }) => {
  const taskHourPrice = d.taskVcpu * PRICES.fargateArmVcpuHour + d.taskMemoryGB * PRICES.fargateArmGBHour;
  const publicAddresses = d.loadBalancerZones + d.tasks;
  const idlePolls = monthly(ASSUMPTIONS.sqsIdlePollsPerSecond);
  return [
    line("fixed", "load balancer hours", HOURS_PER_MONTH, PRICES.albHour),
    line(
      "fixed",
      "load balancer capacity units (idle: none; API traffic adds)",
      ASSUMPTIONS.idleLcus * HOURS_PER_MONTH,
      PRICES.albLcuHour,
    ),
    line(
      "fixed",
      `Fargate arm64 task hours (${d.taskVcpu} vCPU, ${d.taskMemoryGB} GB)`,
      d.tasks * HOURS_PER_MONTH,
      taskHourPrice,
    ),
    line(
      "fixed",
      `public IPv4 address hours (${d.loadBalancerZones} load balancer zones + ${d.tasks} task)`,
      publicAddresses * HOURS_PER_MONTH,
      PRICES.publicIpv4Hour,
    ),
    line("fixed", "KMS customer-managed key (the topics')", d.kmsKeys, PRICES.kmsKeyMonth),
    line("fixed", "CloudWatch alarms (metrics evaluated)", d.alarmMetrics, PRICES.cloudWatchAlarmMetricMonth),
    line("fixed", "CloudWatch dashboard", d.dashboards, PRICES.cloudWatchDashboardMonth),
    line(
      "fixed",
      "CloudWatch custom metrics (functions' EMF, shipper filters)",
      d.customMetrics,
      PRICES.cloudWatchCustomMetricMonth,
    ),
    line(
      "fixed",
      "Container Insights metrics (estimate)",
      d.containerInsightsMetrics,
      PRICES.cloudWatchCustomMetricMonth,
    ),
    line(
      "fixed",
      "SQS long polls of the processor's event source while idle",
      idlePolls,
      PRICES.sqsRequestPerMillion * PER_MILLION,
    ),
  ];
};

export const streamCosts: CostComponent = ({ deployment: d, flows: f }) => {
  if (d.streamMode === "provisioned") {
    return [
      line(
        "fixed",
        `Kinesis shard hours (${f.shards} provisioned)`,
        f.shards * HOURS_PER_MONTH,
        PRICES.kinesisShardHour,
      ),
      line(
        "stream",
        "Kinesis PUT payload units (25 KiB)",
        monthly(f.kinesisPayloadUnits),
        PRICES.kinesisPutPayloadUnitPerMillion * PER_MILLION,
      ),
    ];
  }
  return [
    line("fixed", "Kinesis on-demand stream hours", HOURS_PER_MONTH, PRICES.kinesisOnDemandStreamHour),
    line(
      "stream",
      "Kinesis on-demand ingest, GB (records rounded up to 1 KiB)",
      (monthly(f.kinesisBilledKiB) * KIB) / GIB,
      PRICES.kinesisOnDemandIngestPerGB,
    ),
    line(
      "stream",
      "Kinesis on-demand retrieval by the bridge, GB",
      monthly(f.kinesisBytes) / GIB,
      PRICES.kinesisOnDemandRetrievalPerGB,
    ),
  ];
};

export const functionCosts: CostComponent = ({ flows: f }) => {
  const invocations = monthly(f.bridgeInvocations + f.processorInvocations);
  const gbSeconds =
    (monthly(f.bridgeBilledMs + f.processorBilledMs) / 1000 / ASSUMPTIONS.lambdaVcpu) *
    ASSUMPTIONS.lambdaMemoryGB;
  return [
    line(
      "functions",
      "Lambda requests (bridge + processor)",
      invocations,
      PRICES.lambdaRequestPerMillion * PER_MILLION,
    ),
    line("functions", "Lambda GB-seconds, arm64 (bridge + processor)", gbSeconds, PRICES.lambdaArmGBSecond),
    line(
      "functions",
      "CloudWatch Logs ingestion of the functions' logs, GB",
      (invocations * ASSUMPTIONS.logBytesPerInvocation) / GIB,
      PRICES.cloudWatchLogsIngestPerGB,
    ),
  ];
};

export const queueCosts: CostComponent = ({ flows: f }) => {
  // Send in batches of 10 and receive: each billed per 64 KiB; one delete batch per invocation.
  const chunks = Math.max(f.sqsMessages, f.sqsBytes / (64 * KIB));
  return [
    line(
      "queue",
      "SQS requests for packed messages (send, receive per 64 KiB; delete)",
      monthly(2 * chunks + f.processorInvocations),
      PRICES.sqsRequestPerMillion * PER_MILLION,
    ),
  ];
};

export const perObjectCosts: CostComponent = ({ flows: f }) => {
  const objects = monthly(f.objects);
  return [
    line("per object", "S3 PUTs (lake and quarantine objects)", objects, PRICES.s3PutPer1000 / 1000),
    line(
      "per object",
      "SNS publishes (one manifest per object)",
      objects,
      PRICES.snsPublishPerMillion * PER_MILLION,
    ),
    line(
      "per object",
      "KMS requests of the encrypted topic",
      objects * ASSUMPTIONS.kmsRequestsPerPublish,
      PRICES.kmsRequestPer10k / 10_000,
    ),
    line(
      "per object",
      "SQS requests of the notification queue (delivery; nobody is obliged to read it)",
      objects,
      PRICES.sqsRequestPerMillion * PER_MILLION,
    ),
  ];
};

export const storageCosts: CostComponent = ({ flows: f }) => [
  line(
    "storage",
    "S3 storage of a month's Parquet, GB-month",
    monthly(f.lakeBytes) / GIB,
    PRICES.s3StandardGBMonth,
  ),
];

/**
 * The table layer: the committer (one snapshot per table per commit interval, its queue's
 * requests per announcement) and maintenance (each closed hour read once and written once by
 * compaction, on the schedule; expiry's deletes are free).
 */
export const tableCosts: CostComponent = ({ deployment: d, flows: f }) => {
  const { committer, maintenance } = d.spec;
  const a = ASSUMPTIONS;
  // An invocation per commit interval while announcements come, more when a batch fills; each
  // commits every table its batch names (one snapshot per table with new files).
  // An invocation needs an announcement: no more invocations than objects.
  const invocations = Math.min(
    f.objects,
    Math.max(1 / committer.maxBatchingWindowSeconds, f.objects / committer.batchSize),
  );
  const objectsPerInvocation = invocations > 0 ? f.objects / invocations : 0;
  const commits = invocations * Math.min(a.tablesCommitted, Math.max(1, objectsPerInvocation));
  const maintenanceRuns = 1 / (maintenance.intervalMinutes * 60);
  const compactionSeconds = f.eventsPerSecond / a.compactionRecordsPerSecond;
  return [
    line(
      "commits",
      `committer Lambda requests (one per ${committer.maxBatchingWindowSeconds} s commit interval, or per ${committer.batchSize} files)`,
      monthly(invocations),
      PRICES.lambdaRequestPerMillion * PER_MILLION,
    ),
    line(
      "commits",
      "committer Lambda GB-seconds, arm64 (1,024 MB)",
      (monthly(invocations) * a.committerMsPerInvocation) / 1000,
      PRICES.lambdaArmGBSecond,
    ),
    line(
      "commits",
      "SQS requests of the committer queue (delivery per announcement; receive and delete per 10)",
      monthly(f.objects + (2 * f.objects) / 10),
      PRICES.sqsRequestPerMillion * PER_MILLION,
    ),
    line(
      "commits",
      "S3 PUTs of commits (manifest, manifest list, metadata file per table commit)",
      monthly(commits * a.commitS3Puts),
      PRICES.s3PutPer1000 / 1000,
    ),
    line(
      "commits",
      "S3 GETs of commits (metadata, manifest list, manifests)",
      monthly(commits * a.commitS3Gets),
      PRICES.s3GetPer1000 / 1000,
    ),
    line(
      "commits",
      "Glue Data Catalog requests (GetTable, UpdateTable per commit; first million free)",
      Math.max(0, monthly(commits * a.commitGlueRequests) - 1e6),
      PRICES.glueRequestPerMillion * PER_MILLION,
    ),
    line(
      "commits",
      "SNS publishes of table updated notifications (one per commit)",
      monthly(commits),
      PRICES.snsPublishPerMillion * PER_MILLION,
    ),
    line(
      "compaction",
      `maintenance Lambda requests (every ${maintenance.intervalMinutes} min)`,
      monthly(maintenanceRuns),
      PRICES.lambdaRequestPerMillion * PER_MILLION,
    ),
    line(
      "compaction",
      `maintenance Lambda GB-seconds (${maintenance.memoryMb} MB): compaction of every record once`,
      monthly(compactionSeconds) * (maintenance.memoryMb / 1024),
      PRICES.lambdaArmGBSecond,
    ),
    line(
      "compaction",
      "S3 GETs of compaction (each lake object read once)",
      monthly(f.objects),
      PRICES.s3GetPer1000 / 1000,
    ),
  ];
};

/** The bill, part by part. A new part of the pipeline adds its component here. */
export const COMPONENTS: readonly CostComponent[] = [
  fixedCosts,
  streamCosts,
  functionCosts,
  queueCosts,
  perObjectCosts,
  storageCosts,
  tableCosts,
];

export interface MonthlyCost {
  eventsPerSecond: number;
  flows: Flows;
  lines: CostLine[];
  total: number;
  fixed: number;
  /** Of the total: what follows the traffic, per million events. */
  variablePerMillion: number;
  objectsPerSecond: number;
}

export function monthlyCost(
  eventsPerSecond: number,
  deployment: Deployment,
  calibration: Calibration,
  components: readonly CostComponent[] = COMPONENTS,
): MonthlyCost {
  const flows = flowsAt(eventsPerSecond, deployment, calibration);
  const lines = components.flatMap((component) => component({ deployment, flows }));
  const total = lines.reduce((sum, line) => sum + line.usd, 0);
  const fixed = lines.filter((line) => line.group === "fixed").reduce((sum, line) => sum + line.usd, 0);
  return {
    eventsPerSecond,
    flows,
    lines,
    total,
    fixed,
    variablePerMillion: ((total - fixed) / monthly(eventsPerSecond)) * 1e6,
    objectsPerSecond: flows.objects,
  };
}

/**
 * Per million events, the two alternatives DESIGN §1 weighs, from what the benchmark observed at
 * one rate: Kinesis → Firehose (Parquet conversion) → S3, and Kinesis → EventBridge Pipes → SQS
 * → Lambda → S3. Kinesis itself is left out of both, as it is the same for all three.
 */
export function alternativesPerMillion(step: Observed, calibration: Calibration) {
  const M = 1_000_000;
  const firehoseGB = (M * 5 * KIB) / GIB;
  const firehoseObjects = Math.max(
    (M * calibration.kinesisBytesPerEvent) / ASSUMPTIONS.firehoseBufferBytes,
    (M / (step.offeredPerSecond * ASSUMPTIONS.firehoseBufferSeconds)) * 2,
  );
  const firehose =
    firehoseGB * (PRICES.firehoseIngestPerGB + PRICES.firehoseFormatConversionPerGB) +
    (firehoseObjects / 1000) * PRICES.s3PutPer1000;
  const scale = M / step.produced;
  const gbSeconds =
    ((step.requests.processorBilledMs * scale) / 1000 / ASSUMPTIONS.lambdaVcpu) * ASSUMPTIONS.lambdaMemoryGB;
  const pipeInvocations = M / ASSUMPTIONS.pipesEventsPerInvocation;
  const pipes =
    PRICES.pipesRequestPerMillion +
    ((M / 10) * 3 * PRICES.sqsRequestPerMillion) / M +
    (pipeInvocations / M) * PRICES.lambdaRequestPerMillion +
    gbSeconds * PRICES.lambdaArmGBSecond +
    ((pipeInvocations * 2) / 1000) * PRICES.s3PutPer1000 +
    ((pipeInvocations * 2) / M) * PRICES.snsPublishPerMillion;
  return { firehose, pipes };
}

/** The rates the model's table covers, events/s. */
export const RATES = [10, 50, 100, 500, 1_000, 2_500, 5_000, 10_000, 20_000, 30_000, 40_000];

const usd = (n: number) => (n >= 100 ? `$${Math.round(n).toLocaleString("en-US")}` : `$${n.toFixed(2)}`);
const count = (n: number) => (n < 10 ? n.toFixed(2) : Math.round(n).toLocaleString("en-US"));

/** USD a month of a cost's lines in `groups`. */
export function groupCost(cost: MonthlyCost, ...groups: CostGroup[]): number {
  return cost.lines.filter((line) => groups.includes(line.group)).reduce((sum, line) => sum + line.usd, 0);
}

/**
 * Per million events at 10 to 5,000 events/s (issue 17) on the stack as deployed, as a Markdown
 * table: all in (the fixed part spread over the month's events), beyond the fixed part, and of
 * that the table layer's commits and compaction.
 */
export function perMillionMarkdown(calibration: Calibration): string {
  const rows = RATES.filter((rate) => rate <= 5_000).map((rate) => {
    const cost = monthlyCost(rate, DEPLOYED, calibration);
    const millions = monthly(rate) / 1e6;
    const perMillion = (value: number) => `$${(value / millions).toFixed(4)}`;
    return `| ${rate.toLocaleString("en-US")} | ${count(millions)} | ${usd(cost.total)} | ${perMillion(cost.total)} | ${perMillion(cost.total - cost.fixed)} | ${perMillion(groupCost(cost, "commits"))} | ${perMillion(groupCost(cost, "compaction"))} |`;
  });
  return [
    "| events/s | million events a month | total a month | per million events, all in | beyond fixed | of which commits | of which compaction |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

/** The commit intervals the trade-off table prices, seconds (1-300 is what the spec allows). */
export const COMMIT_INTERVALS = [1, 5, 10, 30, 60, 120, 300];

/** At one rate and commit interval on the deployed stack: table commits an hour and their monthly cost. */
export function commitsAt(rate: number, intervalSeconds: number, calibration: Calibration) {
  const deployment: Deployment = {
    ...DEPLOYED,
    spec: resourceSpec({ stage: "dev", target: "aws", commitIntervalSeconds: intervalSeconds }),
  };
  const cost = monthlyCost(rate, deployment, calibration);
  const snsLine = cost.lines.find((line) => line.group === "commits" && line.item.startsWith("SNS"));
  const commitsPerHour = (snsLine?.count ?? 0) / HOURS_PER_MONTH;
  return {
    /** Per table with traffic (ASSUMPTIONS.tablesCommitted). */
    commitsPerHourPerTable: commitsPerHour / ASSUMPTIONS.tablesCommitted,
    commitsUsd: groupCost(cost, "commits"),
    commitsPerMillion: (groupCost(cost, "commits") / monthly(rate)) * 1e6,
  };
}

/**
 * The commit interval's price, as a Markdown table: for each of COMMIT_INTERVALS, commits per
 * table an hour and the commits' monthly cost at `rates`, beside the freshness goal (interval
 * + 2 s) and what bench/freshness.bench.ts measured at that interval (`measured`, by interval).
 */
export function commitIntervalMarkdown(
  calibration: Calibration,
  rates: readonly number[],
  measured: ReadonlyMap<number, string>,
): string {
  const rows = COMMIT_INTERVALS.map((interval) => {
    const at = rates.map((rate) => commitsAt(rate, interval, calibration));
    const perHour = at.map((a) => count(a.commitsPerHourPerTable)).join(" / ");
    const costs = at.map((a) => `${usd(a.commitsUsd)} ($${a.commitsPerMillion.toFixed(4)})`).join(" | ");
    return `| ${interval} s | ${perHour} | ${costs} | ${interval + 2} s | ${measured.get(interval) ?? "not measured"} |`;
  });
  const rateNames = rates.map((rate) => `${rate.toLocaleString("en-US")} events/s`);
  return [
    `| commit interval | commits per table an hour (${rateNames.join(" / ")}) | ${rateNames.map((name) => `commits a month at ${name} (per million events)`).join(" | ")} | freshness goal: p99 ≤ | measured p99, local (bench:freshness) |`,
    `|${" --- |".repeat(4 + rates.length)}`,
    ...rows,
  ].join("\n");
}

/** A provisioned stream with the shards a rate needs (1 MB/s or 1,000 records/s each), at least 1. */
export function provisionedFor(rate: number, calibration: Calibration): Deployment {
  const flows = flowsAt(rate, DEMO_PROVISIONED, calibration);
  const shards = Math.max(1, Math.ceil(flows.kinesisRecords / 1_000), Math.ceil(flows.kinesisBytes / 1e6));
  return { ...DEMO_PROVISIONED, spec: resourceSpec({ stage: "dev", target: "aws", shardCount: shards }) };
}

/**
 * The monthly cost at each of `RATES`, as a Markdown table: bench/results/cost-model.md and
 * docs/deploy-aws.md show it, and test/unit/cost-model.test.ts keeps the doc equal to it.
 */
export function costTableMarkdown(calibration: Calibration): string {
  const rows = RATES.map((rate) => {
    const onDemand = monthlyCost(rate, DEPLOYED, calibration);
    const provisioned = monthlyCost(rate, provisionedFor(rate, calibration), calibration);
    const puts = onDemand.lines.find((line) => line.item.startsWith("S3 PUTs"))?.usd ?? 0;
    return `| ${rate.toLocaleString("en-US")} | ${count(onDemand.objectsPerSecond)} | ${usd(onDemand.total)} | ${usd(onDemand.fixed)} | ${usd(puts)} | ${usd(onDemand.variablePerMillion)} | ${usd(provisioned.total)} (${provisioned.flows.shards}) |`;
  });
  return [
    "| events/s | objects/s | on-demand stream: total | of which fixed | S3 PUTs | per million events beyond fixed | provisioned stream (shards): total |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

/** A cost's lines as a Markdown table. */
export function linesMarkdown(cost: MonthlyCost): string {
  return [
    "| group | item | count per month | USD per month |",
    "| --- | --- | --- | --- |",
    ...cost.lines.map((l) => `| ${l.group} | ${l.item} | ${count(l.count)} | ${usd(l.usd)} |`),
  ].join("\n");
}

/**
 * The pipeline benchmark's run that calibrates the model: the recording of 26 November 2026, on
 * a day the machine ran about four times as fast as on 1 December (bench/README.md, Processor),
 * closer to what Lambda's arm64 cores do per event. Later runs go to results/pipeline.json; on a
 * slower day a bridge invocation outlasts its window and batches merge, which the model's
 * request counts are not meant to follow (docs/decisions.md, the cost model).
 */
const CALIBRATION_RUN = new URL("./results/pipeline-calibration.json", import.meta.url);

/** The calibrating run (CALIBRATION_RUN) as the pipeline benchmark wrote it. */
export interface CalibrationRun {
  date: string;
  /** Every run of every step, when the benchmark ran in rounds; each step's median otherwise. */
  runs?: Observed[];
  steps: Observed[];
}

export function calibrationRun(): CalibrationRun {
  return JSON.parse(readFileSync(CALIBRATION_RUN, "utf8")) as CalibrationRun;
}

/** The sustained steps of the calibrating run. */
export function observedSteps(bench: CalibrationRun = calibrationRun()): Observed[] {
  const steps = (bench.runs ?? bench.steps).filter((step) => step.sustained);
  if (steps.length === 0) {
    throw new Error(`${CALIBRATION_RUN.pathname} has no sustained step`);
  }
  return steps;
}
