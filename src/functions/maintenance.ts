/**
 * Maintenance function (DESIGN §9), run on a schedule for each table: compaction of closed
 * hours (a replace snapshot each, announced like a commit), expiry of snapshots older than
 * the time-travel window (the only step that deletes data files), and removal of files in the
 * table's folder that nothing references. Every step is safe to repeat and to race with the
 * committer; a table that fails is reported and the others go on.
 *
 * The event names the tables, `{"tables": ["fx_quotes"]}`; without it, every dataset's.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { z } from "zod";
import type { TableLayer } from "../aws/tables.ts";
import { DATASETS, type Dataset } from "../core/events.ts";
import type { TableUpdated } from "../core/iceberg/commit.ts";
import type { MaintenanceOptions } from "../core/iceberg/compaction.ts";
import { IcebergError } from "../core/iceberg/errors.ts";
import { compactTable, expireSnapshots, removeOrphans } from "../core/iceberg/maintenance.ts";
import type { TableIdentifier } from "../core/iceberg/table-ops.ts";
import { MAINTENANCE_METRICS } from "../core/metrics.ts";
import { MaintenanceConfig, readConfig } from "./config.ts";
import { tableFunctionDeps } from "./table-function.ts";

/** What a run was asked to do: the tables, every dataset's by default. */
export const MaintenanceEvent = z.looseObject({
  tables: z
    .array(z.enum(DATASETS as [Dataset, ...Dataset[]]))
    .min(1)
    .optional(),
});
export type MaintenanceEvent = z.input<typeof MaintenanceEvent>;

export interface TableMaintenanceReport {
  table: Dataset;
  /** Hours compacted, each `YYYY-MM-DDTHH:00Z`. */
  compacted: string[];
  /** Hours left uncompacted, with why. */
  skipped: Array<{ hour: string; reason: string }>;
  filesReplaced: number;
  duplicatesRemoved: number;
  snapshotsExpired: number;
  dataFilesDeleted: number;
  orphansRemoved: number;
  /** The error, when this table's maintenance failed. */
  error?: string;
}

const emptyReport = (table: Dataset): TableMaintenanceReport => ({
  table,
  compacted: [],
  skipped: [],
  filesReplaced: 0,
  duplicatesRemoved: 0,
  snapshotsExpired: 0,
  dataFilesDeleted: 0,
  orphansRemoved: 0,
});

export interface MaintenanceDeps {
  tables: TableLayer;
  options: Partial<MaintenanceOptions>;
  publish(update: TableUpdated): Promise<unknown>;
  logger: Logger;
  metrics: Metrics;
}

/** Settings from the environment, as `MaintenanceOptions`. */
export function maintenanceOptionsOf(config: MaintenanceConfig): Partial<MaintenanceOptions> {
  const HOUR = 3_600_000;
  return {
    targetFileBytes: config.TARGET_FILE_MB * 1024 * 1024,
    closeAfterMs: config.CLOSE_AFTER_MINUTES * 60_000,
    timeTravelMs: config.TIME_TRAVEL_HOURS * HOUR,
    ledgerRetentionMs: config.LEDGER_RETENTION_DAYS * 24 * HOUR,
    orphanGraceMs: config.ORPHAN_GRACE_HOURS * HOUR,
    lookbackMs: config.LOOKBACK_HOURS * HOUR,
    maxHourRecords: config.MAX_HOUR_RECORDS,
  };
}

export function makeMaintenanceHandler(deps: MaintenanceDeps) {
  const { logger, metrics, tables } = deps;

  async function maintain(dataset: Dataset): Promise<TableMaintenanceReport> {
    const table: TableIdentifier = { namespace: tables.namespace, name: dataset };
    const report = emptyReport(dataset);
    for (const result of await compactTable(tables, table, dataset, deps.options)) {
      if (result.skipped) {
        report.skipped.push({ hour: result.hour, reason: result.skipped });
        logger.warn("hour too large to compact here", {
          table: dataset,
          hour: result.hour,
          reason: result.skipped,
        });
        continue;
      }
      if (!result.notification) continue; // another compaction won the hour
      report.compacted.push(result.hour);
      report.filesReplaced += result.replaced;
      report.duplicatesRemoved += result.recordsIn - result.recordsOut;
      await deps.publish(result.notification);
    }
    const expiry = await expireSnapshots(tables, table, deps.options);
    report.snapshotsExpired = expiry.expiredSnapshots;
    report.dataFilesDeleted = expiry.deletedDataFiles.length;
    report.orphansRemoved = (await removeOrphans(tables, table, deps.options)).length;
    return report;
  }

  return async (event: unknown): Promise<TableMaintenanceReport[]> => {
    const parsed = MaintenanceEvent.safeParse(event ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new IcebergError(
        `maintenance event: ${issue?.path.join(".") || "$"}: ${issue?.message} (allowed: {"tables": [${DATASETS.map((d) => `"${d}"`).join(", ")}]})`,
      );
    }
    const reports: TableMaintenanceReport[] = [];
    try {
      for (const dataset of parsed.data.tables ?? DATASETS) {
        try {
          const report = await maintain(dataset);
          reports.push(report);
          metrics.addMetric(MAINTENANCE_METRICS.hoursCompacted, MetricUnit.Count, report.compacted.length);
          metrics.addMetric(MAINTENANCE_METRICS.filesReplaced, MetricUnit.Count, report.filesReplaced);
          metrics.addMetric(
            MAINTENANCE_METRICS.duplicatesRemoved,
            MetricUnit.Count,
            report.duplicatesRemoved,
          );
          metrics.addMetric(MAINTENANCE_METRICS.hoursTooLarge, MetricUnit.Count, report.skipped.length);
          metrics.addMetric(MAINTENANCE_METRICS.snapshotsExpired, MetricUnit.Count, report.snapshotsExpired);
          metrics.addMetric(MAINTENANCE_METRICS.dataFilesDeleted, MetricUnit.Count, report.dataFilesDeleted);
          metrics.addMetric(MAINTENANCE_METRICS.orphansRemoved, MetricUnit.Count, report.orphansRemoved);
          logger.info("maintained", { ...report });
        } catch (error) {
          logger.error("maintenance failed; the next run tries again", { table: dataset, error });
          metrics.addMetric(MAINTENANCE_METRICS.runsFailed, MetricUnit.Count, 1);
          reports.push({ ...emptyReport(dataset), error: (error as Error).message });
        }
      }
    } finally {
      metrics.publishStoredMetrics();
    }
    return reports;
  };
}

let cached: ReturnType<typeof makeMaintenanceHandler> | undefined;

/** The Lambda entry point: dependencies built once per execution environment. */
export const handler = (event: unknown) => {
  if (!cached) {
    const config = readConfig(MaintenanceConfig, process.env, "maintenance function configuration");
    cached = makeMaintenanceHandler({ ...tableFunctionDeps(config), options: maintenanceOptionsOf(config) });
  }
  return cached(event);
};
