/**
 * The whole fault-injection suite (`npm run test:faults`): every experiment, each audited, and
 * each with its evidence that the fault happened; the results go to bench/results/faults.json
 * and faults.md.
 */
import { writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import {
  brokenPromises,
  EXPERIMENTS,
  type ExperimentResult,
  resultsTable,
  runExperiment,
} from "./experiments.ts";

const results: ExperimentResult[] = [];

describe("fault injection (the whole suite)", () => {
  afterAll(async () => {
    const json = { date: new Date().toISOString(), node: process.version, results };
    await writeFile(
      new URL("../../bench/results/faults.json", import.meta.url),
      `${JSON.stringify(json, null, 2)}\n`,
    );
    await writeFile(new URL("../../bench/results/faults.md", import.meta.url), `${resultsTable(results)}\n`);
  });

  for (const experiment of EXPERIMENTS) {
    it(experiment.name, async () => {
      const result = await runExperiment(experiment);
      results.push(result);
      expect(brokenPromises(result, experiment), JSON.stringify(result)).toEqual([]);
    }, 300_000);
  }
});
