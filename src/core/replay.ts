/**
 * Replay planning (`ticklake replay`): records re-read from the stream are packed again so
 * that the lake gains no duplicate. Every object key names the packed message it came from
 * (shard, dataset, first and last sequence number), so:
 *   - a record inside a stored message's range is packed again into a message with exactly
 *     that identity: the processor maps it to the same keys, and the conditional write makes
 *     it a no-op where the object exists, or restores the object where it was lost;
 *   - records in no stored range are packed anew, in runs that never cross a stored range, so
 *     their new ranges overlap none and a second replay finds them stored.
 * Pure: no I/O.
 */
import { parseObjectKey } from "./layout.ts";
import {
  compareSequenceNumbers,
  PACKED_MESSAGE_VERSION,
  type PackedMessage,
  type PackedRecord,
  type PackOptions,
  packedRecordOf,
  packRecords,
  type StreamRecord,
} from "./packing.ts";

export interface StoredRange {
  shardId: string;
  dataset: string;
  firstSeq: string;
  lastSeq: string;
}

const OBJECT_ID = /^(shardId-\d+)-(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)\.[a-z.]+$/;

/**
 * The packed message an object was written from, read back from its key; undefined for keys
 * of another shape (an unreadable SQS message's quarantine object names its message id).
 */
export function storedRangeOf(key: string): StoredRange | undefined {
  const parsed = parseObjectKey(key);
  const match = OBJECT_ID.exec(key.slice(key.lastIndexOf("/") + 1));
  if (!parsed || !match) return undefined;
  const [, shardId = "", firstSeq = "", lastSeq = ""] = match;
  return { shardId, dataset: parsed.dataset, firstSeq, lastSeq };
}

/** Stored ranges by shard and dataset, sorted, each range once. */
export class StoredRanges {
  readonly #ranges = new Map<string, StoredRange[]>();
  /** `slot/first/last` of every range held, so that each is added once. */
  readonly #seen = new Set<string>();
  #sorted = true;

  static fromKeys(keys: Iterable<string>): StoredRanges {
    const ranges = new StoredRanges();
    for (const key of keys) {
      const range = storedRangeOf(key);
      if (range) ranges.add(range);
    }
    return ranges;
  }

  add(range: StoredRange): void {
    const slot = `${range.shardId}/${range.dataset}`;
    // A message split over hours, or into lake and quarantine, has several objects.
    const id = `${slot}/${range.firstSeq}/${range.lastSeq}`;
    if (this.#seen.has(id)) return;
    this.#seen.add(id);
    const list = this.#ranges.get(slot) ?? [];
    list.push(range);
    this.#ranges.set(slot, list);
    this.#sorted = false;
  }

  /** The stored range of this shard and dataset that holds `seq`, if any. */
  find(shardId: string, dataset: string, seq: string): StoredRange | undefined {
    if (!this.#sorted) {
      for (const list of this.#ranges.values())
        list.sort((a, b) => compareSequenceNumbers(a.firstSeq, b.firstSeq));
      this.#sorted = true;
    }
    const list = this.#ranges.get(`${shardId}/${dataset}`);
    if (!list) return undefined;
    // The last range starting at or before seq; ranges of one dataset do not overlap.
    let low = 0;
    let high = list.length - 1;
    let found: StoredRange | undefined;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const range = list[middle] as StoredRange;
      if (compareSequenceNumbers(range.firstSeq, seq) <= 0) {
        found = range;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found && compareSequenceNumbers(seq, found.lastSeq) <= 0 ? found : undefined;
  }
}

export interface ReplayPlan {
  messages: PackedMessage[];
  /** Records sent again under a stored message's identity. */
  restated: number;
  /** Records no stored object accounts for, sent as new messages. */
  missing: number;
  /**
   * Records skipped because their stored message began before the first record read or ended
   * after the last: its other records are outside the replay, and a partial copy written under
   * its key would mask them for good.
   */
  skipped: number;
}

/**
 * Plans the messages that replay one shard's records (in sequence order, already
 * deaggregated) against what the lake holds.
 */
export function planReplay(
  records: readonly StreamRecord[],
  stored: StoredRanges,
  options: PackOptions,
): ReplayPlan {
  const plan: ReplayPlan = { messages: [], restated: 0, missing: 0, skipped: 0 };
  const first = records[0]?.sequenceNumber;
  const last = records.at(-1)?.sequenceNumber;
  if (first === undefined || last === undefined) return plan;

  const restated = new Map<StoredRange, PackedRecord[]>();
  /** Uncovered records of each dataset, in runs no stored range of that dataset interrupts. */
  const runs = new Map<string, StreamRecord[][]>();
  const newRun = (dataset: string) => {
    const list = runs.get(dataset) ?? [];
    list.push([]);
    runs.set(dataset, list);
    return list;
  };

  for (const record of records) {
    const { packed, dataset } = packedRecordOf(record, options);
    const range = stored.find(options.shardId, dataset, record.sequenceNumber);
    if (range) {
      if (
        compareSequenceNumbers(range.firstSeq, first) < 0 ||
        compareSequenceNumbers(range.lastSeq, last) > 0
      ) {
        plan.skipped++;
        continue;
      }
      const list = restated.get(range) ?? [];
      list.push(packed);
      restated.set(range, list);
      plan.restated++;
      // A stored range closes the current run of missing records of its dataset.
      const open = runs.get(dataset);
      if (open?.at(-1)?.length) newRun(dataset);
    } else {
      const list = runs.get(dataset) ?? newRun(dataset);
      list.at(-1)?.push(record);
      plan.missing++;
    }
  }

  for (const [range, packed] of restated) {
    plan.messages.push({
      v: PACKED_MESSAGE_VERSION,
      stream: options.stream,
      shardId: range.shardId,
      dataset: range.dataset as PackedMessage["dataset"],
      firstSeq: range.firstSeq,
      lastSeq: range.lastSeq,
      records: packed,
    });
  }
  for (const list of runs.values()) {
    for (const run of list) if (run.length > 0) plan.messages.push(...packRecords(run, options));
  }
  plan.messages.sort((a, b) => compareSequenceNumbers(a.firstSeq, b.firstSeq));
  return plan;
}

/**
 * How many leading records can be planned on their own: the longest prefix, of at least
 * `atLeast` records, after which no stored range that it touches goes on. 0 when none.
 * Replay plans a long read in such pieces, so no stored message is ever split.
 */
export function cleanPrefixLength(
  records: readonly StreamRecord[],
  stored: StoredRanges,
  options: PackOptions,
  atLeast: number,
): number {
  let furthest: string | undefined;
  let clean = 0;
  for (let index = 0; index < records.length; index++) {
    const record = records[index] as StreamRecord;
    // No range touched so far reaches this record: the records before it stand alone.
    const reached = furthest !== undefined && compareSequenceNumbers(furthest, record.sequenceNumber) >= 0;
    if (!reached && index >= atLeast) clean = index;
    const { dataset } = packedRecordOf(record, options);
    const range = stored.find(options.shardId, dataset, record.sequenceNumber);
    if (range && (furthest === undefined || compareSequenceNumbers(range.lastSeq, furthest) > 0)) {
      furthest = range.lastSeq;
    }
  }
  return clean;
}
