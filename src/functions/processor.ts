/**
 * Processor function: packed SQS messages → lake and quarantine objects in S3, one SNS
 * manifest per object (DESIGN §1, §3). Bad records never fail a message; only infrastructure
 * errors do, and then only that message is reported in `batchItemFailures`.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { createClients, endpointsFromEnv } from "../aws/clients.ts";
import { publishManifest, putObjectIfAbsent, type WriteOutcome } from "../aws/lake.ts";
import { PackedMessageError } from "../core/errors.ts";
import { type PackedMessage, unpackMessage } from "../core/packing.ts";
import {
  manifestFor,
  type ObjectManifest,
  type ObjectPlan,
  planMalformedMessage,
  planObjects,
} from "../core/planning.ts";
import { ProcessorConfig, readConfig } from "./config.ts";

export interface ProcessorDeps {
  bucket: string;
  messageConcurrency: number;
  putObjectIfAbsent(plan: ObjectPlan): Promise<WriteOutcome>;
  publish(manifest: ObjectManifest): Promise<void>;
  logger: Logger;
}

function planFor(record: SQSRecord): { plans: ObjectPlan[]; message: PackedMessage | undefined } {
  try {
    const message = unpackMessage(record.body);
    return { plans: planObjects(message), message };
  } catch (error) {
    if (!(error instanceof PackedMessageError)) throw error;
    const sentMs = Number(record.attributes.SentTimestamp) || Date.now();
    return {
      plans: [planMalformedMessage(record.body, record.messageId, sentMs, error.message)],
      message: undefined,
    };
  }
}

export function makeProcessorHandler(deps: ProcessorDeps) {
  const processRecord = async (record: SQSRecord) => {
    const { plans, message } = planFor(record);
    for (const plan of plans) {
      const outcome = await deps.putObjectIfAbsent(plan);
      if (outcome === "exists") deps.logger.info("object already written", { key: plan.key });
      // Published after the write, also when the object existed: the earlier attempt may have
      // died between write and publish. Subscribers dedupe on the key.
      await deps.publish(manifestFor(plan, deps.bucket, message));
    }
  };

  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
    let next = 0;
    const worker = async () => {
      while (next < event.Records.length) {
        const record = event.Records[next++] as SQSRecord;
        try {
          await processRecord(record);
        } catch (error) {
          deps.logger.error("message failed; it will be retried", { messageId: record.messageId, error });
          batchItemFailures.push({ itemIdentifier: record.messageId });
        }
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(deps.messageConcurrency, event.Records.length) }, worker),
    );
    return { batchItemFailures };
  };
}

let cached: ReturnType<typeof makeProcessorHandler> | undefined;

/** The Lambda entry point: dependencies built once per execution environment. */
export const handler = (event: SQSEvent) => {
  if (!cached) {
    const config = readConfig(ProcessorConfig, process.env);
    const clients = createClients({ endpoints: endpointsFromEnv(process.env) });
    cached = makeProcessorHandler({
      bucket: config.BUCKET_NAME,
      messageConcurrency: config.MESSAGE_CONCURRENCY,
      putObjectIfAbsent: (plan) => putObjectIfAbsent(clients.s3, config.BUCKET_NAME, plan),
      publish: (manifest) => publishManifest(clients.sns, config.TOPIC_ARN, manifest),
      logger: new Logger({ serviceName: "ticklake-processor" }),
    });
  }
  return cached(event);
};
