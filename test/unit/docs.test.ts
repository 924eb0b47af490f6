/** Docs that are generated from code must stay equal to what the code generates now. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { QUERY_EXAMPLES } from "../../src/cli/query-examples.ts";
import { columnsMarkdown, envelopeJsonSchema } from "../../src/cli/schema.ts";

const doc = (path: string) => readFileSync(new URL(`../../docs/${path}`, import.meta.url), "utf8");

describe("generated documentation", () => {
  it("data-contract.md lists exactly the columns derived from the zod schemas", () => {
    const text = doc("data-contract.md");
    const block = text.slice(
      text.indexOf("<!-- columns:begin -->\n") + 23,
      text.indexOf("\n<!-- columns:end -->"),
    );
    expect(block).toBe(columnsMarkdown());
  });

  it("schema/envelope.schema.json is the JSON Schema of the zod envelope", () => {
    expect(doc("schema/envelope.schema.json")).toBe(envelopeJsonSchema());
  });

  it("queries.md shows each worked example verbatim", () => {
    const text = doc("queries.md");
    for (const sql of Object.values(QUERY_EXAMPLES)) expect(text).toContain(sql);
  });
});
