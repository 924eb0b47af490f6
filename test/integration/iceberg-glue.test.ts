/**
 * The Glue catalog path (DESIGN §9): tables kept in moto's Glue (an independent implementation
 * of the Glue API, over HTTP with the real SDK), their files in the local S3; pyiceberg's own
 * GlueCatalog, pointed at the same endpoints, reads what ticklake committed.
 *
 * Emulator-specific: moto's UpdateTable does not check `VersionId`, so a race between two
 * writers inside one commit's read-check-update is refused by Glue on AWS but not here; what
 * moto does show is the check against the expected metadata location, tested below. That the
 * commit sends `VersionId` and maps Glue's ConcurrentModificationException to a conflict is
 * unit-tested in test/unit/catalog-glue.test.ts.
 */
import { CreateDatabaseCommand, GetTableCommand } from "@aws-sdk/client-glue";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AwsClients, createClients } from "../../src/aws/clients.ts";
import { tableDeps } from "../../src/aws/tables.ts";
import { CommitConflictError } from "../../src/core/iceberg/errors.ts";
import { compactTable } from "../../src/core/iceberg/maintenance.ts";
import {
  commitFiles,
  ensureTable,
  type TableDeps,
  type TableIdentifier,
} from "../../src/core/iceberg/table-ops.ts";
import type { RunningEmulators } from "../../src/local/emulators.ts";
import { httpRequest } from "../support/factories.ts";
import { checkTables, writeLakeFiles } from "../support/iceberg.ts";
import { emulatorsIn, tempStateDir } from "../support/local-aws.ts";
import { type MotoServer, startMoto } from "../support/moto.ts";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 26, 9);
const BUCKET = "iceberg-glue-test";
const DATABASE = "ticklake_test";

let emulators: RunningEmulators;
let moto: MotoServer;
let clients: AwsClients;
let removeState: () => Promise<void>;
let deps: TableDeps;
const table: TableIdentifier = { namespace: DATABASE, name: "http_requests" };
const location = `s3://${BUCKET}/tables/${DATABASE}/http_requests`;

beforeAll(async () => {
  const state = await tempStateDir();
  removeState = state.remove;
  [emulators, moto] = await Promise.all([emulatorsIn(state.dir), startMoto()]);
  clients = createClients({
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    endpoints: { s3: emulators.endpoints.s3, glue: moto.endpoint },
  });
  await clients.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await clients.glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: DATABASE } }));
  deps = {
    ...tableDeps(clients, { catalog: "glue", warehouse: `s3://${BUCKET}/tables`, namespace: DATABASE }),
    now: () => T0 + 3 * HOUR,
  };
});

afterAll(async () => {
  clients?.destroy();
  await Promise.all([emulators?.stop(), moto?.stop()]);
  await removeState?.();
});

describe("the Glue catalog (moto's Glue, pyiceberg's GlueCatalog reads back)", () => {
  it("creates, commits exactly once and compacts a table that pyiceberg's GlueCatalog reads, data files included", async () => {
    // GIVEN request logs of two hours, written and announced as the processor does
    const events = Array.from({ length: 40 }, (_, i) => httpRequest(T0 + i * 180_000));
    const files = await writeLakeFiles(clients.s3, BUCKET, events);

    // WHEN the table is created in Glue, the files committed, announced again, and the first hour compacted
    await ensureTable(deps, table, "http_requests", location);
    const first = await commitFiles(deps, table, files);
    const again = await commitFiles(deps, table, files);
    const compacted = await compactTable(deps, table, "http_requests");

    // THEN Glue points at the current metadata file, and pyiceberg reads every record once
    expect(first.kind).toBe("committed");
    expect(again.kind).toBe("nothing-new");
    expect(compacted.map((result) => result.hour)).toEqual(["2026-11-26T09:00Z", "2026-11-26T10:00Z"]);
    const glueTable = (
      await clients.glue.send(new GetTableCommand({ DatabaseName: DATABASE, Name: "http_requests" }))
    ).Table;
    expect(glueTable?.Parameters?.table_type).toBe("ICEBERG");
    expect(glueTable?.Parameters?.previous_metadata_location).toMatch(/\.metadata\.json$/);
    expect(glueTable?.StorageDescriptor?.Columns?.find((column) => column.Name === "status")).toMatchObject({
      Type: "bigint",
      Parameters: { "iceberg.field.id": "10" },
    });
    const [checked] = await checkTables(emulators.endpoints.s3, [
      { glue: { endpoint: moto.endpoint, database: DATABASE, name: "http_requests" } },
    ]);
    expect(checked?.location).toBe(location);
    expect(checked?.ids).toEqual(events.map((event) => event.id).sort());
    expect(checked?.files).toHaveLength(2);
    expect(checked?.snapshots.map((snapshot) => snapshot.operation)).toEqual([
      "append",
      "replace",
      "replace",
    ]);
    expect(checked?.schema.find((field) => field.name === "duration_ms")).toMatchObject({
      id: 11,
      type: "double",
    });
  });

  it("refuses a commit planned on metadata that is no longer current", async () => {
    // GIVEN the table as loaded, then moved on by another commit
    const stale = await deps.catalog.load(table);
    if (!stale) throw new Error("no table");
    const more = await writeLakeFiles(clients.s3, BUCKET, [httpRequest(T0 + 5 * HOUR)]);
    expect((await commitFiles(deps, table, more)).kind).toBe("committed");

    // WHEN a commit planned on the older metadata is attempted
    const attempt = deps.catalog.commit(table, stale, {
      ...stale.metadata,
      "last-updated-ms": T0 + 4 * HOUR,
    });

    // THEN the catalog refuses it as a conflict, and the table still points at the newer metadata
    await expect(attempt).rejects.toBeInstanceOf(CommitConflictError);
    const now = await deps.catalog.load(table);
    expect(now?.metadataLocation).not.toBe(stale.metadataLocation);
    expect(now?.metadata.snapshots).toHaveLength(4);
  });
});
