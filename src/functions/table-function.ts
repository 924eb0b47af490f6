/**
 * What the table layer's functions (committer, maintenance) build once per execution
 * environment from their validated configuration: the tables, the "table updated" publisher
 * on the data-available topic, and Powertools' logger and metrics.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { type AwsClients, createClients, endpointsFromEnv } from "../aws/clients.ts";
import { publishTableUpdate, type TableLayer, tableDeps } from "../aws/tables.ts";
import type { TableUpdated } from "../core/iceberg/table-updated.ts";
import type { CommitterConfig } from "./config.ts";

export interface TableFunctionDeps {
  tables: TableLayer;
  publish(update: TableUpdated): Promise<unknown>;
  logger: Logger;
  metrics: Metrics;
}

/** @param clients the SDK clients to build on; fresh ones on the environment's endpoints by default. */
export function tableFunctionDeps(
  config: CommitterConfig,
  clients: AwsClients = createClients({ endpoints: endpointsFromEnv(process.env) }),
): TableFunctionDeps {
  return {
    tables: tableDeps(clients, {
      catalog: config.CATALOG,
      warehouse: config.WAREHOUSE,
      namespace: config.NAMESPACE,
    }),
    publish: (update) => publishTableUpdate(clients.sns, config.TOPIC_ARN, update),
    logger: new Logger({ serviceName: config.POWERTOOLS_SERVICE_NAME }),
    metrics: new Metrics({
      namespace: config.POWERTOOLS_METRICS_NAMESPACE,
      serviceName: config.POWERTOOLS_SERVICE_NAME,
    }),
  };
}
