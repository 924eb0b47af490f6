/**
 * Function settings, read from environment variables as on Lambda and validated once at cold
 * start. An error names the variable, the value and what is allowed.
 */
import { z } from "zod";
import { readConfig } from "../core/config.ts";

/** Powertools' own settings: the metric namespace is the stack's, so stages stay apart. */
const Observability = (service: string) => ({
  POWERTOOLS_SERVICE_NAME: z.string().min(1).max(255).default(service),
  POWERTOOLS_METRICS_NAMESPACE: z
    .string()
    .regex(/^[\w.\-/#:]{1,255}$/, "must be a CloudWatch namespace")
    .default("ticklake"),
});

export const BridgeConfig = z.object({
  ...Observability("ticklake-bridge"),
  QUEUE_URL: z.url({ message: "must be an SQS queue URL" }),
  MAX_MESSAGE_BYTES: z.coerce.number().int().min(1_024).max(1_048_576).default(1_048_576),
});
export type BridgeConfig = z.infer<typeof BridgeConfig>;

const TopicArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/, "must be an SNS topic ARN");

export const ProcessorConfig = z.object({
  ...Observability("ticklake-processor"),
  BUCKET_NAME: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name"),
  TOPIC_ARN: TopicArn,
});
export type ProcessorConfig = z.infer<typeof ProcessorConfig>;

/** Where the tables are (DESIGN §9): the catalog, the warehouse and the namespace. */
const TableLayer = {
  CATALOG: z.enum(["local", "glue"], { message: "must be local or glue" }),
  WAREHOUSE: z
    .string()
    .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[^/]+)*\/?$/, "must be an s3://bucket/prefix URI"),
  NAMESPACE: z.string().regex(/^[a-z0-9_]{1,255}$/, "must be a Glue database name (a-z, 0-9, _)"),
};

export const CommitterConfig = z.object({
  ...Observability("ticklake-committer"),
  ...TableLayer,
  /** Where "table updated" notifications go: the data-available topic, `kind` = `table`. */
  TOPIC_ARN: TopicArn,
});
export type CommitterConfig = z.infer<typeof CommitterConfig>;

export const TableSetupConfig = z.object({
  ...Observability("ticklake-table-setup"),
  ...TableLayer,
});
export type TableSetupConfig = z.infer<typeof TableSetupConfig>;

const positive = (max: number) => z.coerce.number().positive().max(max);

export const MaintenanceConfig = z.object({
  ...Observability("ticklake-maintenance"),
  ...TableLayer,
  TOPIC_ARN: TopicArn,
  TIME_TRAVEL_HOURS: positive(8_760),
  LEDGER_RETENTION_DAYS: positive(3_650),
  /** Compaction leaves hours with more records than this alone (its memory's limit). */
  MAX_HOUR_RECORDS: z.coerce.number().int().positive(),
  TARGET_FILE_MB: positive(4_096).default(128),
  CLOSE_AFTER_MINUTES: positive(1_440).default(10),
  ORPHAN_GRACE_HOURS: positive(8_760).default(24),
  LOOKBACK_HOURS: positive(8_760).default(8 * 24),
});
export type MaintenanceConfig = z.infer<typeof MaintenanceConfig>;

/** The variables a schema reads, each set as text, as Lambda's environment holds them. */
type EnvironmentOf<T extends z.ZodObject> = { [K in keyof z.input<T>]?: string };

/** Powertools' settings, where the caller sets them (the CDK stack does; locally they default). */
export interface ObservabilitySettings {
  serviceName?: string;
  metricsNamespace?: string;
}

const observability = (settings: ObservabilitySettings) => ({
  ...(settings.serviceName ? { POWERTOOLS_SERVICE_NAME: settings.serviceName } : {}),
  ...(settings.metricsNamespace ? { POWERTOOLS_METRICS_NAMESPACE: settings.metricsNamespace } : {}),
});

/**
 * The bridge's environment from its settings. The CDK stack and the local pipeline both build it
 * here, so the variable names live in this file only, next to the schema that reads them.
 */
export function bridgeEnvironment(
  settings: { queueUrl: string; maxMessageBytes: number } & ObservabilitySettings,
): Record<string, string> {
  return {
    QUEUE_URL: settings.queueUrl,
    MAX_MESSAGE_BYTES: String(settings.maxMessageBytes),
    ...observability(settings),
  } satisfies EnvironmentOf<typeof BridgeConfig>;
}

/** The processor's environment from its settings (see `bridgeEnvironment`). */
export function processorEnvironment(
  settings: { bucketName: string; topicArn: string } & ObservabilitySettings,
): Record<string, string> {
  return {
    BUCKET_NAME: settings.bucketName,
    TOPIC_ARN: settings.topicArn,
    ...observability(settings),
  } satisfies EnvironmentOf<typeof ProcessorConfig>;
}

/** The table layer's settings: which catalog, where the warehouse is, which namespace. */
export interface TableLayerSettings {
  catalog: "local" | "glue";
  /** `s3://<bucket>/tables`. */
  warehouse: string;
  namespace: string;
}

const tableLayer = (settings: TableLayerSettings) => ({
  CATALOG: settings.catalog,
  WAREHOUSE: settings.warehouse,
  NAMESPACE: settings.namespace,
});

/** The committer's environment from its settings (see `bridgeEnvironment`). */
export function committerEnvironment(
  settings: TableLayerSettings & { topicArn: string } & ObservabilitySettings,
): Record<string, string> {
  return {
    ...tableLayer(settings),
    TOPIC_ARN: settings.topicArn,
    ...observability(settings),
  } satisfies EnvironmentOf<typeof CommitterConfig>;
}

/** The table-setup custom resource's environment (see `bridgeEnvironment`). */
export function tableSetupEnvironment(
  settings: TableLayerSettings & ObservabilitySettings,
): Record<string, string> {
  return { ...tableLayer(settings), ...observability(settings) } satisfies EnvironmentOf<
    typeof TableSetupConfig
  >;
}

/** The maintenance function's environment from its settings (see `bridgeEnvironment`). */
export function maintenanceEnvironment(
  settings: TableLayerSettings & {
    topicArn: string;
    timeTravelHours: number;
    ledgerRetentionDays: number;
    maxHourRecords: number;
  } & ObservabilitySettings,
): Record<string, string> {
  return {
    ...tableLayer(settings),
    TOPIC_ARN: settings.topicArn,
    TIME_TRAVEL_HOURS: String(settings.timeTravelHours),
    LEDGER_RETENTION_DAYS: String(settings.ledgerRetentionDays),
    MAX_HOUR_RECORDS: String(settings.maxHourRecords),
    ...observability(settings),
  } satisfies EnvironmentOf<typeof MaintenanceConfig>;
}

export { readConfig };
