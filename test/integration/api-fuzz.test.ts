/**
 * The market API checked by an independent fuzzer (DESIGN §10): schemathesis, pinned in
 * requirements-test.txt, reads the server's own OpenAPI description and sends what it
 * generates from it, valid and not, to the real server over HTTP. Every operation must answer
 * without a 5xx, with a documented status, a documented content type and a body that conforms
 * to its schema; it must reject what its description rules out and accept what it allows; and
 * the description's links (a quote to its bars and back) are followed as stateful sequences.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Envelope, validateRecord } from "../../src/core/events.ts";
import { build, type MarketApp } from "../../src/webserver/app.ts";
import { MarketFeed } from "../../src/webserver/feed.ts";
import { venvTool } from "../support/tools.ts";

const SOURCE = { service: "fuzz", instance: "1" };
/** Examples per operation and phase: enough to reach every parameter's edges, well under a minute. */
const EXAMPLES_PER_OPERATION = 20;

describe("market API under an independent fuzzer (schemathesis)", () => {
  let app: MarketApp;
  let url: string;
  let workDir: string;
  const logged: Envelope[] = [];

  beforeAll(async () => {
    const feed = new MarketFeed({ seed: 3, source: SOURCE, sink: { ship: (e) => logged.push(e) } });
    // Some minutes of market: news to page through and bars to read.
    for (let i = 0; i < 300; i++) feed.tick(false);
    // The fuzzer is one client sending hundreds of requests a minute.
    app = await build({ feed, source: SOURCE, rateLimitPerMinute: 1_000_000 });
    url = await app.listen({ port: 0, host: "127.0.0.1" });
    workDir = await mkdtemp(join(tmpdir(), "ticklake-fuzz-"));
  });
  afterAll(async () => {
    await app.close();
    await rm(workDir, { recursive: true, force: true });
  });

  it("finds no failure in any operation, links followed", async () => {
    const operations = Object.keys((await app.inject({ url: "/docs/json" })).json().paths).length;
    const run = await promisify(execFile)(
      venvTool("st"),
      [
        "run",
        `${url}/docs/json`,
        "--checks",
        "all",
        // A method a path does not have is answered 404 NOT_FOUND, as the API always has
        // (test/unit/webserver-errors.test.ts pins it); this check wants 405.
        "--exclude-checks",
        "unsupported_method",
        // The live stream's body never ends: a fuzzer waits for it until its timeout. Its
        // parameter's 400s are pinned in test/unit/webserver-errors.test.ts, and its events
        // are read in test/unit/webserver.test.ts.
        "--exclude-path",
        "/v1/stream",
        "--max-examples",
        String(EXAMPLES_PER_OPERATION),
        // The same cases every run: a failure here reproduces.
        "--seed",
        "20261126",
        "--generation-database",
        "none",
        "--workers",
        "1",
        "--no-color",
      ],
      { cwd: workDir, maxBuffer: 16 * 1024 * 1024 },
    ).catch((error: { stdout?: string; stderr?: string }) => ({
      stdout: `${error.stdout ?? ""}\n${error.stderr ?? ""}`,
      stderr: "",
    }));
    const output = run.stdout;
    expect(output, output).toMatch(/No issues found/);
    // Every operation but the stream was tested, and both links were followed.
    const tested = /Selected: (\d+)\/(\d+)\s+Tested: (\d+)/.exec(output);
    expect(tested?.slice(1).map(Number), output).toEqual([operations - 1, operations, operations - 1]);
    expect(output, output).toMatch(/API Links:\s+2 covered/);
    // What the fuzzer was served went into the log as valid envelopes.
    expect(logged.length).toBeGreaterThan(EXAMPLES_PER_OPERATION);
    for (const envelope of logged)
      expect(validateRecord(JSON.stringify(envelope)).ok, JSON.stringify(envelope)).toBe(true);
  }, 120_000);
});
