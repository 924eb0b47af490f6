/**
 * The quick half of the fault-injection suite, inside `npm test`: each experiment on a fresh
 * local pipeline, audited against its ledger. The whole suite is `npm run test:faults`.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { brokenPromises, EXPERIMENTS, type ExperimentResult, runExperiment } from "./experiments.ts";

const results: ExperimentResult[] = [];
const byNumber = (n: number) => EXPERIMENTS.find((e) => e.name.startsWith(`${n}. `)) ?? EXPERIMENTS[0];

describe("fault injection (quick subset)", () => {
  afterAll(async () => {
    await mkdir(new URL("../../test-results/", import.meta.url), { recursive: true });
    await writeFile(
      new URL("../../test-results/faults-fast.json", import.meta.url),
      `${JSON.stringify(results, null, 2)}\n`,
    );
  });

  const check = async (n: number, extra: (result: ExperimentResult) => void) => {
    const experiment = byNumber(n);
    if (!experiment?.fast) throw new Error(`experiment ${n} is not in the quick subset`);
    const result = await runExperiment(experiment);
    results.push(result);
    expect(brokenPromises(result, experiment), JSON.stringify(result)).toEqual([]);
    extra(result);
  };

  it("1. the producer's re-sends are stored as copies of the same id, never as pipeline duplicates", async () => {
    await check(1, (r) => {
      expect(r.producerCopies).toBe(60);
      expect(r.duplicateRecords).toBe(60);
      expect(r.storedUnique).toBe(600);
      // Both copies are in the lake, so both are in the tables: a file's records once each.
      expect(r.tableRows).toBe(660);
    });
  }, 120_000);

  it("2. throttling on 30 % of Kinesis records loses nothing", async () => {
    await check(2, (r) => {
      expect(r.faults["throttled Kinesis records"]).toBeGreaterThan(0);
      expect(r.storedUnique).toBe(1_000);
    });
  }, 120_000);

  it("3. a processor that crashes after writing leaves every object once, announced", async () => {
    await check(3, (r) => {
      expect(r.faults["PutObjectCommand crash-after"]).toBeGreaterThan(0);
      // The rule's limit: fewer crashes than maxReceiveCount, so no message can reach the DLQ.
      expect(r.faults["PutObjectCommand crash-after"]).toBeLessThanOrEqual(3);
    });
  }, 120_000);

  it("4. a processor that crashes before writing loses nothing", async () => {
    await check(4, (r) => {
      expect(r.faults["PutObjectCommand crash-before"]).toBeGreaterThan(0);
      expect(r.faults["PutObjectCommand crash-before"]).toBeLessThanOrEqual(3);
    });
  }, 120_000);

  it("6. poison records all go to quarantine with their reasons; the good ones are stored", async () => {
    await check(6, (r) => {
      expect(r.injected).toBe(31);
      expect(r.storedUnique).toBe(400);
    });
  }, 120_000);

  it("8. SNS failing after a write still announces every object", async () => {
    await check(8, (r) => expect(r.faults["PublishCommand fail"]).toBeGreaterThan(0));
  }, 120_000);

  it("12. a committer that crashes after its commit, before acknowledging, commits nothing twice when the batch comes back", async () => {
    await check(12, (r) => {
      expect(r.faults["committer: PutObjectCommand crash-after"]).toBeGreaterThan(0);
      expect(r.faults["committer: PutObjectCommand crash-after"]).toBeLessThanOrEqual(3);
      // The crashed invocations' announcements came back and found their files committed.
      expect(r.faults["committer invocations failed"]).toBeGreaterThan(0);
      expect(r.tableRows).toBe(800);
    });
  }, 120_000);
});
