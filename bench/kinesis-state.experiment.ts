/**
 * An experiment behind the pipeline benchmark's variance (bench/README.md): does the state a
 * run carries over slow the Kinesis emulator? Interleaved rounds measure the raw PutRecords
 * ceiling (50,000 pre-serialized records, 500 a call) on (A) a fresh state folder and (B) one
 * state folder that grows by BENCH_FILL records a round before its measurement, as the lower
 * steps of a benchmark fill the stream before its top step. Beside each measurement: LevelDB
 * compactions during it, and the CPU other processes took.
 *
 *   node --import tsx bench/kinesis-state.experiment.ts     (prints a table; writes nothing)
 *
 * BENCH_ROUNDS (default 3) and BENCH_FILL (default 500,000) change the plan.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { partitionKeyOf } from "../src/core/partition-keys.ts";
import { type RunningEmulators, startEmulators } from "../src/local/emulators.ts";
import { localClients } from "../src/local/pipeline.ts";
import { ensureStream } from "../src/local/provisioner.ts";
import { machineNoise } from "./noise.ts";
import { rawPutRecordsCeiling, simulatedEvents, wholeNumberFromEnv } from "./support.ts";

const ROUNDS = wholeNumberFromEnv("BENCH_ROUNDS", 3, 1, 20);
const FILL = wholeNumberFromEnv("BENCH_FILL", 500_000, 0, 10_000_000);
const events = simulatedEvents(50_000, 5);
const fillEntries = simulatedEvents(10_000, 9).map((e) => ({
  Data: Buffer.from(JSON.stringify(e)),
  PartitionKey: partitionKeyOf(e),
}));

const compactions = (dir: string) =>
  readFileSync(join(dir, "kinesis", "LOG"), "utf8").match(/Compacting /g)?.length ?? 0;

async function measure(dir: string, emulators: RunningEmulators, stream: string) {
  const clients = localClients(emulators.endpoints);
  try {
    const before = compactions(dir);
    const noise = machineNoise([process.pid, emulators.endpoints.pid]);
    const ceiling = await rawPutRecordsCeiling(clients, stream, events);
    return { ceiling, compactions: compactions(dir) - before, ...noise.end() };
  } finally {
    clients.destroy();
  }
}

const grown = await mkdtemp(join(tmpdir(), "ticklake-kinesis-state-"));
let grownEmulators = await startEmulators({ stateDir: grown });
const setup = localClients(grownEmulators.endpoints);
await ensureStream(setup.kinesis, "grown", 2);
setup.destroy();
const rows: string[] = [];
let stored = 0;
try {
  for (let round = 1; round <= ROUNDS; round++) {
    // A: a fresh state folder.
    const fresh = await mkdtemp(join(tmpdir(), "ticklake-kinesis-state-"));
    const freshEmulators = await startEmulators({ stateDir: fresh });
    const freshClients = localClients(freshEmulators.endpoints);
    await ensureStream(freshClients.kinesis, "fresh", 2);
    freshClients.destroy();
    const a = await measure(fresh, freshEmulators, "fresh");
    await freshEmulators.stop();
    await rm(fresh, { recursive: true, force: true });

    // B: the growing one, filled first (a restart in between, as between benchmark runs).
    const clients = localClients(grownEmulators.endpoints);
    for (let i = 0; i < FILL; i += 500)
      await clients.kinesis.send(
        new PutRecordsCommand({
          StreamName: "grown",
          Records: fillEntries.slice(i % 10_000, (i % 10_000) + 500),
        }),
      );
    clients.destroy();
    stored += FILL + events.length;
    await grownEmulators.stop();
    grownEmulators = await startEmulators({ stateDir: grown });
    const b = await measure(grown, grownEmulators, "grown");

    for (const [label, m, records] of [
      ["A fresh", a, 0],
      ["B grown", b, stored - events.length],
    ] as const)
      rows.push(
        `| ${round} | ${label} | ${records.toLocaleString("en-US")} | ${m.ceiling.toLocaleString("en-US")} | ${m.compactions} | ${m.othersCpuCores} | ${m.loadAverage} |`,
      );
    console.log(rows.slice(-2).join("\n"));
  }
} finally {
  await grownEmulators.stop();
  await rm(grown, { recursive: true, force: true });
}
console.log(
  [
    "| round | store | records already in it | raw ceiling, records/s | LevelDB compactions during it | others' CPU, cores | load average |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n"),
);
