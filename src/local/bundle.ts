/**
 * The local runtime's code as esbuild bundles, built once and cached, for the processes and
 * threads it starts: each local Lambda environment loads its function as one CommonJS bundle,
 * as Lambda loads the one the CDK builds (infra/function.ts), and the emulator host starts from
 * one bundle of ticklake's own modules.
 *
 * Loading the TypeScript sources through tsx took 2-3 s of CPU per environment (hundreds of
 * modules resolved and transformed one by one): every cold start, every restart, and the
 * tests start hundreds. A bundle loads in a fraction of that. A bundle is rebuilt when one of
 * its inputs changed (the size or modification time of any file esbuild read), so editing a
 * source file needs no build step. Old bundles stay in the cache until `node_modules` goes.
 * docs/decisions.md says why.
 */
import { createHash, randomUUID } from "node:crypto";
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build, type Metafile, stop } from "esbuild";

const require = createRequire(import.meta.url);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** Under node_modules, so that a bundle's external packages resolve from the project's. */
const CACHE = join(ROOT, "node_modules", ".cache", "ticklake", "bundles");

/** Files a bundled package reads from beside itself at run time (`__dirname`), copied next to the bundle. */
const BESIDE_THE_BUNDLE = ["parquet-wasm/node/parquet_wasm_bg.wasm"];

export type BundleKind =
  /** A Lambda function: everything in one CommonJS file, as the CDK bundles it. */
  | "function"
  /** A Node.js process of ticklake's: its own modules bundled, packages loaded from node_modules. */
  | "process";

/** A bundle folder's record of what it was built from, in `current.json` beside it. */
interface Stamp {
  /** The folder, named by a hash of the inputs: a bundle's files never change once written. */
  folder: string;
  /** Every input esbuild read, with its size and modification time then. */
  inputs: Record<string, [number, number]>;
}

async function stampOf(path: string): Promise<[number, number] | undefined> {
  try {
    const { size, mtimeMs } = await stat(path);
    return [size, mtimeMs];
  } catch {
    return undefined;
  }
}

/** The folder `current.json` names, when none of its inputs changed since. */
async function currentFolder(pointer: string): Promise<string | undefined> {
  let stamp: Stamp;
  try {
    stamp = JSON.parse(await readFile(pointer, "utf8")) as Stamp;
  } catch {
    return undefined;
  }
  const checks = await Promise.all(
    Object.entries(stamp.inputs).map(async ([path, [size, mtimeMs]]) => {
      const now = await stampOf(path);
      return now !== undefined && now[0] === size && now[1] === mtimeMs;
    }),
  );
  return checks.every(Boolean) ? stamp.folder : undefined;
}

async function inputsOf(metafile: Metafile): Promise<Stamp["inputs"]> {
  const inputs: Stamp["inputs"] = {};
  for (const input of Object.keys(metafile.inputs)) {
    const path = resolve(ROOT, input);
    const now = await stampOf(path);
    if (now) inputs[path] = now;
  }
  return inputs;
}

/** esbuild builds in progress in this process. */
let building = 0;

/**
 * Runs `builds`, then, when no other build of this process is in progress, stops esbuild's
 * service process: it stays otherwise, holding the memory of the largest build (about 160 MB
 * after a function's bundle), for as long as the process runs, and a pipeline runs for hours.
 * The next build starts it again.
 */
async function withEsbuild<T>(builds: () => Promise<T>): Promise<T> {
  building++;
  try {
    return await builds();
  } finally {
    if (--building === 0) await stop();
  }
}

/** Built bundles of this process, by entry and kind: each checked against its inputs once. */
const built = new Map<string, Promise<URL>>();

/**
 * The bundle of `entry` (a file URL of a TypeScript or JavaScript module), built if it is
 * missing or older than one of its inputs. Safe when several processes ask at once: each
 * builds into a folder of its own and renames it into place.
 */
export function bundled(entry: URL, kind: BundleKind): Promise<URL> {
  const key = `${kind}:${entry.href}`;
  let bundle = built.get(key);
  if (!bundle) {
    bundle = currentBundle(entry, kind);
    built.set(key, bundle);
    bundle.catch(() => built.delete(key));
  }
  return bundle;
}

/** `bundled` without this process's memory: checks the cache's record against the inputs each time. */
export async function currentBundle(entry: URL, kind: BundleKind): Promise<URL> {
  const source = fileURLToPath(entry);
  const home = join(CACHE, createHash("sha256").update(`${kind}\0${source}`).digest("hex").slice(0, 16));
  const pointer = join(home, "current.json");
  const fileName = kind === "function" ? "index.cjs" : "index.mjs";
  const current = await currentFolder(pointer);
  if (current) return pathToFileURL(join(home, current, fileName));

  // Built aside, then renamed into a folder named by its inputs, then pointed at: a process
  // loading an earlier bundle, or building the same one at the same time, never sees a
  // half-written folder.
  const staging = join(home, `.staging-${process.pid}-${randomUUID()}`);
  await mkdir(staging, { recursive: true });
  try {
    const result = await withEsbuild(() =>
      build({
        absWorkingDir: ROOT, // the metafile's input paths are relative to it
        entryPoints: [source],
        outfile: join(staging, fileName),
        bundle: true,
        platform: "node",
        target: `node${process.versions.node.split(".")[0]}`,
        format: kind === "function" ? "cjs" : "esm",
        ...(kind === "process" ? { packages: "external" as const } : {}),
        metafile: true,
        logLevel: "silent",
      }),
    );
    if (kind === "function") {
      for (const file of BESIDE_THE_BUNDLE)
        await copyFile(require.resolve(file), join(staging, file.split("/").at(-1) ?? file));
    }
    const inputs = await inputsOf(result.metafile);
    const folder = createHash("sha256").update(JSON.stringify(inputs)).digest("hex").slice(0, 16);
    await rename(staging, join(home, folder)).catch((error: NodeJS.ErrnoException) => {
      // Another process built the same inputs first: the same bundle.
      if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error;
    });
    const written = join(home, `.current-${process.pid}-${randomUUID()}.json`);
    await writeFile(written, JSON.stringify({ folder, inputs } satisfies Stamp));
    await rename(written, pointer);
    return pathToFileURL(join(home, folder, fileName));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
