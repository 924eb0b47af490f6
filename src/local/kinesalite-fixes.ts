/**
 * EMULATOR-SPECIFIC: fixes to kinesalite 3.3.3, applied before kinesalite loads; the host
 * takes kinesalite from here. Real Kinesis needs none of them.
 *
 * 1. kinesalite answers GetShardIterator AT_TIMESTAMP by scanning the shard for the first
 *    record that arrived at or after the timestamp, and only answers when it finds one: on a
 *    shard with no such record the request never gets an answer. Kinesis returns an iterator
 *    at the shard's tip instead, which then yields the records put after it. The shipper's
 *    check after a lost answer and `ticklake replay --from` ask exactly that of shards that
 *    may have nothing newer. The wrapper below scans first and, when nothing qualifies, asks
 *    kinesalite for LATEST. (A record that lands while the scan runs would be skipped by the
 *    LATEST iterator: an emulator race, a scan of an empty or idle shard taking a few
 *    milliseconds.)
 * 2. kinesalite opens its LevelDB with leveldown's defaults, which keep up to 1,000 table files
 *    open, each with its index and filter blocks in memory (about 38 KB per 2 MiB table of
 *    records). The stream keeps a day of records, so at 5,000 events/s (about 33 MiB of
 *    records a minute) that memory grows for most of a day before the bound holds it. Readers
 *    read near the tip, which the newest tables hold; `LEVELDB_MAX_OPEN_FILES` bounds the
 *    cache, and an old table read again (a replay from the horizon) is opened again.
 */
import { createRequire } from "node:module";

type Callback = (error: unknown, result?: unknown) => void;
type Action = (store: KinesaliteStore, data: Record<string, unknown>, cb: Callback) => void;

interface KinesaliteStore {
  getStreamDb(name: string): {
    createReadStream(options: { gt: string; lt: string }): NodeJS.ReadableStream & {
      destroy(): void;
    };
  };
}

const require = createRequire(import.meta.url);
const actionPath = require.resolve("kinesalite/actions/getShardIterator");
const original = require(actionPath) as Action;
const db = require("kinesalite/db") as {
  resolveShardId(id: unknown): { shardIx: number };
  shardIxToHex(ix: number): string;
};

/** Whether any record of the shard arrived at or after `timestampSeconds`. */
function anyRecordSince(
  store: KinesaliteStore,
  streamName: string,
  shardIx: number,
  timestampSeconds: number,
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const records = store.getStreamDb(streamName).createReadStream({
      gt: db.shardIxToHex(shardIx),
      lt: db.shardIxToHex(shardIx + 1),
    });
    let found = false;
    records.on("data", (item: { value: { ApproximateArrivalTimestamp: number } }) => {
      if (found || item.value.ApproximateArrivalTimestamp < timestampSeconds) return;
      found = true;
      records.destroy();
      resolve(true);
    });
    records.on("error", reject);
    records.on("end", () => resolve(found));
    records.on("close", () => resolve(found));
  });
}

const getShardIterator: Action = (store, data, cb) => {
  const timestamp = data.Timestamp;
  if (data.ShardIteratorType !== "AT_TIMESTAMP" || typeof timestamp !== "number") {
    original(store, data, cb);
    return;
  }
  let shardIx: number;
  try {
    shardIx = db.resolveShardId(data.ShardId).shardIx;
  } catch {
    original(store, data, cb); // kinesalite's own error for a malformed shard id
    return;
  }
  anyRecordSince(store, String(data.StreamName), shardIx, timestamp).then(
    (found) => {
      if (found || timestamp > Date.now() / 1000) original(store, data, cb);
      else original(store, { ...data, ShardIteratorType: "LATEST", Timestamp: undefined }, cb);
    },
    // No such stream: kinesalite's own error for it.
    () => original(store, data, cb),
  );
};

/** Open files LevelDB may keep: table files (all but 10 of them) and its own. */
export const LEVELDB_MAX_OPEN_FILES = 100;

interface LevelDown {
  _open(options: Record<string, unknown>, cb: Callback): void;
}
// kinesalite requires leveldown when it opens a store: the bounded one is in the cache by then.
const leveldownPath = createRequire(require.resolve("kinesalite/db")).resolve("leveldown");
const leveldown = require(leveldownPath) as (location: string) => LevelDown;
const cachedLeveldown = require.cache[leveldownPath];
if (!cachedLeveldown) throw new Error(`kinesalite's ${leveldownPath} is not in the module cache`);
cachedLeveldown.exports = (location: string): LevelDown => {
  const store = leveldown(location);
  const open = store._open.bind(store);
  store._open = (options, cb) => open({ ...options, maxOpenFiles: LEVELDB_MAX_OPEN_FILES }, cb);
  return store;
};

// kinesalite reads its actions once, from the module cache, when it is first loaded.
const cached = require.cache[actionPath];
if (!cached) throw new Error(`kinesalite's ${actionPath} is not in the module cache`);
cached.exports = getShardIterator;

/**
 * kinesalite, loaded after the fix. Loaded here rather than imported beside this module: a
 * bundle (src/local/bundle.ts) evaluates every external import before any of its own code.
 */
export const kinesalite = require("kinesalite") as typeof import("kinesalite").default;
