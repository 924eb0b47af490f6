/**
 * Partition keys of the log records: the instrument, so that one instrument's records stay in
 * order on one shard; request logs spread over a few keys.
 */
import { PartitionKeyError } from "./errors.ts";
import type { Envelope } from "./events.ts";

/** Kinesis takes partition keys of 1 to 256 characters. */
const MAX_PARTITION_KEY_LENGTH = 256;

/** Throws PartitionKeyError unless Kinesis would take `partitionKey`. */
export function checkPartitionKey(partitionKey: string): void {
  if (partitionKey.length === 0 || partitionKey.length > MAX_PARTITION_KEY_LENGTH)
    throw new PartitionKeyError(
      `partitionKey must be 1 to ${MAX_PARTITION_KEY_LENGTH} characters (got ${partitionKey.length}: "${partitionKey.slice(0, 40)}${partitionKey.length > 40 ? "…" : ""}")`,
    );
}

/** The instrument a record is about: records of one instrument stay in order on one shard. */
export function partitionKeyOf(envelope: Envelope): string {
  switch (envelope.type) {
    case "fx.quote":
      return envelope.data.pair;
    case "stock.quote":
      return envelope.data.symbol;
    case "news.article":
      return envelope.data.symbols[0] ?? envelope.data.articleId;
    case "http.request":
      return requestLogKey(envelope.data.requestId);
  }
}

/** Partition keys the request log spreads over. */
export const REQUEST_LOG_KEYS = 16;

/**
 * Request logs have no instrument and need no order among themselves: they spread over
 * REQUEST_LOG_KEYS keys by a hash (FNV-1a) of the request id, so that each key's records
 * aggregate (a key per request would put every request log in a Kinesis record of its own).
 */
export function requestLogKey(requestId: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < requestId.length; i++) hash = Math.imul(hash ^ requestId.charCodeAt(i), 0x01000193);
  return `http-${(hash >>> 0) % REQUEST_LOG_KEYS}`;
}
