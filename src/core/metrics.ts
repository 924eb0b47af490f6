/**
 * The names of the functions' CloudWatch metrics (EMF, through Powertools), written once: the
 * functions emit them, the CDK stack's alarms and dashboard and `ticklake status --target aws`
 * read them.
 */

/** What the bridge emits per invocation. */
export const BRIDGE_METRICS = {
  recordsBridged: "RecordsBridged",
  messagesSent: "MessagesSent",
} as const;

/** What the processor emits per message and object. */
export const PROCESSOR_METRICS = {
  objectsWritten: "ObjectsWritten",
  objectsAlreadyPresent: "ObjectsAlreadyPresent",
  recordsStored: "RecordsStored",
  recordsQuarantined: "RecordsQuarantined",
  bytesWritten: "BytesWritten",
  /** A message that failed with an infrastructure error and will be received again. */
  messagesFailed: "MessagesFailed",
} as const;

export type PipelineFunctionName = "bridge" | "processor";

/**
 * A function's service name: Powertools' `service` dimension on each of its metrics. It carries
 * the stack's prefix, so two stages in one account keep their metrics apart.
 */
export const functionServiceName = (prefix: string, fn: PipelineFunctionName): string => `${prefix}-${fn}`;
