/**
 * `ticklake schema`: the contract as documents, generated from the zod schemas so that
 * docs/data-contract.md and docs/schema/envelope.schema.json cannot drift (tests compare).
 */
import { z } from "zod";
import { columnsOf, sqlTypeOf } from "../core/columns.ts";
import { DATASET_OF, DATASETS, Envelope } from "../core/events.ts";

/** The JSON Schema of one log record. Cross-field rules (bid < ask, precision per pair) are the code's. */
export function envelopeJsonSchema(): string {
  return `${JSON.stringify(z.toJSONSchema(Envelope, { unrepresentable: "any" }), null, 2)}\n`;
}

/** One markdown table of columns per dataset, with DuckDB and Athena types. */
export function columnsMarkdown(): string {
  return DATASETS.map((dataset) => {
    const type = Object.entries(DATASET_OF).find(([, d]) => d === dataset)?.[0];
    const rows = columnsOf(dataset).map(
      (c) =>
        `| \`${c.name}\` | ${sqlTypeOf(c.type, "duckdb")} | ${sqlTypeOf(c.type, "hive")} | ${c.description} |`,
    );
    return [
      `### \`${dataset}\` (from \`${type}\`)`,
      "",
      "| column | DuckDB type | Athena type | meaning |",
      "| --- | --- | --- | --- |",
      ...rows,
      "| `dt` | DATE | string (partition) | event date, UTC, from the object's key |",
      "| `hour` | BIGINT | string (partition) | event hour, UTC, from the object's key |",
    ].join("\n");
  }).join("\n\n");
}
