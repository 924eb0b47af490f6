/**
 * Bridge function: Kinesis event source → packed SQS messages (DESIGN §1, §3).
 * Packing is pure, so a retried batch sends the same messages again; the processor's
 * conditional writes make those duplicates harmless.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { KinesisStreamEvent } from "aws-lambda";
import { createClients, endpointsFromEnv } from "../aws/clients.ts";
import { packedBodyLimit, type SendStats, sendPackedMessages } from "../aws/sqs.ts";
import { deaggregate } from "../core/aggregation.ts";
import { BRIDGE_METRICS } from "../core/metrics.ts";
import { type PackedMessage, packRecords, type StreamRecord } from "../core/packing.ts";
import { BridgeConfig, readConfig } from "./config.ts";

export interface BridgeDeps {
  /** Largest SQS message, attributes included. */
  maxMessageBytes: number;
  send(messages: readonly PackedMessage[]): Promise<SendStats>;
  logger: Logger;
  /** EMF metrics: records bridged and messages sent, per invocation. */
  metrics?: Metrics;
}

export interface BridgeResult extends SendStats {
  records: number;
  messages: number;
}

/** `arn:aws:kinesis:us-east-1:123456789012:stream/name` → `name`. */
function streamNameOf(arn: string): string {
  const at = arn.indexOf(":stream/");
  return at === -1 ? arn : arn.slice(at + ":stream/".length);
}

/** `shardId-000000000000:4959...` → `shardId-000000000000`. */
function shardIdOf(eventId: string): string {
  const at = eventId.indexOf(":");
  return at === -1 ? eventId : eventId.slice(0, at);
}

export function makeBridgeHandler(deps: BridgeDeps) {
  return async (event: KinesisStreamEvent): Promise<BridgeResult> => {
    const byShard = new Map<string, { stream: string; shardId: string; records: StreamRecord[] }>();
    for (const record of event.Records) {
      const stream = streamNameOf(record.eventSourceARN);
      const shardId = shardIdOf(record.eventID);
      const key = `${stream}/${shardId}`;
      let shard = byShard.get(key);
      if (!shard) {
        shard = { stream, shardId, records: [] };
        byShard.set(key, shard);
      }
      // KPL-aggregated records carry many user records; each is packed on its own.
      shard.records.push(
        ...deaggregate({
          sequenceNumber: record.kinesis.sequenceNumber,
          partitionKey: record.kinesis.partitionKey,
          arrivalMs: Math.round(record.kinesis.approximateArrivalTimestamp * 1000),
          data: Buffer.from(record.kinesis.data, "base64"),
        }),
      );
    }
    const messages = [...byShard.values()].flatMap((shard) =>
      packRecords(shard.records, {
        stream: shard.stream,
        shardId: shard.shardId,
        maxMessageBytes: packedBodyLimit(deps.maxMessageBytes),
      }),
    );
    const sent = await deps.send(messages);
    const records = messages.reduce((sum, message) => sum + message.records.length, 0);
    if (deps.metrics) {
      deps.metrics.addMetric(BRIDGE_METRICS.recordsBridged, MetricUnit.Count, records);
      deps.metrics.addMetric(BRIDGE_METRICS.messagesSent, MetricUnit.Count, messages.length);
      deps.metrics.publishStoredMetrics();
    }
    deps.logger.debug("bridged", {
      kinesisRecords: event.Records.length,
      records,
      messages: messages.length,
    });
    return { records, messages: messages.length, ...sent };
  };
}

let cached: ReturnType<typeof makeBridgeHandler> | undefined;

/** The Lambda entry point: dependencies built once per execution environment. */
export const handler = (event: KinesisStreamEvent) => {
  if (!cached) {
    const config = readConfig(BridgeConfig, process.env, "bridge function configuration");
    const clients = createClients({ endpoints: endpointsFromEnv(process.env) });
    cached = makeBridgeHandler({
      maxMessageBytes: config.MAX_MESSAGE_BYTES,
      send: (messages) => sendPackedMessages(clients.sqs, config.QUEUE_URL, messages),
      logger: new Logger({ serviceName: config.POWERTOOLS_SERVICE_NAME }),
      metrics: new Metrics({
        namespace: config.POWERTOOLS_METRICS_NAMESPACE,
        serviceName: config.POWERTOOLS_SERVICE_NAME,
      }),
    });
  }
  return cached(event);
};
