/**
 * The cost model (bench/cost-model.ts): the deployed batching window is what keeps a demo's
 * per-object bill small, the model reproduces the requests the pipeline benchmark counted, and
 * docs/deploy-aws.md shows exactly the table it computes.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ASSUMPTIONS,
  COMPONENTS,
  type CostComponent,
  calibrate,
  costTableMarkdown,
  DEPLOYED,
  flowsAt,
  monthlyCost,
  observedSteps,
  SECONDS_PER_MONTH,
} from "../../bench/cost-model.ts";
import { resourceSpec } from "../../src/core/spec.ts";

const calibration = calibrate(observedSteps());
const putsAt = (rate: number, deployment = DEPLOYED) =>
  monthlyCost(rate, deployment, calibration).lines.find((line) => line.item.startsWith("S3 PUTs"))?.usd ??
  NaN;

describe("cost model", () => {
  it("keeps a demo's S3 PUTs to a few dollars a month with the deployed window, where a 1 s window costs tens", () => {
    // GIVEN the market feed's tick log (42 events/s) on the stack as deployed, and the same with the local 1 s window
    const oneSecond = {
      ...DEPLOYED,
      spec: resourceSpec({ stage: "dev", target: "aws", bridgeWindowSeconds: 1 }),
    };
    // WHEN both are priced
    const deployed = putsAt(42);
    const local = putsAt(42, oneSecond);
    // THEN the deployed window writes tens of times fewer objects
    expect(deployed).toBeLessThan(3);
    expect(local).toBeGreaterThan(30);
    expect(local / deployed).toBeGreaterThan(20);
  });

  it("reproduces the pipeline benchmark's counts when given the benchmark's own settings", () => {
    // GIVEN the local settings the benchmark ran with (2 provisioned shards, 1 s windows)
    const local = { ...DEPLOYED, spec: resourceSpec(), streamMode: "provisioned" as const };
    for (const step of observedSteps()) {
      // WHEN the model computes the step's requests
      const seconds = step.produced / step.offeredPerSecond;
      const flows = flowsAt(step.offeredPerSecond, local, calibration);
      // THEN Kinesis records and objects come within the spread between runs of the benchmark
      const ratio = (model: number, counted: number) => (model * seconds) / counted;
      expect(
        ratio(flows.kinesisRecords, step.requests.kinesisRecords),
        `${step.offeredPerSecond}/s`,
      ).toBeCloseTo(1, 0);
      const objects = ratio(flows.objects, step.requests.objects);
      expect(objects, `${step.offeredPerSecond}/s objects`).toBeGreaterThan(0.75);
      expect(objects, `${step.offeredPerSecond}/s objects`).toBeLessThan(1.33);
    }
  });

  it("adds a component's lines to the bill: where table commits and compaction will go", () => {
    // GIVEN one more component, e.g. a commit per table a minute, each a few S3 PUTs
    const commits: CostComponent = () => [
      { group: "per object", item: "table commits", count: 4 * 43_800, usd: 2.5 },
    ];
    // WHEN the bill is made with it
    const without = monthlyCost(42, DEPLOYED, calibration);
    const withCommits = monthlyCost(42, DEPLOYED, calibration, [...COMPONENTS, commits]);
    // THEN its line is there and the total rises by its amount, the fixed part unchanged
    expect(withCommits.lines.map((line) => line.item)).toContain("table commits");
    expect(withCommits.total - without.total).toBeCloseTo(2.5, 6);
    expect(withCommits.fixed).toBe(without.fixed);
  });

  it("prices one commit per table with new files per commit interval, and no more than the announcements", () => {
    // GIVEN the demo's 42 events/s on the stack as deployed (60 s commit interval), and the same with a 1 s interval
    const publishes = (intervalSeconds: number) => {
      const deployment = {
        ...DEPLOYED,
        spec: resourceSpec({ stage: "dev", target: "aws", commitIntervalSeconds: intervalSeconds }),
      };
      const cost = monthlyCost(42, deployment, calibration);
      const line = cost.lines.find((l) => l.group === "commits" && l.item.startsWith("SNS publishes"));
      return { commits: line?.count ?? NaN, objects: cost.flows.objects * SECONDS_PER_MONTH };
    };
    // WHEN their commits are counted (one "table updated" notification each)
    const deployed = publishes(60);
    const oneSecond = publishes(1);
    // THEN every table with traffic commits once a minute, since each minute brings files for all of them
    expect(deployed.commits).toBeCloseTo(ASSUMPTIONS.tablesCommitted * 60 * 730, 0);
    // AND a 1 s interval commits no more often than files are announced
    expect(oneSecond.commits).toBeGreaterThan(deployed.commits);
    expect(oneSecond.commits).toBeLessThanOrEqual(oneSecond.objects);
  });

  it("docs/deploy-aws.md shows exactly the table the model computes", () => {
    const doc = readFileSync(new URL("../../docs/deploy-aws.md", import.meta.url), "utf8");
    const begin = "<!-- cost-table:begin -->\n";
    const block = doc.slice(doc.indexOf(begin) + begin.length, doc.indexOf("\n<!-- cost-table:end -->"));
    expect(block).toBe(costTableMarkdown(calibration));
  });
});
