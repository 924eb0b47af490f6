/**
 * Counts per stage of a deployed pipeline over a time window, from CloudWatch: the bridge's and
 * the processor's own metrics (EMF, namespace = the stack's prefix) and the services' metrics
 * for the stream and the topic. `ticklake status --target aws` prints them.
 */
import {
  type CloudWatchClient,
  GetMetricDataCommand,
  type MetricDataQuery,
} from "@aws-sdk/client-cloudwatch";
import { BRIDGE_METRICS, functionServiceName, PROCESSOR_METRICS } from "../core/metrics.ts";

export interface StageMetricsScope {
  /** The stack's metric namespace and name prefix, e.g. `ticklake-dev`. */
  prefix: string;
  streamName: string;
  topicName: string;
}

export interface StageTotals {
  /** Kinesis records put (aggregated records count once). */
  kinesisRecordsIn: number;
  /** Events the bridge read from the stream and packed. */
  bridged: number;
  stored: number;
  quarantined: number;
  objectsWritten: number;
  notifications: number;
}

const STAGES: Array<{
  id: keyof StageTotals;
  namespace: (p: string) => string;
  metric: string;
  dimensions: (s: StageMetricsScope) => Record<string, string>;
}> = [
  {
    id: "kinesisRecordsIn",
    namespace: () => "AWS/Kinesis",
    metric: "IncomingRecords",
    dimensions: (s) => ({ StreamName: s.streamName }),
  },
  {
    id: "bridged",
    namespace: (p) => p,
    metric: BRIDGE_METRICS.recordsBridged,
    dimensions: (s) => ({ service: functionServiceName(s.prefix, "bridge") }),
  },
  {
    id: "stored",
    namespace: (p) => p,
    metric: PROCESSOR_METRICS.recordsStored,
    dimensions: (s) => ({ service: functionServiceName(s.prefix, "processor") }),
  },
  {
    id: "quarantined",
    namespace: (p) => p,
    metric: PROCESSOR_METRICS.recordsQuarantined,
    dimensions: (s) => ({ service: functionServiceName(s.prefix, "processor") }),
  },
  {
    id: "objectsWritten",
    namespace: (p) => p,
    metric: PROCESSOR_METRICS.objectsWritten,
    dimensions: (s) => ({ service: functionServiceName(s.prefix, "processor") }),
  },
  {
    id: "notifications",
    namespace: () => "AWS/SNS",
    metric: "NumberOfMessagesPublished",
    dimensions: (s) => ({ TopicName: s.topicName }),
  },
];

/** One Sum query per stage over the whole window (a period of the window, in whole minutes). */
export function stageMetricQueries(scope: StageMetricsScope, windowSeconds: number): MetricDataQuery[] {
  const period = Math.max(60, Math.ceil(windowSeconds / 60) * 60);
  return STAGES.map((stage) => ({
    Id: stage.id,
    ReturnData: true,
    MetricStat: {
      Stat: "Sum",
      Period: period,
      Metric: {
        Namespace: stage.namespace(scope.prefix),
        MetricName: stage.metric,
        Dimensions: Object.entries(stage.dimensions(scope)).map(([Name, Value]) => ({ Name, Value })),
      },
    },
  }));
}

export async function stageTotals(
  cloudwatch: CloudWatchClient,
  scope: StageMetricsScope,
  sinceMs: number,
  nowMs = Date.now(),
): Promise<StageTotals> {
  const queries = stageMetricQueries(scope, (nowMs - sinceMs) / 1000);
  const totals: StageTotals = {
    kinesisRecordsIn: 0,
    bridged: 0,
    stored: 0,
    quarantined: 0,
    objectsWritten: 0,
    notifications: 0,
  };
  let token: string | undefined;
  do {
    const page = await cloudwatch.send(
      new GetMetricDataCommand({
        MetricDataQueries: queries,
        StartTime: new Date(sinceMs),
        EndTime: new Date(nowMs),
        NextToken: token,
      }),
    );
    for (const result of page.MetricDataResults ?? []) {
      const id = result.Id as keyof StageTotals;
      if (id in totals) totals[id] += (result.Values ?? []).reduce((sum, value) => sum + value, 0);
    }
    token = page.NextToken;
  } while (token);
  return totals;
}
