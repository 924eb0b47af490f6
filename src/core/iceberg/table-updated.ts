/**
 * The "table updated" notification (DESIGN §1): one per snapshot a commit or a compaction
 * adds, published on the data-available topic with the message attribute `kind` = `table`,
 * beside the per-object manifests (`kind` `lake` or `quarantine`). Subscribers deduplicate on
 * `snapshotId` (and `part`); `sequenceNumber` grows by one per snapshot of a table, so a gap
 * says a notification was missed (the snapshot is in the table all the same).
 *
 * This is the one definition: the committer builds it (`commit.ts`, `compaction.ts`), `sync`
 * reads it through `parseTableUpdated`, which sets a message that is not one aside with the
 * reason instead of throwing.
 */
import { z } from "zod";

const isoTime = z.iso.datetime({ offset: true });
const s3Uri = z.string().regex(/^s3a?:\/\/[^/]+\/.+/, "an s3:// URI");

export const TableUpdated = z.strictObject({
  v: z.literal(1),
  kind: z.literal("table"),
  table: z.string().min(1),
  snapshotId: z.string().regex(/^\d+$/, "a snapshot id in decimal digits"),
  sequenceNumber: z.int().positive(),
  operation: z.enum(["append", "replace"]),
  /** Data files the snapshot added, with their record counts. */
  files: z.array(z.strictObject({ path: s3Uri, records: z.int().nonnegative() })),
  /** Files the snapshot removed (compaction). */
  removedFiles: z.array(s3Uri),
  /** Records the snapshot added. */
  records: z.int().nonnegative(),
  /** Event-time range of the added records, ISO-8601; absent when nothing was added. */
  minTime: isoTime.optional(),
  maxTime: isoTime.optional(),
  committedAt: isoTime,
  /**
   * Present when the snapshot's file lists were too long for one message: this message holds
   * part `index` (from 1) of `count`; the other fields are the snapshot's, the same in each.
   */
  part: z.strictObject({ index: z.int().positive(), count: z.int().positive() }).optional(),
});
export type TableUpdated = z.infer<typeof TableUpdated>;

/** A notification, or why the message is not one (the field, and what is wrong with it). */
export type ParsedTableUpdated = { ok: true; update: TableUpdated } | { ok: false; reason: string };

export function parseTableUpdated(body: string): ParsedTableUpdated {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, reason: `not JSON: ${JSON.stringify(body.slice(0, 80))}` };
  }
  const result = TableUpdated.safeParse(json);
  if (result.success) return { ok: true, update: result.data };
  const issue = result.error.issues[0];
  return {
    ok: false,
    reason: `not a "table updated" notification: ${issue?.path.join(".") || "$"}: ${issue?.message}`,
  };
}
