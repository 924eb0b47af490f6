/**
 * Table setup (DESIGN §9): the stack's custom resource that defines each dataset's Iceberg
 * table in the Glue Data Catalog at deploy time, so that Athena sees every table before the
 * first commit. It runs `ensureTable`, the committer's own step: a table is created from the
 * zod contract (our field ids and type mapping), or its schema evolved to the contract's. A
 * delete leaves the tables: their files live in the retained lake bucket.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { createClients, endpointsFromEnv } from "../aws/clients.ts";
import { type TableLayer, tableDeps } from "../aws/tables.ts";
import { DATASETS } from "../core/events.ts";
import { ensureTable } from "../core/iceberg/table-ops.ts";
import { readConfig, TableSetupConfig } from "./config.ts";

/** What the CDK custom-resource provider expects back. */
export interface TableSetupResult {
  PhysicalResourceId: string;
  Data: { Tables: string };
}

export function makeTableSetupHandler(tables: TableLayer, logger: Logger) {
  return async (event: CloudFormationCustomResourceEvent): Promise<TableSetupResult> => {
    const result = {
      PhysicalResourceId: `${tables.namespace}-iceberg-tables`,
      Data: { Tables: DATASETS.join(",") },
    };
    if (event.RequestType === "Delete") return result;
    for (const dataset of DATASETS) {
      const table = { namespace: tables.namespace, name: dataset };
      const loaded = await ensureTable(tables, table, dataset, tables.locationOf(table));
      logger.info("table ready", { table: dataset, metadata: loaded.metadataLocation });
    }
    return result;
  };
}

let cached: ReturnType<typeof makeTableSetupHandler> | undefined;

export const handler = (event: CloudFormationCustomResourceEvent) => {
  if (!cached) {
    const config = readConfig(TableSetupConfig, process.env, "table setup configuration");
    const clients = createClients({ endpoints: endpointsFromEnv(process.env) });
    cached = makeTableSetupHandler(
      tableDeps(clients, {
        catalog: config.CATALOG,
        warehouse: config.WAREHOUSE,
        namespace: config.NAMESPACE,
      }),
      new Logger({ serviceName: config.POWERTOOLS_SERVICE_NAME }),
    );
  }
  return cached(event);
};
