/**
 * The table layer's adapters, assembled (DESIGN §9): the catalog (`local`: versioned metadata
 * files on S3; `glue`: the Glue Data Catalog) and the S3 file IO, as `TableDeps` for
 * `commitFiles`, `ensureTable`, `compactTable`, `expireSnapshots` and `removeOrphans`; and
 * the "table updated" notifications on the data-available topic.
 */
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import { notificationParts, type TableUpdated } from "../core/iceberg/commit.ts";
import type { TableDeps, TableIdentifier } from "../core/iceberg/table-ops.ts";
import type { ResourceSpec } from "../core/spec.ts";
import { GlueCatalog } from "./catalog-glue.ts";
import type { AwsClients } from "./clients.ts";
import { S3TableFileIO, S3VersionCatalog } from "./iceberg-s3.ts";

export interface TableLayerOptions {
  catalog: "local" | "glue";
  /** Where tables live: `<warehouse>/<namespace>/<table>`, e.g. `s3://ticklake-local-lake/tables`. */
  warehouse: string;
  /** The Glue database (on AWS) or the local namespace. */
  namespace: string;
  /** The account whose Glue catalog holds the tables; the caller's by default. */
  catalogId?: string;
}

/** The table layer of a spec's lake bucket: `s3://<bucket>/tables`, the spec's namespace. */
export function tableLayerOf(
  spec: ResourceSpec,
  bucket: string,
  catalog: TableLayerOptions["catalog"],
): TableLayerOptions {
  return {
    catalog,
    warehouse: `s3://${bucket}/${spec.tables.warehousePrefix.replace(/\/+$/, "")}`,
    namespace: spec.tables.namespace,
  };
}

export type TableLayer = TableDeps & {
  namespace: string;
  locationOf(table: TableIdentifier): string;
};

export function tableDeps(clients: AwsClients, options: TableLayerOptions): TableLayer {
  const io = new S3TableFileIO(clients.s3);
  const warehouse = options.warehouse.replace(/\/+$/, "");
  const catalog =
    options.catalog === "glue"
      ? new GlueCatalog(clients.glue, io, options.catalogId)
      : new S3VersionCatalog(io, warehouse);
  return {
    catalog,
    io,
    namespace: options.namespace,
    locationOf: (table) => `${warehouse}/${table.namespace}/${table.name}`,
  };
}

/** SNS takes 256 KiB a message, attributes included; these take well under 1 KiB. */
export const NOTIFICATION_MAX_BYTES = 256 * 1024 - 1024;

/**
 * Publishes a "table updated" notification on the data-available topic, with the attributes
 * subscription filter policies match (`kind` = `table`, `dataset`, `operation`); as several
 * parts when its file lists are too long for one message. Returns the messages published.
 */
export async function publishTableUpdate(
  sns: SNSClient,
  topicArn: string,
  update: TableUpdated,
): Promise<number> {
  const text = (value: string) => ({ DataType: "String", StringValue: value });
  const parts = notificationParts(update, NOTIFICATION_MAX_BYTES);
  for (const part of parts) {
    await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: JSON.stringify(part),
        MessageAttributes: {
          kind: text("table"),
          dataset: text(update.table),
          operation: text(update.operation),
        },
      }),
    );
  }
  return parts.length;
}
