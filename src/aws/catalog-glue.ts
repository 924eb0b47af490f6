/**
 * The Glue Data Catalog as the table layer's catalog on AWS (DESIGN §9), the way Iceberg's
 * own GlueCatalog (Java and pyiceberg) keeps tables, so Athena, Spark and pyiceberg read them:
 * a Glue table with `table_type=ICEBERG`, `metadata_location` (the current metadata file) and
 * `previous_metadata_location`.
 *
 * A commit writes the new metadata file under a fresh name, then calls UpdateTable with the
 * `VersionId` it read together with the expected `metadata_location`: Glue refuses the update
 * with ConcurrentModificationException when another update came in between, which makes the
 * read-check-update a compare-and-swap.
 * @see https://docs.aws.amazon.com/glue/latest/webapi/API_UpdateTable.html
 * @see https://iceberg.apache.org/docs/latest/aws/#glue-catalog
 */
import { randomUUID } from "node:crypto";
import {
  AlreadyExistsException,
  type Column,
  ConcurrentModificationException,
  CreateTableCommand,
  EntityNotFoundException,
  GetTableCommand,
  type GlueClient,
  type Table,
  UpdateTableCommand,
} from "@aws-sdk/client-glue";
import { CommitConflictError, IcebergError } from "../core/iceberg/errors.ts";
import {
  currentSchema,
  parseTableMetadata,
  serializeTableMetadata,
  type TableMetadata,
} from "../core/iceberg/metadata.ts";
import type { SchemaField } from "../core/iceberg/schema.ts";
import type { Catalog, LoadedTable, TableIdentifier } from "../core/iceberg/table-ops.ts";
import type { S3TableFileIO } from "./iceberg-s3.ts";

const METADATA_LOCATION = "metadata_location";
const PREVIOUS_METADATA_LOCATION = "previous_metadata_location";

/** The Hive type Glue shows for an Iceberg type (Athena reads the Iceberg schema itself). */
function hiveTypeOf(type: SchemaField["type"]): string {
  if (typeof type !== "string") return `array<${hiveTypeOf(type.element)}>`;
  if (type === "long") return "bigint";
  if (type === "timestamptz") return "timestamp";
  return type.replace(/^decimal\((\d+), (\d+)\)$/, "decimal($1,$2)");
}

function columnsOf(metadata: TableMetadata): Column[] {
  return currentSchema(metadata).fields.map((field) => ({
    Name: field.name,
    Type: hiveTypeOf(field.type),
    ...(field.doc ? { Comment: field.doc.slice(0, 255) } : {}),
    Parameters: {
      "iceberg.field.id": String(field.id),
      "iceberg.field.optional": String(!field.required),
      "iceberg.field.current": "true",
    },
  }));
}

function tableInput(name: string, metadata: TableMetadata, parameters: Record<string, string>) {
  return {
    Name: name,
    TableType: "EXTERNAL_TABLE",
    Parameters: parameters,
    StorageDescriptor: { Location: metadata.location, Columns: columnsOf(metadata) },
  };
}

export class GlueCatalog implements Catalog {
  readonly #glue: GlueClient;
  readonly #io: S3TableFileIO;
  readonly #catalogId: string | undefined;

  /** @param catalogId the account whose catalog holds the tables; the caller's by default. */
  constructor(glue: GlueClient, io: S3TableFileIO, catalogId?: string) {
    this.#glue = glue;
    this.#io = io;
    this.#catalogId = catalogId;
  }

  async #table(table: TableIdentifier): Promise<Table | undefined> {
    try {
      const answer = await this.#glue.send(
        new GetTableCommand({ CatalogId: this.#catalogId, DatabaseName: table.namespace, Name: table.name }),
      );
      return answer.Table;
    } catch (error) {
      if (error instanceof EntityNotFoundException) return undefined;
      throw error;
    }
  }

  #metadataLocationOf(table: TableIdentifier, glueTable: Table): string {
    const parameters = glueTable.Parameters ?? {};
    if ((parameters.table_type ?? "").toUpperCase() !== "ICEBERG") {
      throw new IcebergError(
        `Glue table ${table.namespace}.${table.name} is not an Iceberg table (table_type ${parameters.table_type ?? "unset"})`,
      );
    }
    const location = parameters[METADATA_LOCATION];
    if (!location)
      throw new IcebergError(`Glue table ${table.namespace}.${table.name} has no ${METADATA_LOCATION}`);
    return location;
  }

  async load(table: TableIdentifier): Promise<LoadedTable | undefined> {
    const glueTable = await this.#table(table);
    if (!glueTable) return undefined;
    const metadataLocation = this.#metadataLocationOf(table, glueTable);
    const text = Buffer.from(await this.#io.read(metadataLocation)).toString("utf8");
    return { metadata: parseTableMetadata(text, metadataLocation), metadataLocation };
  }

  async #writeMetadata(metadata: TableMetadata): Promise<string> {
    const sequence = String(metadata["last-sequence-number"]).padStart(5, "0");
    const path = `${metadata.location}/metadata/${sequence}-${randomUUID()}.metadata.json`;
    await this.#io.write(path, Buffer.from(serializeTableMetadata(metadata)));
    return path;
  }

  async create(table: TableIdentifier, metadata: TableMetadata): Promise<LoadedTable> {
    const metadataLocation = await this.#writeMetadata(metadata);
    try {
      await this.#glue.send(
        new CreateTableCommand({
          CatalogId: this.#catalogId,
          DatabaseName: table.namespace,
          TableInput: tableInput(table.name, metadata, {
            table_type: "ICEBERG",
            [METADATA_LOCATION]: metadataLocation,
          }),
        }),
      );
    } catch (error) {
      if (error instanceof AlreadyExistsException) {
        throw new CommitConflictError(`Glue table ${table.namespace}.${table.name} exists already`, {
          cause: error,
        });
      }
      throw error;
    }
    return { metadata, metadataLocation };
  }

  async commit(table: TableIdentifier, base: LoadedTable, next: TableMetadata): Promise<LoadedTable> {
    const glueTable = await this.#table(table);
    if (!glueTable)
      throw new CommitConflictError(`Glue table ${table.namespace}.${table.name} no longer exists`);
    const current = this.#metadataLocationOf(table, glueTable);
    if (current !== base.metadataLocation) {
      throw new CommitConflictError(
        `${table.namespace}.${table.name} moved on: it is at ${current}, the commit was planned on ${base.metadataLocation}`,
      );
    }
    const metadataLocation = await this.#writeMetadata(next);
    try {
      await this.#glue.send(
        new UpdateTableCommand({
          CatalogId: this.#catalogId,
          DatabaseName: table.namespace,
          // Glue refuses the update if the table changed since this version was read.
          VersionId: glueTable.VersionId,
          TableInput: tableInput(table.name, next, {
            ...glueTable.Parameters,
            [METADATA_LOCATION]: metadataLocation,
            [PREVIOUS_METADATA_LOCATION]: current,
          }),
        }),
      );
    } catch (error) {
      if (error instanceof ConcurrentModificationException) {
        throw new CommitConflictError(`${table.namespace}.${table.name} was updated by another writer`, {
          cause: error,
        });
      }
      throw error;
    }
    return { metadata: next, metadataLocation };
  }
}
