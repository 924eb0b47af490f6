/**
 * Where the tests find the tools npm does not install (`test/setup/prerequisites.ts` installs
 * them): Debian's AWS CLI and Chromium, and the pinned Python checkers in `.venv/`.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Debian's awscli: an independent client that proves the endpoints speak AWS. */
export const AWS_CLI = process.env.TICKLAKE_AWS_CLI ?? "/usr/bin/aws";

/** Debian's Chromium, driven by playwright-core (which brings no browser of its own). */
export const CHROMIUM = process.env.TICKLAKE_CHROMIUM ?? "/usr/bin/chromium";

/** The git-ignored virtual environment holding requirements-test.txt. */
export const PYTHON_VENV = fileURLToPath(new URL("../../.venv", import.meta.url));

/** A program installed in the virtual environment, e.g. `cfn-lint` or `python`. */
export const venvTool = (name: string): string => join(PYTHON_VENV, "bin", name);
