/**
 * The Lambda artifacts CDK builds (esbuild bundles, with parquet-wasm's .wasm copied in) run:
 * loaded as Lambda loads them, against the local emulators, they do their job — on this
 * machine's Node.js and on Node.js 24, the runtime the stack deploys (`nodejs24.x`).
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { Match, Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TicklakeStack } from "../../infra/stack.ts";
import type { AwsClients } from "../../src/aws/clients.ts";
import { packRecords } from "../../src/core/packing.ts";
import { resourceSpec } from "../../src/core/spec.ts";
import { bridgeEnvironment, processorEnvironment } from "../../src/functions/config.ts";
import type { RunningEmulators } from "../../src/local/emulators.ts";
import { functionEnv, localClients } from "../../src/local/pipeline.ts";
import { type Provisioned, provision } from "../../src/local/provisioner.ts";
import { projectApp } from "../support/cdk.ts";
import { parquetEnvelopes } from "../support/duckdb.ts";
import { fxQuote, kinesisEvent, sqsRecord, streamRecords } from "../support/factories.ts";
import { emulatorsIn, getBytes, listKeys, tempStateDir } from "../support/local-aws.ts";
import { NODE_24, NODE_24_VERSION } from "../support/tools.ts";

const run = promisify(execFile);

/** The Node.js binaries the bundles run on: this machine's, and Lambda's major. */
const RUNTIMES = [
  { name: `Node.js ${process.versions.node.split(".")[0]} (this machine)`, node: process.execPath },
  { name: "Node.js 24 (the deployed runtime)", node: NODE_24 },
];

/**
 * Loads a bundle the way Lambda's Node.js runtime does, invokes `handler` once, returns its result
 * and the Node.js version that ran it.
 */
async function invokeBundle(
  node: string,
  dir: string,
  env: Record<string, string>,
  event: unknown,
): Promise<{ result: unknown; version: string }> {
  const script = `const { handler } = require(${JSON.stringify(join(dir, "index.js"))});
    handler(JSON.parse(process.env.EVENT), { getRemainingTimeInMillis: () => 60000 })
      .then((r) => process.stdout.write(JSON.stringify({ result: r ?? null, version: process.version })),
        (e) => { console.error(e); process.exit(1); });`;
  const { stdout } = await run(node, ["-e", script], {
    env: { PATH: process.env.PATH ?? "", ...env, EVENT: JSON.stringify(event) },
  });
  return JSON.parse(stdout);
}

describe("Lambda bundles built by the CDK", () => {
  const spec = resourceSpec({ stage: "bundle" });
  let assetDir: (variable: string) => string;
  let state: Awaited<ReturnType<typeof tempStateDir>>;
  let emulators: RunningEmulators;
  let clients: AwsClients;
  let resources: Provisioned;

  beforeAll(async () => {
    const app = projectApp();
    const stack = new TicklakeStack(app, "Bundles", {
      spec,
      env: { account: "123456789012", region: "us-east-1" },
    });
    const template = Template.fromStack(stack);
    const assembly = app.synth();
    assetDir = (variable: string) => {
      const fn = Object.values(
        template.findResources("AWS::Lambda::Function", {
          Properties: { Environment: { Variables: Match.objectLike({ [variable]: Match.anyValue() }) } },
        }),
      )[0];
      const key = String(fn?.Properties.Code.S3Key);
      return join(assembly.directory, `asset.${key.replace(/\.zip$/, "")}`);
    };
    state = await tempStateDir();
    emulators = await emulatorsIn(state.dir);
    clients = localClients(emulators.endpoints);
    resources = await provision(clients, spec);
  }, 120_000);
  afterAll(async () => {
    clients.destroy();
    await emulators.stop();
    await state.remove();
  });

  describe.each(RUNTIMES)("on $name", ({ node }) => {
    it("the processor bundle writes a Parquet object DuckDB reads back exactly", async () => {
      const envelopes = [
        fxQuote(Date.UTC(2026, 10, 26, 8)),
        fxQuote(Date.UTC(2026, 10, 26, 8, 0, 1), "USDJPY"),
      ];
      const env = functionEnv(
        emulators.endpoints,
        processorEnvironment({ bucketName: resources.bucket, topicArn: resources.topicArn }),
      );
      const shard = `shardId-0000000000${node === NODE_24 ? "24" : "07"}`;
      const [message] = packRecords(streamRecords(envelopes.map((e) => JSON.stringify(e))), {
        stream: spec.stream.name,
        shardId: shard,
        maxMessageBytes: 1_048_576,
      });
      const { result, version } = await invokeBundle(node, assetDir("TOPIC_ARN"), env, {
        Records: [sqsRecord(JSON.stringify(message), "m-1")],
      });
      expect(version).toBe(node === NODE_24 ? `v${NODE_24_VERSION}` : process.version);
      expect(result).toEqual({ batchItemFailures: [] });
      const [key] = (await listKeys(clients.s3, resources.bucket, "lake/fx_quotes/")).filter((k) =>
        k.includes(shard),
      );
      expect(
        await parquetEnvelopes("fx_quotes", await getBytes(clients.s3, resources.bucket, key ?? "")),
      ).toEqual(envelopes);
    });

    it("the bridge bundle packs a Kinesis batch into a message on the queue", async () => {
      const records = streamRecords([JSON.stringify(fxQuote(Date.UTC(2026, 10, 26, 9)))]);
      const event = kinesisEvent(records, spec.stream.name, "shardId-000000000003");
      const env = functionEnv(
        emulators.endpoints,
        bridgeEnvironment({ queueUrl: resources.queueUrl, maxMessageBytes: 1_048_576 }),
      );
      const { result, version } = await invokeBundle(node, assetDir("QUEUE_URL"), env, event);
      expect(version).toBe(node === NODE_24 ? `v${NODE_24_VERSION}` : process.version);
      expect(result).toMatchObject({ records: 1, messages: 1, requests: 1 });
      const { Messages = [] } = await clients.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: resources.queueUrl, WaitTimeSeconds: 1 }),
      );
      expect(JSON.parse(Messages[0]?.Body ?? "{}")).toMatchObject({
        stream: spec.stream.name,
        shardId: "shardId-000000000003",
        dataset: "fx_quotes",
        firstSeq: records[0]?.sequenceNumber,
      });
    });
  });
});
