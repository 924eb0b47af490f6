/**
 * The web server image carries only what runs there (issue 16, 1i). No Docker engine runs here,
 * so this checks what the Dockerfile copies: the build context that `infra/web-server-image.ts`
 * makes at synth. GIVEN that context, THEN it holds the Dockerfile and one self-contained
 * bundle with no dev tool, emulator or DuckDB inside, AND the bundle, run by Node.js 24 (the
 * image's), serves the API and ships its logs to Kinesis.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWebServerImage } from "../../infra/web-server-image.ts";
import { validateRecord } from "../../src/core/events.ts";
import { resourceSpec } from "../../src/core/spec.ts";
import { functionEnv } from "../../src/local/pipeline.ts";
import { eventually, provisionedAws, tempStateDir } from "../support/local-aws.ts";
import { readStream } from "../support/stream.ts";
import { NODE_24 } from "../support/tools.ts";

const PACKAGE = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  dependencies: Record<string, string>;
};

/** What must never reach the image: the local AWS, the query engine, the CDK and the dev tools. */
const NOT_IN_IMAGE = [
  "@duckdb/",
  "kinesalite",
  "fauxqs",
  "leveldown",
  "aws-cdk",
  "aws-cdk-lib",
  "cdk-nag",
  "constructs",
  "esbuild",
  "tsx",
  "vitest",
  "parquet-wasm",
  "commander",
];

/** The npm packages a bundle's inputs come from, e.g. `fastify`, `@aws-sdk/client-kinesis`. */
function packagesOf(metafile: Metafile): Set<string> {
  const names = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match?.[1]) names.add(match[1]);
  }
  return names;
}

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

describe("the web server image's build context", () => {
  const spec = resourceSpec({ stage: "image" });
  const aws = provisionedAws("image");
  let context: Awaited<ReturnType<typeof tempStateDir>>;
  let image: Awaited<ReturnType<typeof buildWebServerImage>>;

  beforeAll(async () => {
    context = await tempStateDir();
    image = await buildWebServerImage(context.dir);
  }, 120_000);
  afterAll(() => context.remove());

  it("holds the Dockerfile and app/: two bundles, their source maps and the files they read, no node_modules install", () => {
    const files = filesUnder(image.directory);
    const top = new Set(files.map((file) => file.split("/")[0]));
    expect([...top].sort()).toEqual(["Dockerfile", "app"]);
    const app = files.filter((file) => file.startsWith("app/"));
    expect(app.filter((file) => !file.includes("/node_modules/"))).toEqual([
      "app/server.mjs",
      "app/server.mjs.map",
      "app/shipper-worker-entry.mjs",
      "app/shipper-worker-entry.mjs.map",
    ]);
    // The only files under node_modules/ are swagger-ui's static assets, which it reads from disk.
    const underNodeModules = app.filter((file) => file.includes("/node_modules/"));
    expect(underNodeModules.length).toBeGreaterThan(0);
    for (const file of underNodeModules)
      expect(file).toMatch(/^app\/node_modules\/@fastify\/swagger-ui\/static\//);
    expect(files.some((file) => file.endsWith("package.json") || file.endsWith(".node"))).toBe(false);

    const dockerfile = readFileSync(join(image.directory, "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/^FROM public\.ecr\.aws\/docker\/library\/node:24-slim$/m);
    expect(dockerfile.match(/^(COPY|ADD) .*$/gm)).toEqual(["COPY app/ ./"]);
    expect(dockerfile).not.toMatch(/^RUN /m);
  });

  it("bundles only production dependencies, none of the local AWS, DuckDB, the CDK or the dev tools", () => {
    const bundled = packagesOf(image.metafile);
    expect(bundled.has("fastify")).toBe(true);
    expect(bundled.has("@aws-sdk/client-kinesis")).toBe(true);
    const forbidden = [...bundled].filter((name) =>
      NOT_IN_IMAGE.some((no) => (no.endsWith("/") ? name.startsWith(no) : name === no)),
    );
    expect(forbidden).toEqual([]);
    // Every package inside is one the server's own imports reach (so a production dependency, or
    // one of theirs), and none of ticklake's own local-only, CLI or function code comes along.
    const sources = Object.keys(image.metafile.inputs).filter((input) => input.startsWith("src/"));
    expect(sources.filter((input) => /^src\/(local|cli|functions)\//.test(input))).toEqual([]);
    const direct = [...bundled].filter((name) => name in PACKAGE.dependencies);
    expect(direct.length).toBeGreaterThan(0);
  });

  describe("started on Node.js 24, as the image starts it", () => {
    let server: ChildProcess;
    let exited: Promise<number | null>;
    const lines: string[] = [];

    beforeAll(async () => {
      server = spawn(NODE_24, ["--enable-source-maps", join(image.directory, "app", "server.mjs")], {
        // Only what the task gets: its settings and credentials, nothing of this checkout.
        env: {
          ...functionEnv(aws.emulators.endpoints, {}),
          STREAM_NAME: spec.stream.name,
          PORT: "0",
          HOST: "127.0.0.1",
          TICKS_PER_SECOND: "0",
          METRICS_INTERVAL_MS: "1000",
          SPOOL_DIR: join(context.dir, "spool"),
          TRUST_PROXY_HOPS: "1",
        },
        cwd: join(image.directory, "app"),
        stdio: ["ignore", "pipe", "inherit"],
      });
      server.stdout
        ?.setEncoding("utf8")
        .on("data", (chunk: string) => lines.push(...chunk.trim().split("\n")));
      exited = new Promise((resolve) => server.once("exit", resolve));
    });
    afterAll(() => {
      if (server.exitCode === null) server.kill("SIGKILL");
    });

    it("serves the API and its docs, ships each response's log to the stream, and stops cleanly on SIGTERM", async () => {
      const port = await eventually(
        async () => lines.map((l) => /on port (\d+)/.exec(l)?.[1]).find((p) => p !== undefined),
        30_000,
        "the bundled server to listen",
      );
      const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`);
      expect(await get("/health").then((r) => r.json())).toEqual({ status: "ok" });
      for (let i = 0; i < 5; i++) expect((await get("/v1/stocks/MSFT")).status).toBe(200);
      // swagger-ui's page and assets come from the files copied beside the bundle.
      expect((await get("/docs/static/swagger-ui.css")).status).toBe(200);
      await eventually(
        async () => lines.find((l) => l.includes('"message":"shipper"') && JSON.parse(l).shipper.sent >= 10),
        15_000,
        "the shipper to send 10 records",
      );
      server.kill("SIGTERM");
      expect(await exited).toBe(0);

      const types: string[] = [];
      for (const record of (await readStream(aws.clients.kinesis, spec.stream.name)).records) {
        const verdict = validateRecord(Buffer.from(record.data).toString());
        if (verdict.ok) types.push(verdict.event.type);
      }
      expect(types.filter((t) => t === "stock.quote")).toHaveLength(5);
    });
  });
});
