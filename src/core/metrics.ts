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

/** What the committer emits per invocation and per table (DESIGN §9). */
export const COMMITTER_METRICS = {
  /** Snapshots committed. */
  commits: "Commits",
  /** Data files and records the snapshots added. */
  filesCommitted: "FilesCommitted",
  recordsCommitted: "RecordsCommitted",
  /** Announced files the table held already: redeliveries, replays, a race lost. */
  filesAlreadyCommitted: "FilesAlreadyCommitted",
  /** Commits planned again because another commit won the race. */
  commitRetries: "CommitRetries",
  /** A table's commit failed (infrastructure); its announcements come back. */
  commitsFailed: "CommitsFailed",
  /** Announcements the committer cannot take (no Iceberg statistics, not a lake object, not JSON). */
  announcementsRefused: "AnnouncementsRefused",
  /**
   * A snapshot was committed but its "table updated" notification could not be published: the
   * table's announcements are returned, and their redelivery publishes it again.
   */
  notificationsFailed: "NotificationsFailed",
  /** The oldest announcement's age when its snapshot was committed: freshness of the tables. */
  announcementAge: "AnnouncementAge",
} as const;

/** What the maintenance function emits per table and run. */
export const MAINTENANCE_METRICS = {
  hoursCompacted: "HoursCompacted",
  filesReplaced: "FilesReplaced",
  duplicatesRemoved: "DuplicatesRemoved",
  /** Closed hours left uncompacted because they hold more records than the function's memory allows. */
  hoursTooLarge: "HoursTooLarge",
  snapshotsExpired: "SnapshotsExpired",
  dataFilesDeleted: "DataFilesDeleted",
  orphansRemoved: "OrphansRemoved",
  /** A table's maintenance failed; the next run tries again. */
  runsFailed: "MaintenanceFailed",
} as const;

export type PipelineFunctionName = "bridge" | "processor" | "committer" | "maintenance" | "table-setup";

/**
 * A function's service name: Powertools' `service` dimension on each of its metrics. It carries
 * the stack's prefix, so two stages in one account keep their metrics apart.
 */
export const functionServiceName = (prefix: string, fn: PipelineFunctionName): string => `${prefix}-${fn}`;
