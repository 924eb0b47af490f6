/**
 * The `ticklake` command line run in-process (`run(argv, io)`), as the bin script runs it: every
 * command's help, and for every command at least one mistake a user can make (a bad option, a
 * missing file, bad SQL, no pipeline, an endpoint that is down or is not AWS). Each ends with
 * exactly one `ticklake:` line on stderr and the documented exit code, and no stack trace
 * unless TICKLAKE_DEBUG is set. Against real emulators where a command needs a pipeline.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../support/cli.ts";
import { provisionedAws, tempStateDir } from "../support/local-aws.ts";

const COMMANDS = [
  "up",
  "send",
  "query",
  "sync",
  "status",
  "redrive",
  "replay",
  "bench",
  "deploy",
  "provision",
  "schema",
];

/** Exactly one line, starting `ticklake: `, and no trace of Node's internals. */
function expectOneLine(stderr: string): string {
  const lines = stderr.split("\n").filter((line) => line !== "");
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^ticklake: /);
  expect(stderr).not.toMatch(/\n\s+at |node:internal/);
  return lines[0] ?? "";
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("ticklake, in-process", () => {
  let empty: Awaited<ReturnType<typeof tempStateDir>>;
  /** A port where nothing listens. */
  let closed: string;
  /** An HTTP server that answers every request with plain text, as a misconfigured proxy might. */
  let notAws: Server;
  let notAwsUrl: string;

  beforeAll(async () => {
    empty = await tempStateDir();
    const probe = createServer();
    closed = await listen(probe);
    await new Promise((resolve) => probe.close(resolve));
    notAws = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      response.end("Error: not an AWS service");
    });
    notAwsUrl = await listen(notAws);
  });
  afterAll(async () => {
    await new Promise((resolve) => notAws?.close(resolve));
    await empty?.remove();
  });

  const inEmpty = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runInProcess(["--state-dir", empty.dir, ...args], { ...process.env, ...env });

  it("describes every command in --help, and each command's own", async () => {
    const { code, stdout, stderr } = await runInProcess(["--help"]);
    expect(code).toBe(0);
    expect(stderr).toBe("");
    for (const command of COMMANDS) {
      expect(stdout, command).toMatch(new RegExp(`^  ${command}\\b`, "m"));
      const help = await runInProcess([command, "--help"]);
      expect(help.code, command).toBe(0);
      expect(help.stdout, command).toContain(`Usage: ticklake ${command}`);
    }
    expect((await runInProcess(["query", "--help"])).stdout).toContain("--timeout <seconds>");
  });

  it("names a bad option, an unknown command or a missing argument, with exit code 2", async () => {
    const cases: Array<[args: string[], line: string | RegExp]> = [
      [["up", "--rate", "fast"], 'ticklake: --rate must be a number from 0 to 10000 (got "fast")'],
      [["up", "--port", "70000"], 'ticklake: --port must be a port from 0 to 65535 (got "70000")'],
      [
        ["send", "x.ndjson", "--target", "mars"],
        /^ticklake: option '--target <target>' argument 'mars' is invalid\. Allowed choices are local, localstack, aws\. \(see `ticklake send --help`\)$/,
      ],
      [["query"], "ticklake: missing required argument 'sql' (see `ticklake query --help`)"],
      [
        ["query", "--timeout", "0", "SELECT 1"],
        'ticklake: --timeout must be seconds from 1 to 86400 (got "0")',
      ],
      [
        ["query", "--as-of", "yesterday", "SELECT 1"],
        'ticklake: --as-of must be an ISO-8601 time with a zone (e.g. 2026-11-26T09:30:00Z) or a span before now (e.g. 90s, 15m, 2h, 1d) (got "yesterday")',
      ],
      [
        ["query", "--as-of", "2026-11-26T09:30:00", "SELECT 1"],
        /^ticklake: --as-of must be an ISO-8601 time with a zone .*\(got "2026-11-26T09:30:00"\)$/,
      ],
      [
        ["sync", "dir", "--kind", "everything"],
        /^ticklake: option '--kind <kind>' argument 'everything' is invalid/,
      ],
      [
        ["status", "--since", "yesterday"],
        /^ticklake: --since must be an ISO-8601 time with a zone .*\(got "yesterday"\)$/,
      ],
      [["redrive", "--queue", "q"], "ticklake: unknown option '--queue' (see `ticklake redrive --help`)"],
      [["replay"], "ticklake: required option '--from <time>' not specified (see `ticklake replay --help`)"],
      [["replay", "--from", "1m", "--to", "2m"], /^ticklake: --from must be before --to \(got /],
      [
        ["bench", "nope"],
        'ticklake: bench names must be among pipeline, processor, shipper, webserver, cost, local-lake (got ["nope"])',
      ],
      [
        ["deploy", "--stage", "Bad Stage"],
        'ticklake: --stage must be 1-20 lowercase letters, digits or dashes, starting with a letter (got "Bad Stage")',
      ],
      [["provision", "--target", "aws"], /^ticklake: option '--target <target>' argument 'aws' is invalid/],
      [["schema", "--format", "yaml"], /^ticklake: option '--format <format>' argument 'yaml' is invalid/],
      [["sned", "x"], /^ticklake: unknown command 'sned'.*\(see `ticklake --help`\)$/],
    ];
    for (const [args, line] of cases) {
      const { code, stdout, stderr } = await inEmpty(args);
      expect(code, args.join(" ")).toBe(2);
      expect(stdout, args.join(" ")).toBe("");
      if (typeof line === "string") expect(expectOneLine(stderr)).toBe(line);
      else expect(expectOneLine(stderr)).toMatch(line);
    }
  });

  it("says what to do when no pipeline runs or a file is missing", async () => {
    const missing = await inEmpty(["send", "no-such-file.ndjson"]);
    expect(missing.code).toBe(2);
    expect(expectOneLine(missing.stderr)).toBe(
      'ticklake: FILE must be a readable file of newline-delimited records, or - for stdin (got "no-such-file.ndjson")',
    );
    for (const args of [
      ["send", "-"],
      ["sync", "dir", "--once"],
      ["status"],
      ["redrive"],
      ["replay", "--from", "5m"],
    ]) {
      const { code, stderr } = await inEmpty(args);
      expect(code, args.join(" ")).toBe(2);
      expect(expectOneLine(stderr)).toBe(
        `ticklake: no local pipeline is running for ${empty.dir}: start it with \`npm start\` first (or pass the --state-dir it runs with)`,
      );
    }
  });

  it("query on a state folder where nothing was ever provisioned: the emulators refuse, and it says what to do", async () => {
    // A query that reads a table (one that reads none, `SELECT 1`, needs no lake).
    const { code, stderr } = await inEmpty(["query", "SELECT count(*) FROM fx_quotes"]);
    expect(code).toBe(2);
    expect(expectOneLine(stderr)).toBe(
      "ticklake: the local emulators refused the call: NoSuchBucket: The specified bucket does not exist: are the pipeline's resources there? `ticklake provision` creates them",
    );
  }, 60_000);

  it("says LocalStack cannot be reached, for every command that talks to it", async () => {
    for (const args of [
      ["up", "--target", "localstack", "--port", "0"],
      ["send", "examples/sample-events.ndjson", "--target", "localstack"],
      ["query", "--target", "localstack", "SELECT count(*) FROM fx_quotes"],
      ["sync", "dir", "--once", "--target", "localstack"],
      ["status", "--target", "localstack"],
      ["redrive", "--target", "localstack"],
      ["replay", "--from", "5m", "--target", "localstack"],
      ["provision", "--target", "localstack"],
    ]) {
      const { code, stderr } = await inEmpty(args, { LOCALSTACK_ENDPOINT: closed });
      expect(code, args.join(" ")).toBe(2);
      expect(expectOneLine(stderr)).toBe(
        `ticklake: cannot reach LocalStack at ${closed.replace("http://", "")} (ECONNREFUSED): start LocalStack, or set LOCALSTACK_ENDPOINT to where it listens`,
      );
    }
  }, 120_000);

  it("says when an endpoint answers with something that is not AWS, and prints the trace only with TICKLAKE_DEBUG", async () => {
    for (const args of [
      ["up", "--target", "localstack", "--port", "0"],
      ["status", "--target", "localstack"],
      ["provision", "--target", "localstack"],
    ]) {
      const { code, stderr } = await inEmpty(args, { LOCALSTACK_ENDPOINT: notAwsUrl });
      expect(code, args.join(" ")).toBe(2);
      const line = expectOneLine(stderr);
      expect(line).toContain(
        `ticklake: LocalStack at ${notAwsUrl} answered HTTP 200 with something that is not an AWS API response (`,
      );
      // The body's start, as the SDK kept it or as its JSON or XML parser quotes it.
      expect(line).toMatch(
        /\(.*"Error: not.*\): start LocalStack, or set LOCALSTACK_ENDPOINT to where it listens$/,
      );
    }
    const debug = await inEmpty(["status", "--target", "localstack"], {
      LOCALSTACK_ENDPOINT: closed,
      TICKLAKE_DEBUG: "1",
    });
    expect(debug.code).toBe(2);
    const [line, ...trace] = debug.stderr.split("\n");
    expect(line).toMatch(/^ticklake: cannot reach LocalStack at /);
    expect(trace.join("\n")).toMatch(/caused by: Error: connect ECONNREFUSED[\s\S]*\n\s+at /);
  }, 120_000);

  it("prints the data contract (a command that needs no AWS)", async () => {
    const { code, stdout, stderr } = await runInProcess(["schema"]);
    expect(code).toBe(0);
    expect(stderr).toBe("");
    expect(stdout).toMatch(/^### `fx_quotes` \(from `fx.quote`\)$/m);
  });

  describe("with a pipeline's resources", () => {
    const aws = provisionedAws("local");
    const withAws = (args: string[]) => runInProcess(["--state-dir", aws.dir, ...args]);

    it("query: bad SQL, a refused statement and a timeout each end in one line and exit code 2", async () => {
      const cases: Array<[args: string[], line: string | RegExp]> = [
        [
          ["query", "SELEC 1"],
          'ticklake: Parser Error: syntax error at or near "SELEC" (line 1, column 1): fix the SQL near that token',
        ],
        [
          ["query", `COPY (SELECT 1 AS x) TO '${aws.dir}/query-cache/evil.parquet'`],
          /^ticklake: only one read-only SELECT over the lake: .*\(got a statement of type COPY\)$/,
        ],
        [
          ["query", "--timeout", "1", "SELECT count(*) FROM range(100000000000)"],
          /^ticklake: the query ran past its 1 s limit and was interrupted: /,
        ],
      ];
      for (const [args, line] of cases) {
        const { code, stdout, stderr } = await withAws(args);
        expect(code, args.join(" ")).toBe(2);
        expect(stdout).toBe("");
        if (typeof line === "string") expect(expectOneLine(stderr)).toBe(line);
        else expect(expectOneLine(stderr)).toMatch(line);
      }
      const ok = await withAws(["query", "--format", "json", "SELECT count(*) AS n FROM fx_quotes"]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout)).toEqual({ n: "0" });
    });

    it("a DLQ that holds messages: status finishes with exit code 1, replay does not start (2)", async () => {
      const clean = await withAws(["status", "--json"]);
      expect(clean.code, clean.stderr).toBe(0);
      expect(clean.stderr).toBe("");
      await aws.clients.sqs.send(
        new SendMessageCommand({ QueueUrl: aws.resources.dlqUrl, MessageBody: "parked" }),
      );

      const status = await withAws(["status", "--json"]);
      expect(status.code).toBe(1);
      expect(JSON.parse(status.stdout).dlq.visible).toBe(1);
      expect(expectOneLine(status.stderr)).toMatch(
        /^ticklake: the DLQ holds 1 messages: .*run `ticklake redrive`$/,
      );

      const replay = await withAws(["replay", "--from", "5m"]);
      expect(replay.code).toBe(2);
      expect(expectOneLine(replay.stderr)).toMatch(
        /^ticklake: the DLQ holds 1 messages: run `ticklake redrive` first \(or pass --force\)/,
      );

      const redrive = await withAws(["redrive"]);
      expect(redrive.code, redrive.stderr).toBe(0);
      expect(redrive.stdout).toBe("moved 1 messages from the DLQ back to the queue; 0 could not be sent\n");
      expect((await withAws(["status"])).code).toBe(0);
    });
  });
});
