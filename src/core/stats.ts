/**
 * Latency statistics: quantiles of weighted samples, and the spread of an object's records
 * between their event times and the moment its notification arrived.
 */

export interface WeightedSample {
  value: number;
  weight: number;
}

/**
 * The q-quantile (0 ≤ q ≤ 1) of weighted samples: the smallest value whose cumulative weight
 * reaches q of the total. Undefined when there is no weight at all.
 */
export function weightedQuantile(samples: readonly WeightedSample[], q: number): number | undefined {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`q must be within [0, 1], got ${q}`);
  const sorted = samples.filter((sample) => sample.weight > 0).sort((a, b) => a.value - b.value);
  const total = sorted.reduce((sum, sample) => sum + sample.weight, 0);
  if (total === 0) return undefined;
  const target = q * total;
  let cumulative = 0;
  for (const sample of sorted) {
    cumulative += sample.weight;
    if (cumulative >= target) return sample.value;
  }
  return sorted.at(-1)?.value;
}

/** The q-quantile of plain samples (each of weight one). */
export function quantile(values: readonly number[], q: number): number | undefined {
  return weightedQuantile(
    values.map((value) => ({ value, weight: 1 })),
    q,
  );
}

/**
 * The latencies of an object's records from event time to the arrival of its notification,
 * estimated from the event-time range its manifest gives: `points` latencies spread evenly
 * from the newest record's to the oldest's, sharing the records' weight.
 */
export function spreadLatencies(
  object: { minTimeMs: number; maxTimeMs: number; records: number; receivedAtMs: number },
  points = 16,
): WeightedSample[] {
  if (object.records <= 0) return [];
  const count = Math.max(1, Math.min(points, object.records));
  const newest = object.receivedAtMs - object.maxTimeMs;
  const oldest = object.receivedAtMs - object.minTimeMs;
  const step = count === 1 ? 0 : (oldest - newest) / (count - 1);
  return Array.from({ length: count }, (_, index) => ({
    value: newest + step * index,
    weight: object.records / count,
  }));
}
