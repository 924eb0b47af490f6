/**
 * `npm test`'s first step: what it installs, and the message it stops with where it cannot.
 * The last test runs the real script as an unprivileged user.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type MachineFacts, planInstall, REQUIREMENTS_OF_TESTS } from "../setup/prerequisites.ts";

const machine = (overrides: Partial<MachineFacts> & { missing?: string[] }): MachineFacts => ({
  root: true,
  debian: true,
  pythonVenv: true,
  present: (path) => !(overrides.missing ?? []).includes(path),
  ...overrides,
});
const awsCli = REQUIREMENTS_OF_TESTS[0]?.path ?? "";
const chromium = REQUIREMENTS_OF_TESTS[1]?.path ?? "";

describe("planInstall", () => {
  it("installs nothing when every tool is there", () => {
    expect(planInstall(machine({}))).toEqual({ kind: "ready", aptPackages: [] });
  });

  it("installs exactly the missing Debian packages as root on Debian", () => {
    // GIVEN a fresh Debian machine with the AWS CLI, Chromium and venv missing
    const facts = machine({ missing: [awsCli, chromium], pythonVenv: false });
    // WHEN / THEN
    expect(planInstall(facts)).toEqual({
      kind: "ready",
      aptPackages: ["awscli", "chromium", "python3", "python3-venv"],
    });
  });

  it("without root, stops with one message naming each missing tool and its install command", () => {
    const plan = planInstall(machine({ root: false, missing: [chromium], pythonVenv: false }));
    expect(plan.kind).toBe("blocked");
    const message = plan.kind === "blocked" ? plan.message : "";
    expect(message).toContain("this is not root");
    expect(message).toContain(`Chromium (${chromium}): apt-get install chromium`);
    expect(message).toContain("Python 3 with venv: apt-get install python3 python3-venv");
    expect(message).toContain("sudo apt-get install -y chromium python3 python3-venv");
    expect(message).not.toContain("AWS CLI");
  });

  it("off Debian, says apt-get is not there even as root", () => {
    const plan = planInstall(machine({ debian: false, missing: [awsCli] }));
    expect(plan).toMatchObject({ kind: "blocked" });
    expect(plan.kind === "blocked" && plan.message).toContain("this is not Debian");
  });

  it("without root but with every tool present, is ready", () => {
    expect(planInstall(machine({ root: false, debian: false }))).toEqual({ kind: "ready", aptPackages: [] });
  });
});

describe("the prerequisites script", () => {
  it("run by an unprivileged user with a tool missing, exits 1 with the message before doing anything", () => {
    // GIVEN the script as `nobody`, with the AWS CLI pointed at a path that does not exist
    const script = fileURLToPath(new URL("../setup/prerequisites.ts", import.meta.url));
    const setpriv = "/usr/bin/setpriv";
    expect(existsSync(setpriv), "util-linux's setpriv runs the script as another user").toBe(true);
    // WHEN
    const result = spawnSync(
      setpriv,
      ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "--import", "tsx", script],
      {
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "", TICKLAKE_AWS_CLI: "/nonexistent/aws", HOME: "/tmp" },
        timeout: 30_000,
      },
    );
    // THEN
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("ticklake: npm test needs tools that npm does not install");
    expect(result.stderr).toContain("AWS CLI (/nonexistent/aws): apt-get install awscli");
    expect(result.stdout).not.toContain("installing");
  });
});
