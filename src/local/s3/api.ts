/**
 * The local S3's HTTP API (path-style, REST/XML) over `S3DiskStore`: buckets, PUT (plain,
 * aws-chunked, conditional with `If-None-Match: *`, copy), GET with ranges and conditions, HEAD,
 * DELETE, DeleteObjects, ListObjects V1 and V2 (prefix, delimiter, pagination, `encoding-type=url`)
 * and multipart uploads: what the SDK, the AWS CLI's `s3` commands and ticklake use. Bodies
 * stream between the socket and the disk. Other sub-resources (ACLs, versioning, tagging, …)
 * answer 501 NotImplemented. Signatures are not checked.
 * EMULATOR-SPECIFIC: this stands in for S3 on this machine only.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { XMLBuilder, XMLParser } from "fast-xml-parser";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { z } from "zod";
import { AwsChunkedDecoder } from "./aws-chunked.ts";
import { noSuchBucket, S3ApiError } from "./errors.ts";
import { metadataOf, type ObjectInfo, type S3DiskStore, type WriteOptions } from "./store.ts";

const NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/";
const OWNER = { ID: "ticklake-local", DisplayName: "ticklake-local" };
/** XML request bodies (DeleteObjects, CompleteMultipartUpload) are small. */
const MAX_XML_BODY = 2 * 1_024 * 1_024;
const MAX_LIST_KEYS = 1_000;
const BUCKET_SUBRESOURCES = [
  "acl",
  "policy",
  "cors",
  "lifecycle",
  "tagging",
  "versioning",
  "versions",
  "uploads",
  "website",
  "logging",
  "notification",
  "replication",
  "encryption",
  "object-lock",
  "ownershipControls",
  "publicAccessBlock",
  "accelerate",
  "requestPayment",
];
const OBJECT_SUBRESOURCES = ["acl", "tagging", "retention", "legal-hold", "torrent", "attributes", "restore"];

/**
 * Whether a request on the shared port is S3's: SQS and SNS (and STS) POST form or JSON bodies,
 * and fauxqs serves its own `/health` and `/_fauxqs/…`.
 */
export function isS3Request(request: IncomingMessage): boolean {
  const url = request.url ?? "/";
  if (url === "/health" || url.startsWith("/_fauxqs/")) return false;
  if (request.method !== "POST") return true;
  const type = request.headers["content-type"] ?? "";
  return !type.includes("x-www-form-urlencoded") && !type.includes("x-amz-json");
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: "@_" });
const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  isArray: (name) => name === "Object" || name === "Part",
});

