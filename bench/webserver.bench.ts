/**
 * Request throughput of the market API with logging on (every response logged with the data
 * it served, shipped to the local Kinesis by the worker-thread shipper, as `up` and the
 * server do) against logging off, in the same run, with autocannon. The rounds alternate,
 * so both see the same machine.
 *
 * The requests are the traffic generator's mix. autocannon runs in this process, on the request
 * thread, in both modes alike.
 *
 * Two layouts of the threads on the machine's cores, each measured in its own rounds:
 * - `shared`: the scheduler places everything; the Kinesis emulator, which stands in for a
 *   service that runs on AWS's machines, takes CPU from the server's cores.
 * - `pinned` (Linux with `taskset` and ≥ 2 cores): the request thread has core 0 to itself;
 *   the shipper thread and V8's helper threads share core 1; the emulator runs on cores 2 and
 *   up, or with only two cores on core 1 too.
 * Each round also reads the CPU time each thread used (Linux's /proc), per request, so the
 * cost of logging on the request thread is seen apart from the machine's contention, and how
 * many records were still waiting for Kinesis when the load stopped, so that no layout can look
 * fast by leaving the shipping undone. Every record is acknowledged before the next round.
 *
 *   npm run bench:webserver          writes bench/results/webserver.json
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { ShipperWorker } from "../src/aws/shipper-worker.ts";
import { seededRandom } from "../src/core/simulator.ts";
import { startEmulators } from "../src/local/emulators.ts";
import { localClientOptions, localClients } from "../src/local/pipeline.ts";
import { ensureStream } from "../src/local/provisioner.ts";
import { build } from "../src/webserver/app.ts";
import { MarketFeed } from "../src/webserver/feed.ts";
import { trafficPath } from "../src/webserver/traffic.ts";
import { wholeNumberFromEnv } from "./support.ts";

const SECONDS = wholeNumberFromEnv("BENCH_SECONDS", 5, 1, 3_600);
const ROUNDS = wholeNumberFromEnv("BENCH_ROUNDS", 7, 1, 100);
const TARGET = 0.15;
/** Simulated minutes of news before the load, an article a minute: the news endpoint has some. */
const NEWS_MINUTES = 200;

/**
 * The traffic generator's mix of requests (`src/webserver/traffic.ts`: stock and FX quotes,
 * rates, news pages, a few errors), a fixed sample that every connection cycles through.
 */
const random = seededRandom(11);
const REQUESTS = Array.from({ length: 1_000 }, () => ({ path: trafficPath(random) }));

type Layout = "shared" | "pinned";
const CORES = availableParallelism();

