/**
 * The Glue catalog's compare-and-swap, where moto cannot show it: the commit sends the
 * VersionId it read, and Glue's ConcurrentModificationException becomes a commit conflict
 * that the commit loop answers by planning again. The SDK is mocked: only the adapter's
 * error handling is under test (the Glue path itself runs against moto in
 * test/integration/iceberg-glue.test.ts).
 */
import {
  ConcurrentModificationException,
  GetTableCommand,
  GlueClient,
  UpdateTableCommand,
} from "@aws-sdk/client-glue";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { GlueCatalog } from "../../src/aws/catalog-glue.ts";
import { S3TableFileIO } from "../../src/aws/iceberg-s3.ts";
import { CommitConflictError } from "../../src/core/iceberg/errors.ts";
import { newTableMetadata } from "../../src/core/iceberg/metadata.ts";

const glueMock = mockClient(GlueClient);
const s3Mock = mockClient(S3Client);
const table = { namespace: "db", name: "fx_quotes" };
const metadata = newTableMetadata({ dataset: "fx_quotes", location: "s3://b/t", nowMs: 1 });
const current = "s3://b/t/metadata/00000-a.metadata.json";

afterEach(() => {
  glueMock.reset();
  s3Mock.reset();
});

function glueTable(versionId: string) {
  return {
    Table: {
      Name: "fx_quotes",
      DatabaseName: "db",
      VersionId: versionId,
      Parameters: { table_type: "ICEBERG", metadata_location: current },
    },
  };
}

describe("GlueCatalog commit", () => {
  it("updates with the VersionId it read and the previous metadata location", async () => {
    glueMock.on(GetTableCommand).resolves(glueTable("7"));
    glueMock.on(UpdateTableCommand).resolves({});
    s3Mock.on(PutObjectCommand).resolves({});
    const catalog = new GlueCatalog(
      new GlueClient({ region: "us-east-1" }),
      new S3TableFileIO(new S3Client({ region: "us-east-1" })),
    );
    const committed = await catalog.commit(table, { metadata, metadataLocation: current }, metadata);
    const update = glueMock.commandCalls(UpdateTableCommand)[0]?.args[0].input;
    expect(update?.VersionId).toBe("7");
    expect(update?.TableInput?.Parameters).toMatchObject({
      table_type: "ICEBERG",
      metadata_location: committed.metadataLocation,
      previous_metadata_location: current,
    });
    expect(s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input.IfNoneMatch).toBe("*");
  });

  it("turns Glue's ConcurrentModificationException into a commit conflict", async () => {
    glueMock.on(GetTableCommand).resolves(glueTable("7"));
    glueMock
      .on(UpdateTableCommand)
      .rejects(new ConcurrentModificationException({ message: "version 7 is not current", $metadata: {} }));
    s3Mock.on(PutObjectCommand).resolves({});
    const catalog = new GlueCatalog(
      new GlueClient({ region: "us-east-1" }),
      new S3TableFileIO(new S3Client({ region: "us-east-1" })),
    );
    await expect(
      catalog.commit(table, { metadata, metadataLocation: current }, metadata),
    ).rejects.toBeInstanceOf(CommitConflictError);
  });
});
