/**
 * Function settings, read from environment variables as on Lambda and validated once at cold
 * start. An error names the variable, the value and what is allowed.
 */
import { z } from "zod";
import { readConfig } from "../core/config.ts";

export const BridgeConfig = z.object({
  QUEUE_URL: z.url({ message: "must be an SQS queue URL" }),
  MAX_MESSAGE_BYTES: z.coerce.number().int().min(1_024).max(1_048_576).default(1_048_576),
});
export type BridgeConfig = z.infer<typeof BridgeConfig>;

export const ProcessorConfig = z.object({
  BUCKET_NAME: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name"),
  TOPIC_ARN: z
    .string()
    .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/, "must be an SNS topic ARN"),
});
export type ProcessorConfig = z.infer<typeof ProcessorConfig>;

export { readConfig };
