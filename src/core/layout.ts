/**
 * Where things live in the bucket (DESIGN §1):
 *   lake/<dataset>/dt=YYYY-MM-DD/hour=HH/<object-id>.<ext>
 *   quarantine/<dataset>/dt=YYYY-MM-DD/hour=HH/<object-id>.jsonl.gz
 * The object id derives from the packed message's identity, so a redelivered message maps to
 * the same keys and a conditional write turns the retry into a no-op.
 */
import type { MessageIdentity } from "./packing.ts";

export const LAKE_PREFIX = "lake/";
export const QUARANTINE_PREFIX = "quarantine/";
/** The Iceberg warehouse: tables' metadata and compacted data files (DESIGN §9). */
export const TABLES_PREFIX = "tables/";
/** Extension of lake objects. */
export const LAKE_EXTENSION = "parquet";

export interface HourPartition {
  /** UTC date, YYYY-MM-DD. */
  dt: string;
  /** UTC hour, 00-23. */
  hour: string;
}

/** The event-time partition of an epoch-millisecond instant. */
export function hourPartitionOf(epochMs: number): HourPartition {
  const iso = new Date(epochMs).toISOString();
  return { dt: iso.slice(0, 10), hour: iso.slice(11, 13) };
}

/** Object id from the message identity: shard plus first and last sequence number. */
export function objectIdOf(identity: MessageIdentity): string {
  return `${identity.shardId}-${identity.firstSeq}-${identity.lastSeq}`;
}

function partitionPath(partition: HourPartition): string {
  return `dt=${partition.dt}/hour=${partition.hour}`;
}

export function lakeKeyFor(dataset: string, partition: HourPartition, identity: MessageIdentity): string {
  return `${LAKE_PREFIX}${dataset}/${partitionPath(partition)}/${objectIdOf(identity)}.${LAKE_EXTENSION}`;
}

export function quarantineKeyFor(dataset: string, partition: HourPartition, objectId: string): string {
  return `${QUARANTINE_PREFIX}${dataset}/${partitionPath(partition)}/${objectId}.jsonl.gz`;
}

/** Reads dataset and partition back from a key written by `lakeKeyFor` or `quarantineKeyFor`. */
export function parseObjectKey(
  key: string,
): { area: "lake" | "quarantine"; dataset: string; partition: HourPartition } | undefined {
  const match = /^(lake|quarantine)\/([^/]+)\/dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/[^/]+$/.exec(key);
  if (!match) return undefined;
  const [, area, dataset, dt, hour] = match as unknown as [
    string,
    "lake" | "quarantine",
    string,
    string,
    string,
  ];
  return { area, dataset, partition: { dt, hour } };
}