function canPin(): boolean {
  if (process.platform !== "linux" || CORES < 2) return false;
  try {
    execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const LAYOUTS: Layout[] = canPin() ? ["shared", "pinned"] : ["shared"];

/** Thread ids of a process; none where there is no /proc to read them from. */
const threadsOf = (pid: number | "self") =>
  existsSync(`/proc/${pid}/task`) ? readdirSync(`/proc/${pid}/task`) : [];

/** CPU time (ms) each thread of a process has used, by thread id. */
function threadCpuMs(pid: number): Map<string, number> {
  const ticksPerMs = 100 / 1000; // USER_HZ is 100 on Linux
  const out = new Map<string, number>();
  for (const tid of threadsOf(pid)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(tid, (Number(fields[11]) + Number(fields[12])) / ticksPerMs);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

const used = (before: Map<string, number>, after: Map<string, number>, tids: Iterable<string>) => {
  let sum = 0;
  for (const tid of tids) sum += (after.get(tid) ?? 0) - (before.get(tid) ?? 0);
  return sum;
};

/** Sets the cores a thread (or with `allThreads`, every thread of a process) may run on. */
function pin(target: number, cpus: string, allThreads: boolean): void {
  execFileSync("taskset", [...(allThreads ? ["-a"] : []), "-p", "-c", cpus, String(target)], {
    stdio: "ignore",
  });
}

const dir = await mkdtemp(join(tmpdir(), "ticklake-bench-"));
const emulators = await startEmulators({ stateDir: dir });
const clients = localClients(emulators.endpoints);
await ensureStream(clients.kinesis, "web", 2);

interface Measurement {
  requestsPerSecond: number;
  /** CPU time per request, µs: the request thread (with autocannon, which runs on it too). */
  requestThreadUs: number;
  /** The shipper's thread(s). */
  shipperUs: number;
  /** V8's helper threads (garbage collection) and libuv's pool. */
  helpersUs: number;
  /** The Kinesis emulator's process. */
  emulatorUs: number;
  /** Share of the window's records not yet acknowledged by Kinesis when the load stopped. */
  backlog: number;
  /** Records logged in the window, per request. */
  recordsPerRequest: number;
}

async function measure(logRequests: boolean, layout: Layout): Promise<Measurement> {
  const threadsBefore = new Set(threadsOf("self"));
  const shipper = new ShipperWorker({
    clientOptions: localClientOptions(emulators.endpoints),
    streamName: "web",
    maxBufferedRecords: 10_000_000,
  });
  await shipper.flush(); // the worker is up: its threads exist
  const shipperThreads = threadsOf("self").filter((tid) => !threadsBefore.has(tid));
  const requestThread = String(process.pid);
  const helperThreads = [...threadsBefore].filter((tid) => tid !== requestThread);
  if (layout === "pinned") {
    // With three cores or more the emulator gets its own, as Kinesis has on AWS.
    pin(emulators.endpoints.pid, CORES >= 3 ? `2-${CORES - 1}` : "1", true);
    pin(process.pid, "1", true);
    pin(process.pid, "0", false); // the request thread's id is the process id
  } else if (LAYOUTS.includes("pinned")) {
    const every = `0-${CORES - 1}`;
    pin(emulators.endpoints.pid, every, true);
    pin(process.pid, every, true);
  }

  const source = { service: "bench", instance: "1" };
  let clockShiftMs = -NEWS_MINUTES * 60_000;
  const feed = new MarketFeed({
    seed: 1,
    source,
    sink: shipper,
    ticksPerSecond: 0,
    now: () => Date.now() + clockShiftMs,
  });
  for (let minute = 0; minute < NEWS_MINUTES; minute++) {
    clockShiftMs += 60_000;
    feed.tick(false);
  }
  const app = await build({ feed, source, logRequests, rateLimitPerMinute: 100_000_000 });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const port = (app.server.address() as { port: number }).port;
  const queuedBefore = shipper.stats.queued;
  const self0 = threadCpuMs(process.pid);
  const emulator0 = threadCpuMs(emulators.endpoints.pid);
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: 20,
    duration: SECONDS,
    requests: REQUESTS,
  });
  const self1 = threadCpuMs(process.pid);
  const emulator1 = threadCpuMs(emulators.endpoints.pid);
  const backlog = shipper.buffered;
  const records = shipper.stats.queued - queuedBefore;
  await app.close();
  const left = await shipper.close(120_000);
  if (left > 0 || shipper.stats.sent !== shipper.stats.queued)
    throw new Error(`the shipper did not deliver every record: ${JSON.stringify(shipper.stats)}`);
  const requests = result.requests.total;
  const perRequest = (ms: number) => Number(((ms * 1000) / requests).toFixed(1));
  return {
    requestsPerSecond: result.requests.average,
    requestThreadUs: perRequest(used(self0, self1, [requestThread])),
    shipperUs: perRequest(used(self0, self1, shipperThreads)),
    helpersUs: perRequest(used(self0, self1, helperThreads)),
    emulatorUs: perRequest(used(emulator0, emulator1, emulator1.keys())),
    backlog: records === 0 ? 0 : backlog / records,
    recordsPerRequest: records / requests,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const cost = (on: number, off: number) => Number((1 - on / off).toFixed(3));

function summary(on: Measurement[], off: Measurement[]) {
  const m = (list: Measurement[], key: keyof Measurement) => median(list.map((x) => x[key]));
  const side = (list: Measurement[]) => ({
    requestsPerSecond: Math.round(m(list, "requestsPerSecond")),
    // Read from Linux's /proc; null elsewhere.
    cpuUsPerRequest: existsSync("/proc/self/task")
      ? {
          requestThread: m(list, "requestThreadUs"),
          shipper: m(list, "shipperUs"),
          helpers: m(list, "helpersUs"),
          emulator: m(list, "emulatorUs"),
        }
      : null,
  });
  return {
    loggingOff: side(off),
    loggingOn: side(on),
    loggingCost: cost(m(on, "requestsPerSecond"), m(off, "requestsPerSecond")),
    // Each round's off/on pair ran back to back: their spread shows the machine's noise.
    loggingCostPerRound: on.map((x, i) => cost(x.requestsPerSecond, off[i]?.requestsPerSecond ?? 0)),
    recordsPerRequest: Number(m(on, "recordsPerRequest").toFixed(2)),
    // What the shipper still held when the load stopped, as a share of what it was given.
    backlogAtEnd: Number(m(on, "backlog").toFixed(3)),
  };
}

const results: Partial<Record<Layout, ReturnType<typeof summary>>> = {};
try {
  for (const layout of LAYOUTS) {
    await measure(true, layout); // warm-up
    const on: Measurement[] = [];
    const off: Measurement[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      off.push(await measure(false, layout));
      on.push(await measure(true, layout));
      console.error(
        `${layout} round ${round + 1}: off ${Math.round(off.at(-1)?.requestsPerSecond ?? 0)}, on ${Math.round(on.at(-1)?.requestsPerSecond ?? 0)} requests/s`,
      );
    }
    results[layout] = summary(on, off);
  }
} finally {
  clients.destroy();
  await emulators.stop();
  await rm(dir, { recursive: true, force: true });
}

const output = {
  date: new Date().toISOString(),
  node: process.version,
  cores: CORES,
  secondsPerRun: SECONDS,
  rounds: ROUNDS,
  layouts: results,
  target: { loggingCostAtMost: TARGET },
};
writeFileSync(new URL("./results/webserver.json", import.meta.url), `${JSON.stringify(output, null, 2)}\n`);
console.log(JSON.stringify(output, null, 2));
