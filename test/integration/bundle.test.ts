/**
 * The local runtime's bundles (src/local/bundle.ts): built with esbuild on first use, reused
 * while their inputs are unchanged, rebuilt into a new folder when one changes, and safe when
 * several processes build the same bundle at once.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { currentBundle } from "../../src/local/bundle.ts";

const require = createRequire(import.meta.url);
/** Loads a function bundle as the function worker does, fresh each time. */
function load(bundle: URL): { answer: string } {
  const path = fileURLToPath(bundle);
  delete require.cache[path];
  return require(path) as { answer: string };
}

describe("local bundles", () => {
  let dir: string;
  let entry: URL;
  const writeSources = async (answer: string) => {
    await writeFile(join(dir, "answer.ts"), `export const answer: string = ${JSON.stringify(answer)};\n`);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ticklake-bundle-"));
    await writeFile(join(dir, "entry.ts"), 'export { answer } from "./answer.ts";\n');
    await writeSources("first");
    entry = pathToFileURL(join(dir, "entry.ts"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("builds a function's bundle once and reuses it while its inputs are unchanged", async () => {
    // WHEN the same entry is bundled twice, the second time concurrently with a third
    const first = await currentBundle(entry, "function");
    const [second, third] = await Promise.all([
      currentBundle(entry, "function"),
      currentBundle(entry, "function"),
    ]);
    // THEN one bundle, CommonJS with the module's exports
    expect(second.href).toBe(first.href);
    expect(third.href).toBe(first.href);
    expect(first.pathname).toMatch(/\/index\.cjs$/);
    expect(load(first).answer).toBe("first");
  });

  it("rebuilds into a new folder when an imported file changes, leaving the old bundle loadable", async () => {
    const before = await currentBundle(entry, "function");
    // WHEN a module the entry imports changes
    await writeSources("second, and longer");
    const after = await currentBundle(entry, "function");
    // THEN a new bundle with the change; the old one is still there for whoever loads it
    expect(after.href).not.toBe(before.href);
    expect(load(after).answer).toBe("second, and longer");
    expect(load(before).answer).toBe("first");
  });

  it("builds every concurrent request of a new bundle into a loadable one", async () => {
    await writeSources("third");
    // WHEN several builders ask at once for a bundle not yet in the cache
    const bundles = await Promise.all(Array.from({ length: 4 }, () => currentBundle(entry, "function")));
    // THEN each gets a complete bundle of the current sources
    for (const bundle of bundles) expect(load(bundle).answer).toBe("third");
  });

  it("leaves no esbuild process running once its builds are done, and builds again after", async () => {
    // WHEN bundles are built, concurrently, and then once more after they all finished
    await writeSources("fourth");
    await Promise.all([currentBundle(entry, "function"), currentBundle(entry, "process")]);
    const afterConcurrent = await esbuildChildren();
    await writeSources("fifth");
    const last = await currentBundle(entry, "function");
    // THEN no esbuild service outlives the builds, and a build after a stop works
    expect(afterConcurrent).toEqual([]);
    expect(await esbuildChildren()).toEqual([]);
    expect(load(last).answer).toBe("fifth");
  });
});

/** This process's child processes running esbuild, by pid (Linux's /proc). */
async function esbuildChildren(): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(join("/proc", name, "stat"), "utf8").catch(() => "");
    // pid (comm) state ppid …; comm may hold spaces and parentheses, so split after the last ")"
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (comm === "esbuild" && ppid === process.pid) pids.push(Number(name));
  }
  return pids;
}
