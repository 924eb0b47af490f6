/**
 * The table layer's adapters, assembled (DESIGN §9): the catalog (`local`: versioned metadata
 * files on S3; `glue`: the Glue Data Catalog) and the S3 file IO, as `TableDeps` for
 * `commitFiles`, `ensureTable`, `compactTable`, `expireSnapshots` and `removeOrphans`.
 */
import type { TableDeps, TableIdentifier } from "../core/iceberg/table-ops.ts";
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

export function tableDeps(
  clients: AwsClients,
  options: TableLayerOptions,
): TableDeps & {
  locationOf(table: TableIdentifier): string;
} {
  const io = new S3TableFileIO(clients.s3);
  const warehouse = options.warehouse.replace(/\/+$/, "");
  const catalog =
    options.catalog === "glue"
      ? new GlueCatalog(clients.glue, io, options.catalogId)
      : new S3VersionCatalog(io, warehouse);
  return { catalog, io, locationOf: (table) => `${warehouse}/${table.namespace}/${table.name}` };
}
