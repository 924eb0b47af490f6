/**
 * The web server image's build context, made at synth: the Dockerfile and `app/`, an esbuild
 * bundle of the server and of its shipper worker's entry with every dependency inside, plus the
 * files those dependencies read from disk at run time. The image therefore carries only what
 * runs there (issue 16, 1i): no node_modules, no DuckDB, no emulators, no CDK. No Docker engine
 * is needed to check it: test/infra/web-server-image.test.ts builds this context, reads the
 * bundle's inputs and starts the server from it.
 *
 *   node --import tsx infra/web-server-image.ts OUT_DIR     builds the context into OUT_DIR
 *
 * (The construct runs it as a child process: esbuild's plugins need its asynchronous API, and
 * a construct is built synchronously.)
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Metafile, Plugin } from "esbuild";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SELF = fileURLToPath(import.meta.url);

/** The bundles' entry points, named as the image runs them (`shipper-worker.ts` starts the second by its file name). */
const ENTRY_POINTS = {
  server: join(ROOT, "src/webserver/server.ts"),
  "shipper-worker-entry": join(ROOT, "src/aws/shipper-worker-entry.mjs"),
};

/**
 * Folders that bundled code reads from disk at run time, relative to the root, copied to the
 * same place under `app/`: `@fastify/swagger-ui` serves its static files (from `__dirname`,
 * which the plugin below keeps pointing at its own folder). The dashboard is not in the image:
 * only `ticklake up` registers it.
 */
const RUNTIME_FILES: ReadonlyArray<{ from: string; to: string }> = [
  { from: "node_modules/@fastify/swagger-ui/static", to: "node_modules/@fastify/swagger-ui/static" },
];

/** Packages whose modules locate their files through `__dirname`. */
const DIRNAME_PACKAGES = /[\\/]node_modules[\\/]@fastify[\\/]swagger-ui[\\/].*\.js$/;

/** What one build made. */
export interface WebServerImage {
  /** The Docker build context: `Dockerfile` and `app/`. */
  directory: string;
  /** esbuild's record of every input file bundled, per output. */
  metafile: Metafile;
}

/**
 * Gives the CommonJS modules of DIRNAME_PACKAGES the `__dirname` and `__filename` they had
 * under node_modules, now relative to the bundle (`app/`), where RUNTIME_FILES puts their files.
 */
const ownDirname: Plugin = {
  name: "own-dirname",
  setup(build) {
    build.onLoad({ filter: DIRNAME_PACKAGES }, (args) => {
      const file = relative(ROOT, args.path);
      const prelude = `var __filename = __appPath(${JSON.stringify(file)}), __dirname = __appPath(${JSON.stringify(dirname(file))});`;
      return { contents: `${prelude}\n${readFileSync(args.path, "utf8")}`, loader: "js" };
    });
  },
};

/** tsx registers a TypeScript loader in the worker; the bundle has no TypeScript left to load. */
const noTypeScriptLoader: Plugin = {
  name: "no-typescript-loader",
  setup(build) {
    build.onResolve({ filter: /^tsx\/esm\/api$/ }, () => ({ path: "tsx-esm-api", namespace: "stub" }));
    build.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
      contents: "export const register = () => () => {};",
      loader: "js",
    }));
  },
};

/** Builds the context into `outDir` (emptied first). */
export async function buildWebServerImage(outDir: string): Promise<WebServerImage> {
  const { build } = await import("esbuild");
  rmSync(outDir, { recursive: true, force: true });
  const app = join(outDir, "app");
  mkdirSync(app, { recursive: true });
  const result = await build({
    entryPoints: ENTRY_POINTS,
    outdir: app,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    minify: true,
    sourcemap: true,
    metafile: true,
    logLevel: "warning",
    absWorkingDir: ROOT,
    plugins: [ownDirname, noTypeScriptLoader],
    // CommonJS modules inside an ES module bundle still call require() and read __dirname.
    banner: {
      js: [
        'import { createRequire as __createRequire } from "node:module";',
        'import { fileURLToPath as __fileURLToPath } from "node:url";',
        'import { dirname as __pathDirname, join as __pathJoin } from "node:path";',
        "const require = __createRequire(import.meta.url);",
        "const __appDir = __pathDirname(__fileURLToPath(import.meta.url));",
        "const __appPath = (path) => __pathJoin(__appDir, path);",
      ].join("\n"),
    },
  });
  // Source maps name their sources relative to the root, not to this (temporary) folder, so the
  // same sources make the same context, hence the same image asset hash.
  for (const output of Object.keys(result.metafile.outputs).filter((path) => path.endsWith(".map"))) {
    const file = join(ROOT, output);
    const map = JSON.parse(readFileSync(file, "utf8")) as { sources: string[] };
    map.sources = map.sources.map((path) =>
      path.includes(":") ? (path.split(":").at(-1) ?? path) : relative(ROOT, join(dirname(file), path)),
    );
    writeFileSync(file, JSON.stringify(map));
  }
  for (const { from, to } of RUNTIME_FILES) cpSync(join(ROOT, from), join(app, to), { recursive: true });
  writeFileSync(join(outDir, "Dockerfile"), readFileSync(join(ROOT, "infra/web-server/Dockerfile")));
  return { directory: outDir, metafile: result.metafile };
}

let built: string | undefined;

/**
 * The context, built synchronously in a child process the first time a process asks (the
 * construct, at synth), in a temporary folder removed when the process exits; later stacks of
 * the same process (tests synthesize many) reuse it: the sources do not change under a synth.
 */
export function webServerImageDirectory(): string {
  if (built) return built;
  const outDir = mkdtempSync(join(tmpdir(), "ticklake-web-server-image-"));
  process.once("exit", () => rmSync(outDir, { recursive: true, force: true }));
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  execFileSync(process.execPath, ["--import", tsx, SELF, outDir], { stdio: ["ignore", "ignore", "inherit"] });
  built = outDir;
  return outDir;
}

if (process.argv[1] === SELF) {
  const [outDir] = process.argv.slice(2);
  if (!outDir) {
    process.stderr.write("usage: node --import tsx infra/web-server-image.ts OUT_DIR\n");
    process.exit(2);
  }
  await buildWebServerImage(outDir);
}
