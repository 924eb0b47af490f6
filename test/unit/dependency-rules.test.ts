/**
 * The folder rules (.dependency-cruiser.cjs) catch what they are for: `npm run check` runs them
 * on src/ and infra/; here they run on small trees that break them, and one that keeps them.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DEPCRUISE = join(ROOT, "node_modules/.bin/depcruise");

/** Writes `files` into a fresh folder and runs the project's rules on its src/; returns the broken rules. */
async function brokenRules(dir: string, files: Record<string, string>): Promise<string[]> {
  await writeFile(
    join(dir, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { allowImportingTsExtensions: true } }),
  );
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  const run = promisify(execFile)(
    DEPCRUISE,
    ["src", "--config", join(ROOT, ".dependency-cruiser.cjs"), "--output-type", "json"],
    { cwd: dir, maxBuffer: 16 * 1024 * 1024 },
  );
  // depcruise exits with the number of errors: its JSON is on stdout either way.
  const { stdout } = await run.catch((error: { stdout: string }) => error);
  const result = JSON.parse(stdout) as { summary: { violations: Array<{ rule: { name: string } }> } };
  return [...new Set(result.summary.violations.map((violation) => violation.rule.name))].sort();
}

describe("dependency rules", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("fail on a folder cycle, on the core importing an adapter or doing I/O, and on the web server importing the dashboard", async () => {
    dir = await mkdtemp(join(tmpdir(), "ticklake-rules-"));
    const broken = await brokenRules(dir, {
      "src/core/price.ts":
        'import { store } from "../aws/store.ts";\nimport "node:fs";\nexport const price = store;\n',
      "src/aws/store.ts":
        'import { price } from "../core/price.ts";\nexport const store = 1;\nexport const again = price;\n',
      "src/webserver/app.ts": 'import { page } from "../dashboard/page.ts";\nexport const app = page;\n',
      "src/dashboard/page.ts": "export const page = 1;\n",
    });
    expect(broken).toEqual([
      "core-does-no-io",
      "core-imports-no-adapter",
      "no-folder-cycle",
      "no-module-cycle",
      "webserver-knows-no-caller",
    ]);
  });

  it("pass a tree whose folders depend one way", async () => {
    dir = await mkdtemp(join(tmpdir(), "ticklake-rules-"));
    const broken = await brokenRules(dir, {
      "src/core/price.ts": "export const price = 1;\n",
      "src/aws/store.ts": 'import { price } from "../core/price.ts";\nexport const store = price;\n',
      "src/webserver/app.ts": 'import { store } from "../aws/store.ts";\nexport const app = store;\n',
      "src/cli/up.ts":
        'import { app } from "../webserver/app.ts";\nimport { page } from "../dashboard/page.ts";\nexport const up = [app, page];\n',
      "src/dashboard/page.ts": 'import { price } from "../core/price.ts";\nexport const page = price;\n',
    });
    expect(broken).toEqual([]);
  });
});
