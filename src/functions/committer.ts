/**
 * Committer function (DESIGN §9): the data-available announcements of lake files, gathered by
 * the SQS event source for one commit interval (its batching window), committed as one
 * Iceberg snapshot per table, each file exactly once (`commitFiles`). Each commit publishes a
 * "table updated" notification.
 *
 * Messages are deleted only once their table's commit answered "committed" or "nothing new"
 * and its notifications were published; a table whose commit failed (an infrastructure error,
 * or a race lost too often) or whose notification could not be published returns its messages
 * in `batchItemFailures`, the other tables' are done. Returned after a commit, they find their
 * files committed, and the snapshot that committed them is announced again. An announcement
 * no retry can make committable (not a manifest, a quarantine object, a file without Iceberg
 * statistics) is logged and counted, and deleted: it must not hold back the rest.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { TableLayer } from "../aws/tables.ts";
import { fullJitterDelay, sleep } from "../core/backoff.ts";
import type { Dataset } from "../core/events.ts";
import { type AnnouncedFile, announcementsByTable, type TableUpdated } from "../core/iceberg/commit.ts";
import { commitFiles, ensureTable, type TableIdentifier } from "../core/iceberg/table-ops.ts";
import { COMMITTER_METRICS } from "../core/metrics.ts";
import { CommitterConfig, readConfig } from "./config.ts";
import { tableFunctionDeps } from "./table-function.ts";

export interface CommitterDeps {
  tables: TableLayer;
  publish(update: TableUpdated): Promise<unknown>;
  logger: Logger;
  metrics: Metrics;
  /**
   * Attempts at publishing a notification before the table's messages are returned, so that
   * their redelivery announces the snapshot again (logged and counted). @default 3
   */
  publishAttempts?: number;
  /** @default Date.now */
  now?: () => number;
}

/** A snapshot is committed but its "table updated" notification could not be published. */
class NotificationNotPublished extends Error {}

/** When SQS received the message: for a raw SNS delivery, about when it was published. */
const sentAtOf = (record: SQSRecord): number => Number(record.attributes.SentTimestamp) || Date.now();

export function makeCommitterHandler(deps: CommitterDeps) {
  const { logger, metrics, tables } = deps;
  const now = deps.now ?? Date.now;
  // Tables this execution environment has created or checked against the contract: a schema
  // only changes with a deploy, which brings new environments.
  const ensured = new Set<string>();

  /** Publishes `update`; false when every attempt failed (logged and counted). */
  async function publish(update: TableUpdated): Promise<boolean> {
    const attempts = deps.publishAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      try {
        await deps.publish(update);
        return true;
      } catch (error) {
        if (attempt < attempts) {
          await sleep(fullJitterDelay(attempt, 100, 2_000));
          continue;
        }
        logger.error("table updated notification not published; the table's announcements will be retried", {
          table: update.table,
          snapshotId: update.snapshotId,
          error,
        });
        metrics.addMetric(COMMITTER_METRICS.notificationsFailed, MetricUnit.Count, 1);
        return false;
      }
    }
  }

  async function commitTable(dataset: Dataset, files: AnnouncedFile[], oldestSentMs: number): Promise<void> {
    const table: TableIdentifier = { namespace: tables.namespace, name: dataset };
    if (!ensured.has(dataset)) {
      await ensureTable(tables, table, dataset, tables.locationOf(table));
      ensured.add(dataset);
    }
    const outcome = await commitFiles(tables, table, files);
    metrics.addMetric(
      COMMITTER_METRICS.filesAlreadyCommitted,
      MetricUnit.Count,
      outcome.alreadyCommitted.length,
    );
    metrics.addMetric(COMMITTER_METRICS.commitRetries, MetricUnit.Count, outcome.attempts - 1);
    // Files committed already: the attempt that committed them may have died, or failed to
    // publish, before it announced them, so their snapshots are announced again (subscribers
    // deduplicate).
    let published = true;
    for (const again of outcome.announceAgain) {
      logger.info("announced again", { table: dataset, snapshotId: again.snapshotId });
      published = (await publish(again)) && published;
    }
    const announced = () => {
      if (!published)
        throw new NotificationNotPublished(`${dataset}: a snapshot's notification was not published`);
    };
    if (outcome.kind === "nothing-new") {
      logger.info("nothing new", { table: dataset, alreadyCommitted: outcome.alreadyCommitted.length });
      return announced();
    }
    const { notification } = outcome;
    metrics.addMetric(COMMITTER_METRICS.commits, MetricUnit.Count, 1);
    metrics.addMetric(COMMITTER_METRICS.filesCommitted, MetricUnit.Count, notification.files.length);
    metrics.addMetric(COMMITTER_METRICS.recordsCommitted, MetricUnit.Count, notification.records);
    metrics.addMetric(
      COMMITTER_METRICS.announcementAge,
      MetricUnit.Milliseconds,
      Math.max(0, now() - oldestSentMs),
    );
    logger.info("committed", {
      table: dataset,
      snapshotId: notification.snapshotId,
      sequenceNumber: notification.sequenceNumber,
      files: notification.files.length,
      records: notification.records,
      alreadyCommitted: outcome.alreadyCommitted.length,
      attempts: outcome.attempts,
    });
    published = (await publish(notification)) && published;
    announced();
  }

  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    try {
      const sentAt = new Map(event.Records.map((record) => [record.messageId, sentAtOf(record)]));
      const batch = announcementsByTable(
        event.Records.map((record) => ({ messageId: record.messageId, body: record.body })),
      );
      for (const refused of batch.refused) {
        logger.error("announcement refused: it can never be committed", refused);
      }
      metrics.addMetric(COMMITTER_METRICS.announcementsRefused, MetricUnit.Count, batch.refused.length);
      const failed: string[] = [];
      await Promise.all(
        [...batch.tables].map(async ([dataset, { files, messageIds }]) => {
          const oldest = Math.min(...messageIds.map((id) => sentAt.get(id) ?? now()));
          try {
            await commitTable(dataset, files, oldest);
          } catch (error) {
            // The table's announcements come back after the visibility timeout (already
            // logged and counted when only a notification failed).
            failed.push(...messageIds);
            if (error instanceof NotificationNotPublished) return;
            // Checking the table again costs one load.
            ensured.delete(dataset);
            logger.error("commit failed; the table's announcements will be retried", {
              table: dataset,
              files: files.length,
              error,
            });
            metrics.addMetric(COMMITTER_METRICS.commitsFailed, MetricUnit.Count, 1);
          }
        }),
      );
      return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

let cached: ReturnType<typeof makeCommitterHandler> | undefined;

/** The Lambda entry point: dependencies built once per execution environment. */
export const handler = (event: SQSEvent) => {
  if (!cached) {
    cached = makeCommitterHandler(
      tableFunctionDeps(readConfig(CommitterConfig, process.env, "committer function configuration")),
    );
  }
  return cached(event);
};
