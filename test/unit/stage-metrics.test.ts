import { describe, expect, it } from "vitest";
import { stageMetricQueries } from "../../src/aws/stage-metrics.ts";

describe("stageMetricQueries", () => {
  it("asks one sum per stage over the whole window, in the stack's namespace and the services' own", () => {
    const queries = stageMetricQueries(
      { prefix: "ticklake-dev", streamName: "ticklake-dev-logs", topicName: "ticklake-dev-data-available" },
      3_590,
    );
    expect(queries.map((q) => q.Id)).toEqual([
      "kinesisRecordsIn",
      "bridged",
      "stored",
      "quarantined",
      "objectsWritten",
      "notifications",
    ]);
    for (const query of queries) {
      expect(query.MetricStat?.Stat).toBe("Sum");
      expect(query.MetricStat?.Period).toBe(3_600);
    }
    const byId = Object.fromEntries(queries.map((q) => [q.Id, q.MetricStat?.Metric]));
    expect(byId.bridged).toEqual({
      Namespace: "ticklake-dev",
      MetricName: "RecordsBridged",
      Dimensions: [{ Name: "service", Value: "ticklake-dev-bridge" }],
    });
    expect(byId.stored?.Dimensions).toEqual([{ Name: "service", Value: "ticklake-dev-processor" }]);
    expect(byId.kinesisRecordsIn).toMatchObject({
      Namespace: "AWS/Kinesis",
      Dimensions: [{ Name: "StreamName", Value: "ticklake-dev-logs" }],
    });
    expect(byId.notifications).toMatchObject({
      Namespace: "AWS/SNS",
      Dimensions: [{ Name: "TopicName", Value: "ticklake-dev-data-available" }],
    });
    expect(
      stageMetricQueries({ prefix: "p", streamName: "s", topicName: "t" }, 10)[0]?.MetricStat?.Period,
    ).toBe(60);
  });
});
