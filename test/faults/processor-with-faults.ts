/**
 * The processor function with faults: the real handler (makeProcessorHandler) on clients that
 * carry the TICKLAKE_FAULTS middleware. The local pipeline runs it in place of the processor.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { Context, SQSEvent } from "aws-lambda";
import { createClients, endpointsFromEnv } from "../../src/aws/clients.ts";
import { publishManifest, putObjectIfAbsent } from "../../src/aws/lake.ts";
import { ProcessorConfig, readConfig } from "../../src/functions/config.ts";
import { makeProcessorHandler } from "../../src/functions/processor.ts";
import { faultsFromEnv, injectFaults } from "./inject.ts";

const config = readConfig(ProcessorConfig, process.env);
const clients = createClients({ endpoints: endpointsFromEnv(process.env) });
const faults = faultsFromEnv(process.env);
injectFaults(clients, faults.rules, faults.dir, "processor");
const processor = makeProcessorHandler({
  bucket: config.BUCKET_NAME,
  putObjectIfAbsent: (plan) => putObjectIfAbsent(clients.s3, config.BUCKET_NAME, plan),
  publish: (manifest) => publishManifest(clients.sns, config.TOPIC_ARN, manifest),
  logger: new Logger({ serviceName: "ticklake-processor", logLevel: "CRITICAL" }),
  metrics: new Metrics({ namespace: "ticklake", serviceName: "ticklake-processor" }),
});

export const handler = (event: SQSEvent, context?: Context) => processor(event, context);
