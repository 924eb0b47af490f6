/**
 * Processor function: packed SQS messages → Parquet lake objects and quarantine objects in S3,
 * one SNS manifest per object (DESIGN §1, §3). Bad records never fail a message; only
 * infrastructure errors do, and then only that message is reported in `batchItemFailures`
 * (Powertools batch utility).
 */
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { createClients, endpointsFromEnv } from "../aws/clients.ts";
import { publishManifest, putObjectIfAbsent, type WriteOutcome } from "../aws/lake.ts";
import { PackedMessageError } from "../core/errors.ts";
import { PROCESSOR_METRICS } from "../core/metrics.ts";
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
  putObjectIfAbsent(plan: ObjectPlan): Promise<WriteOutcome>;
  publish(manifest: ObjectManifest): Promise<void>;
  logger: Logger;
  metrics: Metrics;
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
  const { logger, metrics } = deps;

  const processRecord = async (record: SQSRecord) => {
    try {
      const { plans, message } = planFor(record);
      for (const plan of plans) {
        const outcome = await deps.putObjectIfAbsent(plan);
        if (outcome === "exists") {
          logger.info("object already written", { key: plan.key });
          metrics.addMetric(PROCESSOR_METRICS.objectsAlreadyPresent, MetricUnit.Count, 1);
        } else {
          metrics.addMetric(PROCESSOR_METRICS.objectsWritten, MetricUnit.Count, 1);
          metrics.addMetric(
            plan.kind === "lake" ? PROCESSOR_METRICS.recordsStored : PROCESSOR_METRICS.recordsQuarantined,
            MetricUnit.Count,
            plan.records,
          );
          metrics.addMetric(PROCESSOR_METRICS.bytesWritten, MetricUnit.Bytes, plan.body.byteLength);
        }
        // Published after the write, also when the object existed: the earlier attempt may have
        // died between write and publish. Subscribers dedupe on the key.
        await deps.publish(manifestFor(plan, deps.bucket, message));
      }
    } catch (error) {
      logger.error("message failed; it will be retried", { messageId: record.messageId, error });
      metrics.addMetric(PROCESSOR_METRICS.messagesFailed, MetricUnit.Count, 1);
      throw error;
    }
  };

  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    try {
      // Messages are independent; a Lambda SQS batch is at most 6 MB, so all at once is bounded.
      return await processPartialResponse(event, processRecord, new BatchProcessor(EventType.SQS), {
        ...(context ? { context } : {}),
        processInParallel: true,
        throwOnFullBatchFailure: false,
      });
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

let cached: ReturnType<typeof makeProcessorHandler> | undefined;

/** The Lambda entry point: dependencies built once per execution environment. */
export const handler = (event: SQSEvent, context?: Context) => {
  if (!cached) {
    const config = readConfig(ProcessorConfig, process.env, "processor function configuration");
    const clients = createClients({ endpoints: endpointsFromEnv(process.env) });
    cached = makeProcessorHandler({
      bucket: config.BUCKET_NAME,
      putObjectIfAbsent: (plan) => putObjectIfAbsent(clients.s3, config.BUCKET_NAME, plan),
      publish: (manifest) => publishManifest(clients.sns, config.TOPIC_ARN, manifest),
      logger: new Logger({ serviceName: config.POWERTOOLS_SERVICE_NAME }),
      metrics: new Metrics({
        namespace: config.POWERTOOLS_METRICS_NAMESPACE,
        serviceName: config.POWERTOOLS_SERVICE_NAME,
      }),
    });
  }
  return cached(event, context);
};
