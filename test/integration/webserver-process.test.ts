/**
 * The web server as its own process, as on ECS: configured by environment variables, it
 * serves the API, ships its logs into the stream, reports the shipper's counters as JSON, and
 * on SIGTERM stops, flushing everything it accepted.
 */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../src/core/config.ts";
import { validateRecord } from "../../src/core/events.ts";
import { resourceSpec } from "../../src/core/spec.ts";
import { functionEnv } from "../../src/local/pipeline.ts";
import { ServerConfig } from "../../src/webserver/server.ts";
import { eventually, provisionedAws } from "../support/local-aws.ts";
import { readStream } from "../support/stream.ts";
import { TSX_LOADER } from "../support/tools.ts";

const SERVER = new URL("../../src/webserver/server.ts", import.meta.url).pathname;

describe("web server process", () => {
  const spec = resourceSpec({ stage: "server" });
  const aws = provisionedAws("server");

  it("names the setting that is wrong", () => {
    expect(() => readConfig(ServerConfig, { STREAM_NAME: "bad name!" })).toThrow(
      'STREAM_NAME must be a Kinesis stream name (got "bad name!")',
    );
    expect(() => readConfig(ServerConfig, { STREAM_NAME: "s", PORT: "70000" })).toThrow(
      /PORT .* \(got "70000"\)/,
    );
  });

  it("serves, ships every response's log to Kinesis, reports its counters, and flushes on SIGTERM", async () => {
    const child = spawn(process.execPath, ["--import", TSX_LOADER, SERVER], {
      env: {
        ...process.env,
        ...functionEnv(aws.emulators.endpoints, {}),
        STREAM_NAME: spec.stream.name,
        PORT: "0",
        HOST: "127.0.0.1",
        TICKS_PER_SECOND: "0",
        METRICS_INTERVAL_MS: "1000",
        SPOOL_DIR: `${aws.dir}/spool`,
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const lines: string[] = [];
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => lines.push(...chunk.trim().split("\n")));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));

    const port = await eventually(
      async () => lines.map((l) => /on port (\d+)/.exec(l)?.[1]).find((p) => p !== undefined),
      30_000,
      "the server to listen",
    );
    for (let i = 0; i < 20; i++) {
      const response = await fetch(`http://127.0.0.1:${port}/v1/stocks/AAPL`);
      expect(response.status).toBe(200);
    }
    const counters = await eventually(
      async () => lines.find((l) => l.includes('"message":"shipper"') && JSON.parse(l).shipper.sent >= 40),
      10_000,
      "a shipper line counting 40 records",
    );
    expect(JSON.parse(counters).shipper).toMatchObject({ refused: 0, dropped: 0 });
    child.kill("SIGTERM");
    expect(await exited).toBe(0);

    // 20 responses, each logged as a stock.quote and an http.request: all in the stream, all valid.
    const types: string[] = [];
    for (const record of (await readStream(aws.clients.kinesis, spec.stream.name)).records) {
      const verdict = validateRecord(Buffer.from(record.data).toString());
      expect(verdict.ok).toBe(true);
      if (verdict.ok) types.push(verdict.event.type);
    }
    expect(types.filter((t) => t === "stock.quote")).toHaveLength(20);
    expect(types.filter((t) => t === "http.request")).toHaveLength(20);
  });
});
