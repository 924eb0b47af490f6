import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { columnsOf } from "../../src/core/columns.ts";
import { DATASETS } from "../../src/core/events.ts";
import { FIELD_IDS } from "../../src/core/iceberg/field-ids.ts";
import { evolveSchema, newTableMetadata } from "../../src/core/iceberg/metadata.ts";
import {
  fieldIdsOf,
  type IcebergSchema,
  icebergSchemaMarkdown,
  icebergSchemaOf,
} from "../../src/core/iceberg/schema.ts";

const NOW = Date.UTC(2026, 10, 26, 14);

describe("Iceberg schemas from the zod contract", () => {
  it.each(DATASETS)("gives every column of %s a field id from the ledger, no id twice", (dataset) => {
    const schema = icebergSchemaOf(dataset);
    expect(schema.fields.map((field) => field.name)).toEqual(columnsOf(dataset).map((column) => column.name));
    const ids = fieldIdsOf(schema);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(Object.values(FIELD_IDS[dataset])).size).toBe(Object.keys(FIELD_IDS[dataset]).length);
    expect(ids.sort((a, b) => a - b)).toEqual(Object.values(FIELD_IDS[dataset]).sort((a, b) => a - b));
  });

  it("maps the contract's types to Iceberg's", () => {
    const types = Object.fromEntries(icebergSchemaOf("news").fields.map((field) => [field.name, field.type]));
    expect(types).toMatchObject({ v: "int", id: "string", ts: "timestamptz", sentiment: "double" });
    expect(types.symbols).toEqual({
      type: "list",
      "element-id": 11,
      element: "string",
      "element-required": true,
    });
    const stock = Object.fromEntries(
      icebergSchemaOf("stock_quotes").fields.map((field) => [field.name, field.type]),
    );
    expect(stock).toMatchObject({ bid: "decimal(18, 2)", volume: "long" });
    expect(icebergSchemaOf("fx_quotes").fields.find((field) => field.name === "ask")?.type).toBe(
      "decimal(18, 5)",
    );
  });

  it("refuses a column the ledger has no id for, naming the next free id", () => {
    const columns = [
      ...columnsOf("fx_quotes"),
      { name: "mid", path: ["data", "mid"], type: { kind: "float64" as const }, description: "" },
    ];
    expect(() => icebergSchemaOf("fx_quotes", { columns })).toThrow(
      /fx_quotes\.mid has no Iceberg field id: add "mid": 9/,
    );
  });
});

describe("contract versions as Iceberg schema evolution", () => {
  // A hypothetical contract v2 of fx_quotes adds an optional `mid` with the next id in the ledger.
  const v2Columns = [
    ...columnsOf("fx_quotes"),
    {
      name: "mid",
      path: ["data", "mid"],
      type: { kind: "decimal" as const, precision: 18 as const, scale: 5 },
      description: "Mid price",
    },
  ];
  const v2Ids = { ...FIELD_IDS.fx_quotes, mid: 9 };
  const optionalNew = (schema: IcebergSchema): IcebergSchema => ({
    ...schema,
    fields: schema.fields.map((field) => (field.name === "mid" ? { ...field, required: false } : field)),
  });

  it("adds a field as a new schema, keeping every existing id and the old schema", () => {
    // GIVEN a table created with the v1 contract
    const table = newTableMetadata({ dataset: "fx_quotes", location: "s3://b/t", nowMs: NOW });
    // WHEN the v2 contract's schema is applied
    const target = optionalNew(icebergSchemaOf("fx_quotes", { columns: v2Columns, ids: v2Ids }));
    const evolved = evolveSchema(table, target, NOW + 1);
    // THEN schema 1 is current, ids 1-8 unchanged, the last column id is 9, and schema 0 stays for old snapshots
    expect(evolved["current-schema-id"]).toBe(1);
    expect(evolved.schemas).toHaveLength(2);
    expect(evolved["last-column-id"]).toBe(9);
    expect(evolved.schemas[1]?.fields.slice(0, 8)).toEqual(table.schemas[0]?.fields);
    // and applying the same schema again changes nothing
    expect(evolveSchema(evolved, { ...target, "schema-id": 1 }, NOW + 2)).toBe(evolved);
  });

  it("refuses a new required field and a type change Iceberg does not allow", () => {
    const table = newTableMetadata({ dataset: "fx_quotes", location: "s3://b/t", nowMs: NOW });
    const required = icebergSchemaOf("fx_quotes", { columns: v2Columns, ids: v2Ids });
    expect(() => evolveSchema(table, required, NOW)).toThrow(/mid \(id 9\) is new and required/);
    const narrowed = {
      ...table.schemas[0],
      fields: table.schemas[0]?.fields.map((field) =>
        field.name === "bid" ? { ...field, type: "double" as const } : field,
      ),
    } as IcebergSchema;
    expect(() => evolveSchema(table, narrowed, NOW)).toThrow(
      /bid \(id 7\) changes type from decimal\(18, 5\) to double/,
    );
  });
});

describe("docs/data-contract.md", () => {
  it("shows the tables' Iceberg schemas as the code derives them", () => {
    const text = readFileSync(new URL("../../docs/data-contract.md", import.meta.url), "utf8");
    const begin = text.indexOf("<!-- iceberg:begin -->\n") + "<!-- iceberg:begin -->\n".length;
    const end = text.indexOf("\n<!-- iceberg:end -->");
    expect(text.slice(begin, end)).toBe(icebergSchemaMarkdown(DATASETS));
  });
});
