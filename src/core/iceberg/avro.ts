/**
 * Avro object container files in memory, as Iceberg's manifests and manifest lists are
 * written: records encoded by avsc, blocks compressed with deflate, the file's metadata
 * (Iceberg's schema, partition spec, snapshot id…) in the header.
 *
 * The container's framing (magic, metadata map, sync marker, then blocks of count, size,
 * data, sync) is the Avro spec's and a few lines; it is written here rather than through
 * avsc's `BlockEncoder` stream because that encoder writes the schema it re-exports into the
 * header, without the `field-id` attributes Iceberg readers resolve fields by, and because
 * this way a file is made synchronously, in one buffer.
 * Longs are numbers while safe and bigints beyond: Iceberg's snapshot ids are 64-bit.
 * @see https://avro.apache.org/docs/1.11.1/specification/#object-container-files
 */
import { createHash } from "node:crypto";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import avro from "avsc";
import { IcebergError } from "./errors.ts";

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]); // "Obj" 1

/** Avro longs as numbers while they are safe integers, as bigints beyond. */
const SafeLong = avro.types.LongType.__with({
  fromBuffer(buffer: Buffer): number | bigint {
    const value = buffer.readBigInt64LE(0);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value;
  },
  toBuffer(value: number | bigint): Buffer {
    const buffer = Buffer.alloc(8);
    buffer.writeBigInt64LE(BigInt(value));
    return buffer;
  },
  fromJSON: (value: number | bigint) => value,
  toJSON: (value: number | bigint) => (typeof value === "bigint" ? Number(value) : value),
  isValid: (value: unknown) =>
    typeof value === "bigint" || (typeof value === "number" && Number.isSafeInteger(value)),
  compare: (a: number | bigint, b: number | bigint) => (a < b ? -1 : a > b ? 1 : 0),
});

const typeCache = new Map<string, avro.Type>();

function typeOf(schema: object): avro.Type {
  const text = JSON.stringify(schema);
  let type = typeCache.get(text);
  if (!type) {
    type = avro.Type.forSchema(schema as avro.Schema, { registry: { long: SafeLong } });
    typeCache.set(text, type);
  }
  return type;
}

const HEADER = avro.Type.forSchema({
  type: "record",
  name: "org.apache.avro.file.Header",
  fields: [
    { name: "magic", type: { type: "fixed", name: "Magic", size: 4 } },
    { name: "meta", type: { type: "map", values: "bytes" } },
    { name: "sync", type: { type: "fixed", name: "Sync", size: 16 } },
  ],
});
const LONG = avro.Type.forSchema("long");

/** Rows per block: manifests hold thousands of entries; a block is compressed as one. */
const BLOCK_ROWS = 1_000;

/**
 * An Avro object container file holding `records` of `schema`. `metadata` goes into the
 * header beside `avro.schema` (the schema exactly as given, custom attributes included) and
 * `avro.codec` (`deflate`). The sync marker is derived from the content, so the same input
 * always makes the same bytes.
 */
export function writeAvroFile(
  schema: object,
  records: readonly unknown[],
  metadata: Readonly<Record<string, string>>,
): Uint8Array {
  const type = typeOf(schema);
  const blocks: Buffer[] = [];
  for (let start = 0; start < records.length; start += BLOCK_ROWS) {
    const rows = records.slice(start, start + BLOCK_ROWS);
    const data = deflateRawSync(Buffer.concat(rows.map((row) => type.toBuffer(row))));
    blocks.push(LONG.toBuffer(rows.length), LONG.toBuffer(data.length), data);
  }
  const meta: Record<string, Buffer> = {
    "avro.schema": Buffer.from(JSON.stringify(schema)),
    "avro.codec": Buffer.from("deflate"),
  };
  for (const [key, value] of Object.entries(metadata)) meta[key] = Buffer.from(value);
  const sync = createHash("md5").update(Buffer.concat(blocks)).update(JSON.stringify(metadata)).digest();
  const out: Buffer[] = [HEADER.toBuffer({ magic: MAGIC, meta, sync })];
  for (let i = 0; i < blocks.length; i += 3) out.push(...blocks.slice(i, i + 3), sync);
  return Buffer.concat(out);
}

export interface AvroFile {
  metadata: Record<string, string>;
  /** The writer's schema, from the header. */
  schema: object;
  records: unknown[];
}

/** Reads an Avro object container file (null or deflate codec) with the writer's schema. */
export function readAvroFile(bytes: Uint8Array): AvroFile {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = HEADER.decode(buffer, 0);
  if (header.offset < 0) throw new IcebergError("not an Avro file: the header is cut short");
  const { magic, meta, sync } = header.value as { magic: Buffer; meta: Record<string, Buffer>; sync: Buffer };
  if (!magic.equals(MAGIC)) throw new IcebergError("not an Avro file: wrong magic bytes");
  const metadata = Object.fromEntries(Object.entries(meta).map(([key, value]) => [key, value.toString()]));
  const schemaText = metadata["avro.schema"];
  if (!schemaText) throw new IcebergError("Avro file without a schema");
  const schema = JSON.parse(schemaText) as object;
  const codec = metadata["avro.codec"] ?? "null";
  if (codec !== "null" && codec !== "deflate") {
    throw new IcebergError(`Avro codec ${codec} is not supported; ticklake reads null and deflate`);
  }
  const type = typeOf(schema);
  const records: unknown[] = [];
  let offset = header.offset;
  while (offset < buffer.length) {
    const count = LONG.decode(buffer, offset);
    const size = LONG.decode(buffer, count.offset);
    const start = size.offset;
    const end = start + (size.value as number);
    const raw = buffer.subarray(start, end);
    const data = codec === "deflate" ? inflateRawSync(raw) : raw;
    let position = 0;
    for (let i = 0; i < (count.value as number); i++) {
      const row = type.decode(data, position);
      records.push(row.value);
      position = row.offset;
    }
    if (!buffer.subarray(end, end + 16).equals(sync))
      throw new IcebergError("Avro block with a wrong sync marker");
    offset = end + 16;
  }
  return { metadata, schema, records };
}
