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

export const ProcessorConfig = z.object({
  ...Observability("ticklake-processor"),
  BUCKET_NAME: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name"),
  TOPIC_ARN: z
    .string()
    .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/, "must be an SNS topic ARN"),
});
export type ProcessorConfig = z.infer<typeof ProcessorConfig>;

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

export { readConfig };
