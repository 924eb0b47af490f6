/**
 * Makes fauxqs's in-memory S3 behave like the real thing where ticklake depends on it:
 *  - objects and buckets persist on disk across restarts (write-through, restored at start);
 *  - `PUT` with `If-None-Match: *` is conditional: 412 when the key exists, 409 while another
 *    conditional write of the same key is in flight, as S3 answers.
 * It works through Fastify hooks and `inject`, fauxqs's public API, not its internals.
 * EMULATOR-SPECIFIC: real S3 does all of this itself.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

interface StoredMeta {
  bucket: string;
  key: string;
  headers: Record<string, string>;
}

const OBJECT_ROUTE = "/:bucket/*";
const BUCKET_ROUTE = "/:bucket";

function s3Error(reply: FastifyReply, status: number, code: string, message: string, key: string) {
  return reply
    .status(status)
    .header("content-type", "application/xml")
    .send(
      `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><Key>${key
        .replaceAll("&", "&amp;")
        .replaceAll("<", "&lt;")}</Key></Error>`,
    );
}

function paramsOf(request: FastifyRequest): { bucket: string; key: string } {
  const params = request.params as { bucket?: string; "*"?: string };
  return { bucket: params.bucket ?? "", key: params["*"] ?? "" };
}

function pathOf(request: FastifyRequest): string {
  const url = request.url;
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}

function query(request: FastifyRequest): Record<string, unknown> {
  return (request.query ?? {}) as Record<string, unknown>;
}

export class S3Persistence {
  readonly #root: string;
  readonly #app: FastifyInstance;
  readonly #reserved = new Set<string>();
  #restoring = false;

  constructor(app: FastifyInstance, root: string) {
    this.#app = app;
    this.#root = root;
  }

  #fileBase(bucket: string, key: string): string {
    const digest = createHash("sha256").update(key).digest("hex");
    return join(this.#root, bucket, digest);
  }

  /** Registers the hooks; call before the app is ready. */
  install(): void {
    const reservations = new WeakMap<FastifyRequest, string>();
    this.#app.addHook("preHandler", async (request, reply) => {
      if (request.method !== "PUT" || request.routeOptions.url !== OBJECT_ROUTE) return;
      if (request.headers["if-none-match"] !== "*") return;
      const { bucket, key } = paramsOf(request);
      if (key === "") return;
      const id = `${bucket}/${key}`;
      if (this.#reserved.has(id)) {
        return s3Error(
          reply,
          409,
          "ConditionalRequestConflict",
          "A conflicting conditional operation is in progress",
          key,
        );
      }
      const head = await this.#app.inject({ method: "HEAD", url: pathOf(request) });
      if (head.statusCode === 200) {
        return s3Error(
          reply,
          412,
          "PreconditionFailed",
          "At least one of the pre-conditions you specified did not hold",
          key,
        );
      }
      this.#reserved.add(id);
      reservations.set(request, id);
    });
    // Released once the object is stored (below) or, for failed writes, when the response ends.
    const release = async (request: FastifyRequest) => {
      const id = reservations.get(request);
      if (id !== undefined) this.#reserved.delete(id);
    };
    this.#app.addHook("onResponse", release);
    this.#app.addHook("onRequestAbort", release);

    // onSend runs before the response leaves: the client hears "200" only once it is on disk.
    // fauxqs's handlers make Fastify run onSend twice per response, so both share one sync.
    const syncs = new WeakMap<FastifyRequest, Promise<void>>();
    this.#app.addHook("onSend", async (request, reply, payload) => {
      if (reply.statusCode >= 300 || this.#restoring) return payload;
      let sync = syncs.get(request);
      if (!sync) {
        sync = this.#persist(request);
        syncs.set(request, sync);
      }
      await sync;
      await release(request);
      return payload;
    });
  }

  async #persist(request: FastifyRequest): Promise<void> {
    const route = request.routeOptions.url;
    const { bucket, key } = paramsOf(request);
    const q = query(request);
    if (route === OBJECT_ROUTE && key !== "") {
      // Part uploads are not objects yet; a DELETE with uploadId aborts an upload.
      const put = request.method === "PUT" && q.partNumber === undefined;
      const remove = request.method === "DELETE" && q.uploadId === undefined;
      const complete = request.method === "POST" && q.uploadId !== undefined;
      if (put || remove || complete) await this.#syncObject(bucket, key, pathOf(request));
    } else if (route === BUCKET_ROUTE || route === OBJECT_ROUTE) {
      if (request.method === "PUT") await mkdir(join(this.#root, bucket), { recursive: true });
      if (request.method === "DELETE") await rm(join(this.#root, bucket), { recursive: true, force: true });
      if (request.method === "POST" && q.delete !== undefined) await this.#reconcileBucket(bucket);
    }
  }

  /** Copies the object's current state (present or gone) from the server to disk. */
  async #syncObject(bucket: string, key: string, path: string): Promise<void> {
    const base = this.#fileBase(bucket, key);
    const response = await this.#app.inject({ method: "GET", url: path });
    if (response.statusCode === 404) {
      await rm(`${base}.bin`, { force: true });
      await rm(`${base}.json`, { force: true });
      return;
    }
    if (response.statusCode !== 200) {
      throw new Error(`S3 persistence could not read back ${bucket}/${key}: HTTP ${response.statusCode}`);
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (typeof value !== "string") continue;
      if (name === "content-type" || name === "content-encoding" || name.startsWith("x-amz-meta-")) {
        headers[name] = value;
      }
    }
    const meta: StoredMeta = { bucket, key, headers };
    await mkdir(join(this.#root, bucket), { recursive: true });
    // Data first, then metadata, each via rename: a crash leaves either the old state or the new.
    await writeFile(`${base}.bin.tmp`, response.rawPayload);
    await rename(`${base}.bin.tmp`, `${base}.bin`);
    await writeFile(`${base}.json.tmp`, JSON.stringify(meta));
    await rename(`${base}.json.tmp`, `${base}.json`);
  }

  async #reconcileBucket(bucket: string): Promise<void> {
    for (const meta of await this.#storedMetas(bucket)) {
      await this.#syncObject(bucket, meta.key, `/${bucket}/${encodeKey(meta.key)}`);
    }
  }

  async #storedMetas(bucket: string): Promise<StoredMeta[]> {
    const dir = join(this.#root, bucket);
    const names = await readdir(dir).catch(() => [] as string[]);
    const metas: StoredMeta[] = [];
    for (const name of names.filter((n) => n.endsWith(".json"))) {
      metas.push(JSON.parse(await readFile(join(dir, name), "utf8")) as StoredMeta);
    }
    return metas;
  }

  /** Recreates every stored bucket and object in the server. Returns the object count. */
  async restore(): Promise<number> {
    await mkdir(this.#root, { recursive: true });
    this.#restoring = true;
    try {
      return await this.#restoreAll();
    } finally {
      this.#restoring = false;
    }
  }

  async #restoreAll(): Promise<number> {
    let objects = 0;
    for (const entry of await readdir(this.#root, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const bucket = entry.name;
      await this.#app.inject({ method: "PUT", url: `/${bucket}` });
      for (const meta of await this.#storedMetas(bucket)) {
        const body = await readFile(`${this.#fileBase(bucket, meta.key)}.bin`).catch(() => undefined);
        if (!body) continue;
        const response = await this.#app.inject({
          method: "PUT",
          url: `/${bucket}/${encodeKey(meta.key)}`,
          headers: {
            ...meta.headers,
            "content-type": meta.headers["content-type"] ?? "application/octet-stream",
          },
          payload: body,
        });
        if (response.statusCode !== 200) {
          throw new Error(
            `S3 persistence could not restore ${bucket}/${meta.key}: HTTP ${response.statusCode}`,
          );
        }
        objects++;
      }
    }
    return objects;
  }
}

/** Percent-encodes each path segment of a key, keeping the slashes. */
export function encodeKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}
