/**
 * Glue tables over the raw lake objects, one per dataset (`<dataset>_raw`: every object the
 * processor wrote, committed or not; the Iceberg tables named after the datasets are
 * infra/tables.ts's), with columns derived from the zod schemas
 * (through `columnsOf`) and partition projection on `dt` and `hour`, so Athena needs no
 * crawler and no MSCK REPAIR.
 * @see https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html
 */
import { Stack } from "aws-cdk-lib";
import { CfnDatabase, CfnTable } from "aws-cdk-lib/aws-glue";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { columnsOf, sqlTypeOf } from "../src/core/columns.ts";
import { DATASETS } from "../src/core/events.ts";
import { LAKE_PREFIX } from "../src/core/layout.ts";

/** The Glue table over a dataset's raw objects: the dataset's name is its Iceberg table's. */
export const rawTableName = (dataset: string): string => `${dataset}_raw`;

export interface LakeCatalogProps {
  databaseName: string;
  bucket: IBucket;
  /** First date partition projection offers. @default "2025-01-01" */
  firstDate?: string;
}

export class LakeCatalog extends Construct {
  readonly database: CfnDatabase;
  readonly tables: Record<string, CfnTable> = {};

  constructor(scope: Construct, id: string, props: LakeCatalogProps) {
    super(scope, id);
    const catalogId = Stack.of(this).account;
    this.database = new CfnDatabase(this, "Database", {
      catalogId,
      databaseInput: { name: props.databaseName, description: "ticklake market-data lake" },
    });
    for (const dataset of DATASETS) {
      const location = `s3://${props.bucket.bucketName}/${LAKE_PREFIX}${dataset}/`;
      const table = new CfnTable(this, `Table-${dataset}`, {
        catalogId,
        databaseName: props.databaseName,
        tableInput: {
          name: rawTableName(dataset),
          tableType: "EXTERNAL_TABLE",
          parameters: {
            classification: "parquet",
            "projection.enabled": "true",
            "projection.dt.type": "date",
            "projection.dt.format": "yyyy-MM-dd",
            "projection.dt.range": `${props.firstDate ?? "2025-01-01"},NOW`,
            "projection.dt.interval": "1",
            "projection.dt.interval.unit": "DAYS",
            "projection.hour.type": "integer",
            "projection.hour.range": "0,23",
            "projection.hour.digits": "2",
            "storage.location.template": `${location}dt=\${dt}/hour=\${hour}`,
          },
          partitionKeys: [
            { name: "dt", type: "string" },
            { name: "hour", type: "string" },
          ],
          storageDescriptor: {
            location,
            inputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            outputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            serdeInfo: {
              serializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
            },
            columns: columnsOf(dataset).map((column) => ({
              name: column.name,
              type: sqlTypeOf(column.type, "hive"),
              comment: column.description,
            })),
          },
        },
      });
      table.addResourceDependency(this.database);
      this.tables[dataset] = table;
    }
  }
}