function xml(body: Record<string, unknown>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build(body)}`;
}

type Query = Record<string, string | undefined>;

const DeleteRequest = z.object({
  Delete: z.object({
    Object: z.array(z.object({ Key: z.string().min(1) })).max(1_000),
    Quiet: z.string().optional(),
  }),
});

const CompleteRequest = z.object({
  CompleteMultipartUpload: z.object({
    Part: z.array(z.object({ PartNumber: z.string().trim().regex(/^\d+$/), ETag: z.string().trim() })),
  }),
});

async function readSmallBody(request: FastifyRequest): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of bodyOf(request)) {
    size += (chunk as Buffer).length;
    if (size > MAX_XML_BODY)
      throw new S3ApiError("MaxMessageLengthExceeded", 400, "The XML request body is over 2 MiB");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

async function parseXmlBody<T>(request: FastifyRequest, schema: z.ZodType<T>, what: string): Promise<T> {
  const text = await readSmallBody(request);
  let tree: unknown;
  try {
    tree = parser.parse(text, true);
  } catch (cause) {
    throw new S3ApiError("MalformedXML", 400, `The ${what} body is not well-formed XML`, {}, { cause });
  }
  const result = schema.safeParse(tree);
  if (!result.success)
    throw new S3ApiError(
      "MalformedXML",
      400,
      `The ${what} body does not match S3's schema: ${result.error.issues
        .map((issue) => `${issue.path.join(".")}: ${issue.message}`)
        .join("; ")}`,
    );
  return result.data;
}

/** The request's body stream (the catch-all parser hands it over unread). */
function bodyOf(request: FastifyRequest): Readable {
  return request.body instanceof Readable ? request.body : request.raw;
}

function paramsOf(request: FastifyRequest): { bucket: string; key: string } {
  const params = request.params as { bucket: string; "*"?: string };
  return { bucket: params.bucket, key: params["*"] ?? "" };
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function notImplemented(query: Query, names: readonly string[]): void {
  const name = names.find((candidate) => candidate in query);
  if (name !== undefined)
    throw new S3ApiError("NotImplemented", 501, `?${name} is not implemented by the local S3`);
}

/** How a body arrives: its stream (aws-chunked framing removed) and the length it must have. */
function uploadOf(request: FastifyRequest): { body: Readable; expectedSize: number | undefined } {
  const encoding = header(request, "content-encoding") ?? "";
  const chunked =
    encoding.includes("aws-chunked") ||
    (header(request, "x-amz-content-sha256") ?? "").startsWith("STREAMING-");
  const declared = chunked
    ? header(request, "x-amz-decoded-content-length")
    : header(request, "content-length");
  const expectedSize = declared === undefined ? undefined : Number(declared);
  if (expectedSize !== undefined && !(Number.isInteger(expectedSize) && expectedSize >= 0))
    throw new S3ApiError(
      "InvalidArgument",
      400,
      `${chunked ? "x-amz-decoded-content-length" : "Content-Length"} must be a whole number of bytes (got ${JSON.stringify(declared)})`,
    );
  const body = bodyOf(request);
  if (!chunked) return { body, expectedSize };
  const decoder = new AwsChunkedDecoder();
  body.once("error", (error) => decoder.destroy(error));
  return { body: body.pipe(decoder), expectedSize };
}

/** Content type, encoding and user metadata of a write, from its headers. */
function writeOptionsOf(request: FastifyRequest): WriteOptions {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (name.startsWith("x-amz-meta-") && value !== undefined)
      metadata[name.slice("x-amz-meta-".length)] = Array.isArray(value) ? value.join(",") : value;
  }
  const encoding = (header(request, "content-encoding") ?? "")
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "" && part !== "aws-chunked")
    .join(",");
  return {
    contentType: header(request, "content-type"),
    contentEncoding: encoding === "" ? undefined : encoding,
    metadata,
  };
}

function conditionalWrite(request: FastifyRequest): boolean {
  const ifNoneMatch = header(request, "if-none-match");
  if (header(request, "if-match") !== undefined)
    throw new S3ApiError("NotImplemented", 501, "If-Match on writes is not implemented by the local S3");
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch !== "*")
    throw new S3ApiError(
      "NotImplemented",
      501,
      `If-None-Match on writes takes only "*" (got ${JSON.stringify(ifNoneMatch)})`,
    );
  return true;
}

/** A satisfiable byte range, "unsatisfiable", or undefined for a header S3 ignores. */
export function parseRange(
  value: string | undefined,
  size: number,
): { start: number; end: number } | "unsatisfiable" | undefined {
  const match = value === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!match) return undefined;
  const [, from = "", to = ""] = match;
  if (from === "" && to === "") return undefined;
  if (from === "") {
    const suffix = Number(to);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(from);
  const end = to === "" ? size - 1 : Math.min(Number(to), size - 1);
  if (to !== "" && Number(to) < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return { start, end };
}

function objectHeaders(reply: FastifyReply, info: ObjectInfo): void {
  reply
    .header("content-type", info.contentType)
    .header("etag", `"${info.etag}"`)
    .header("last-modified", new Date(info.modifiedMs).toUTCString())
    .header("accept-ranges", "bytes");
  if (info.contentEncoding !== undefined) reply.header("content-encoding", info.contentEncoding);
  for (const [name, value] of Object.entries(metadataOf(info))) reply.header(`x-amz-meta-${name}`, value);
}

/** 304 or 412 for a GET or HEAD whose conditions do not hold; undefined to go on. */
function readConditions(request: FastifyRequest, info: ObjectInfo): 304 | 412 | undefined {
  const etag = `"${info.etag}"`;
  const matches = (value: string) =>
    value.split(",").some((tag) => tag.trim() === etag || tag.trim() === "*");
  const date = (name: string) => {
    const value = header(request, name);
    const ms = value === undefined ? Number.NaN : Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  };
  const modified = Math.floor(info.modifiedMs / 1_000) * 1_000;
  const ifMatch = header(request, "if-match");
  if (ifMatch !== undefined && !matches(ifMatch)) return 412;
  const unmodifiedSince = date("if-unmodified-since");
  if (ifMatch === undefined && unmodifiedSince !== undefined && modified > unmodifiedSince) return 412;
  const ifNoneMatch = header(request, "if-none-match");
  if (ifNoneMatch !== undefined && matches(ifNoneMatch)) return 304;
  const modifiedSince = date("if-modified-since");
  if (ifNoneMatch === undefined && modifiedSince !== undefined && modified <= modifiedSince) return 304;
  return undefined;
}

function maxKeysOf(query: Query): number {
  const text = query["max-keys"];
  if (text === undefined) return MAX_LIST_KEYS;
  if (!/^\d{1,9}$/.test(text))
    throw new S3ApiError(
      "InvalidArgument",
      400,
      `max-keys must be a whole number from 0 (got ${JSON.stringify(text)})`,
    );
  return Math.min(Number(text), MAX_LIST_KEYS);
}

function decodeToken(token: string): string {
  const decoded = Buffer.from(token, "base64url").toString("utf8");
  if (Buffer.from(decoded, "utf8").toString("base64url") !== token)
    throw new S3ApiError(
      "InvalidArgument",
      400,
      `The continuation-token provided is incorrect (got ${JSON.stringify(token)})`,
    );
  return decoded;
}

export interface S3ApiOptions {
  store: S3DiskStore;
  /** Answered by GetBucketLocation. @default "us-east-1" */
  region?: string;
}

/** Builds the local S3 API; the caller routes requests to it (`app.routing`) or listens. */
export function buildS3Api(options: S3ApiOptions): FastifyInstance {
  const { store } = options;
  const region = options.region ?? "us-east-1";
  const app = Fastify({ logger: false });
  // Bodies are streamed to disk by the handlers, whatever their type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, payload, done) => done(null, payload));

  app.addHook("onRequest", async (_request, reply) => {
    reply.header("x-amz-request-id", randomUUID().replaceAll("-", "").slice(0, 16).toUpperCase());
    reply.header("x-amz-id-2", "ticklake-local");
  });

  app.setErrorHandler((error, request, reply) => {
    const known = error instanceof S3ApiError;
    // Fastify's own 4xx (a malformed URL, say) are the client's; anything else is ours.
    const clientStatus =
      !known && error instanceof Error && "statusCode" in error && Number(error.statusCode) < 500
        ? Number(error.statusCode)
        : undefined;
    if (!known && clientStatus === undefined)
      process.stderr.write(
        `local S3: ${request.method} ${request.url}: ${(error as Error)?.stack ?? error}\n`,
      );
    reply.status(known ? error.status : (clientStatus ?? 500));
    if (request.method === "HEAD") return reply.send();
    const code = known ? error.code : clientStatus !== undefined ? "InvalidRequest" : "InternalError";
    const message =
      known || clientStatus !== undefined
        ? (error as Error).message
        : "We encountered an internal error. Please try again.";
    return reply.header("content-type", "application/xml").send(
      xml({
        Error: {
          Code: code,
          Message: message,
          ...(known ? error.resource : {}),
          RequestId: reply.getHeader("x-amz-request-id") ?? "",
        },
      }),
    );
  });

  // ---- service and bucket level

  app.route({
    method: "GET",
    url: "/",
    exposeHeadRoute: false,
    handler: async (_request, reply) =>
      reply.header("content-type", "application/xml").send(
        xml({
          ListAllMyBucketsResult: {
            "@_xmlns": NAMESPACE,
            Owner: OWNER,
            Buckets: {
              Bucket: store.listBuckets().map((b) => ({
                Name: b.name,
                CreationDate: new Date(b.createdMs).toISOString(),
              })),
            },
          },
        }),
      ),
  });

  const bucketHandlers = {
    PUT: async (request: FastifyRequest, reply: FastifyReply) => {
      const { bucket } = paramsOf(request);
      notImplemented(request.query as Query, BUCKET_SUBRESOURCES);
      await readSmallBody(request); // CreateBucketConfiguration: the region is this one
      await store.createBucket(bucket);
      return reply.header("location", `/${bucket}`).send();
    },
    HEAD: async (request: FastifyRequest, reply: FastifyReply) => {
      const { bucket } = paramsOf(request);
      if (!store.hasBucket(bucket)) return reply.status(404).send();
      return reply.header("x-amz-bucket-region", region).send();
    },
    GET: async (request: FastifyRequest, reply: FastifyReply) => {
      const { bucket } = paramsOf(request);
      const query = request.query as Query;
      notImplemented(query, BUCKET_SUBRESOURCES);
      if ("location" in query) {
        if (!store.hasBucket(bucket)) throw noSuchBucket(bucket);
        return reply.header("content-type", "application/xml").send(
          xml({
            LocationConstraint: { "@_xmlns": NAMESPACE, "#text": region === "us-east-1" ? "" : region },
          }),
        );
      }
      return reply.header("content-type", "application/xml").send(listObjects(bucket, query));
    },
    DELETE: async (request: FastifyRequest, reply: FastifyReply) => {
      notImplemented(request.query as Query, BUCKET_SUBRESOURCES);
      await store.deleteBucket(paramsOf(request).bucket);
      return reply.status(204).send();
    },
    POST: async (request: FastifyRequest, reply: FastifyReply) => {
      const { bucket } = paramsOf(request);
      if (!("delete" in (request.query as Query)))
        throw new S3ApiError(
          "NotImplemented",
          501,
          "Only POST ?delete (DeleteObjects) is implemented on a bucket",
        );
      const { Delete } = await parseXmlBody(request, DeleteRequest, "DeleteObjects");
      for (const { Key } of Delete.Object) await store.delete(bucket, Key);
      const quiet = Delete.Quiet?.trim() === "true";
      return reply.header("content-type", "application/xml").send(
        xml({
          DeleteResult: {
            "@_xmlns": NAMESPACE,
            Deleted: quiet ? [] : Delete.Object.map(({ Key }) => ({ Key })),
          },
        }),
      );
    },
  };

  function listObjects(bucket: string, query: Query): string {
    const v2 = query["list-type"] === "2";
    if (query["list-type"] !== undefined && !v2)
      throw new S3ApiError(
        "InvalidArgument",
        400,
        `list-type must be 2 (got ${JSON.stringify(query["list-type"])})`,
      );
    const encodingType = query["encoding-type"];
    if (encodingType !== undefined && encodingType !== "url")
      throw new S3ApiError(
        "InvalidArgument",
        400,
        `encoding-type must be url (got ${JSON.stringify(encodingType)})`,
      );
    const encode = (text: string) => (encodingType === "url" ? encodeURIComponent(text) : text);
    const prefix = query.prefix ?? "";
    const delimiter = query.delimiter === "" ? undefined : query.delimiter;
    const maxKeys = maxKeysOf(query);
    const token = query["continuation-token"];
    const after = v2
      ? token !== undefined
        ? decodeToken(token)
        : (query["start-after"] ?? "")
      : (query.marker ?? "");
    const listing = store.list(bucket, { prefix, delimiter, after, maxKeys });
    const contents = listing.objects.map(({ key, info }) => ({
      Key: encode(key),
      LastModified: new Date(info.modifiedMs).toISOString(),
      ETag: `"${info.etag}"`,
      Size: info.size,
      StorageClass: "STANDARD",
    }));
    const common = listing.commonPrefixes.map((p) => ({ Prefix: encode(p) }));
    const next = listing.isTruncated ? listing.last : undefined;
    return xml({
      ListBucketResult: {
        "@_xmlns": NAMESPACE,
        Name: bucket,
        Prefix: encode(prefix),
        ...(delimiter !== undefined ? { Delimiter: encode(delimiter) } : {}),
        MaxKeys: maxKeys,
        ...(encodingType ? { EncodingType: encodingType } : {}),
        IsTruncated: listing.isTruncated,
        ...(v2
          ? {
              KeyCount: contents.length + common.length,
              ...(token !== undefined ? { ContinuationToken: token } : {}),
              ...(next !== undefined
                ? { NextContinuationToken: Buffer.from(next).toString("base64url") }
                : {}),
              ...(query["start-after"] !== undefined ? { StartAfter: encode(query["start-after"]) } : {}),
            }
          : {
              Marker: encode(query.marker ?? ""),
              ...(next !== undefined && delimiter !== undefined ? { NextMarker: encode(next) } : {}),
            }),
        Contents: contents,
        CommonPrefixes: common,
      },
    });
  }

  // ---- object level

  const objectHandlers = {
    PUT: async (request: FastifyRequest, reply: FastifyReply) => {
      const { bucket, key } = paramsOf(request);
      const query = request.query as Query;
      notImplemented(query, OBJECT_SUBRESOURCES);
      if (query.uploadId !== undefined) {
        if (header(request, "x-amz-copy-source") !== undefined)
          throw new S3ApiError("NotImplemented", 501, "UploadPartCopy is not implemented by the local S3");
        const { body, expectedSize } = uploadOf(request);
        const etag = await store.putPart(query.uploadId, bucket, key, Number(query.partNumber), body, {
          expectedSize,
          contentMd5: header(request, "content-md5"),
        });
        return reply.header("etag", `"${etag}"`).send();
      }
      const copySource = header(request, "x-amz-copy-source");
      if (copySource !== undefined) {
        const path = decodeURIComponent(copySource.split("?", 1)[0] ?? "").replace(/^\//, "");
        const slash = path.indexOf("/");
        if (slash < 1)
          throw new S3ApiError(
            "InvalidArgument",
            400,
            `x-amz-copy-source must be bucket/key (got ${JSON.stringify(copySource)})`,
          );
        const replace =
          header(request, "x-amz-metadata-directive") === "REPLACE" ? writeOptionsOf(request) : undefined;
        await readSmallBody(request);
        const info = await store.copy(
          { bucket: path.slice(0, slash), key: path.slice(slash + 1) },
          bucket,
          key,
          replace,
        );
        return reply.header("content-type", "application/xml").send(
          xml({
            CopyObjectResult: {
              "@_xmlns": NAMESPACE,
              LastModified: new Date(info.modifiedMs).toISOString(),
              ETag: `"${info.etag}"`,
            },
          }),
        );
      }
      const ifNoneMatch = conditionalWrite(request);
      const { body, expectedSize } = uploadOf(request);
      const info = await store.put(bucket, key, body, {
        ...writeOptionsOf(request),
        ifNoneMatch,
        expectedSize,
        contentMd5: header(request, "content-md5"),
      });
      return reply.header("etag", `"${info.etag}"`).send();
    },
    GET: async (request: FastifyRequest, reply: FastifyReply) => {
      const { bucket, key } = paramsOf(request);
      notImplemented(request.query as Query, OBJECT_SUBRESOURCES);
      const head = store.head(bucket, key);
      const condition = readConditions(request, head);
      if (condition === 304) return reply.status(304).header("etag", `"${head.etag}"`).send();
      if (condition === 412)
        throw new S3ApiError(
          "PreconditionFailed",
          412,
          "At least one of the pre-conditions you specified did not hold",
        );
      const range = parseRange(header(request, "range"), head.size);
      if (range === "unsatisfiable") {
        reply.header("content-range", `bytes */${head.size}`);
        throw new S3ApiError("InvalidRange", 416, "The requested range is not satisfiable");
      }
      const { info, body } = await store.read(bucket, key, range);
      objectHeaders(reply, info);
      if (range) {
        reply
          .status(206)
          .header("content-range", `bytes ${range.start}-${range.end}/${info.size}`)
          .header("content-length", range.end - range.start + 1);
      } else reply.header("content-length", info.size);
      return reply.send(body);
    },
    HEAD: async (request: FastifyRequest, reply: FastifyReply) => {
      const { bucket, key } = paramsOf(request);
      const info = store.head(bucket, key);
      const condition = readConditions(request, info);
      if (condition !== undefined) return reply.status(condition).send();
      objectHeaders(reply, info);
      return reply.header("content-length", info.size).send();
    },
    DELETE: async (request: FastifyRequest, reply: FastifyReply) => {
      const { bucket, key } = paramsOf(request);
      const query = request.query as Query;
      notImplemented(query, OBJECT_SUBRESOURCES);
      if (query.uploadId !== undefined) await store.abortUpload(query.uploadId, bucket, key);
      else await store.delete(bucket, key);
      return reply.status(204).send();
    },
    POST: async (request: FastifyRequest, reply: FastifyReply) => {
      const { bucket, key } = paramsOf(request);
      const query = request.query as Query;
      if ("uploads" in query) {
        await readSmallBody(request);
        const uploadId = store.createUpload(bucket, key, writeOptionsOf(request));
        return reply.header("content-type", "application/xml").send(
          xml({
            InitiateMultipartUploadResult: {
              "@_xmlns": NAMESPACE,
              Bucket: bucket,
              Key: key,
              UploadId: uploadId,
            },
          }),
        );
      }
      if (query.uploadId !== undefined) {
        const ifNoneMatch = conditionalWrite(request);
        const { CompleteMultipartUpload } = await parseXmlBody(
          request,
          CompleteRequest,
          "CompleteMultipartUpload",
        );
        const parts = CompleteMultipartUpload.Part.map((p) => ({ part: Number(p.PartNumber), etag: p.ETag }));
        const info = await store.completeUpload(query.uploadId, bucket, key, parts, ifNoneMatch);
        return reply.header("content-type", "application/xml").send(
          xml({
            CompleteMultipartUploadResult: {
              "@_xmlns": NAMESPACE,
              Location: `/${bucket}/${key}`,
              Bucket: bucket,
              Key: key,
              ETag: `"${info.etag}"`,
            },
          }),
        );
      }
      throw new S3ApiError("NotImplemented", 501, "POST on an object takes ?uploads or ?uploadId");
    },
  };

  for (const method of ["PUT", "HEAD", "GET", "DELETE", "POST"] as const) {
    app.route({ method, url: "/:bucket", exposeHeadRoute: false, handler: bucketHandlers[method] });
    // `/:bucket/` (an empty key) is the bucket itself: the SDK adds the slash to some calls.
    app.route({
      method,
      url: "/:bucket/*",
      exposeHeadRoute: false,
      handler: (request, reply) =>
        paramsOf(request).key === ""
          ? bucketHandlers[method](request, reply)
          : objectHandlers[method](request, reply),
    });
  }
  return app;
}
