import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/core/errors.ts";
import { resourceSpec, validateSpec } from "../../src/core/spec.ts";
import { ProcessorConfig, readConfig } from "../../src/functions/config.ts";

describe("resourceSpec", () => {
  it("names every resource after the stage and keeps visibility ≥ 6 × processor timeout", () => {
    const spec = resourceSpec({ stage: "dev" });
    expect(spec.stream.name).toBe("ticklake-dev-logs");
    expect(spec.queue.dlqName).toBe("ticklake-dev-packed-dlq");
    expect(spec.queue.visibilityTimeoutSeconds).toBeGreaterThanOrEqual(6 * spec.processor.timeoutSeconds);
  });

  it("sets the committer's timeout and its queue's visibility timeout (6 ×) together, and range-checks it", () => {
    const spec = resourceSpec({ committerTimeoutSeconds: 3 });
    expect(spec.committer.timeoutSeconds).toBe(3);
    expect(spec.committerQueue.visibilityTimeoutSeconds).toBe(18);
    expect(resourceSpec().committer.timeoutSeconds).toBe(60);
    expect(() => resourceSpec({ committerTimeoutSeconds: 901 })).toThrow(
      "committer.timeoutSeconds must be an integer between 1 and 900 (got 901)",
    );
  });

  it("refuses a visibility timeout below 6 × the processor timeout, saying both numbers", () => {
    const spec = resourceSpec();
    const bad = { ...spec, queue: { ...spec.queue, visibilityTimeoutSeconds: 359 } };
    expect(() => validateSpec(bad)).toThrow(
      "queue.visibilityTimeoutSeconds must be at least 6 × processor.timeoutSeconds = 360 (got 359)",
    );
  });

  it("refuses out-of-range settings with the name, the allowed range and the value", () => {
    expect(() => resourceSpec({ shardCount: 0 })).toThrow(
      "stream.shardCount must be an integer between 1 and 500 (got 0)",
    );
    expect(() => resourceSpec({ stage: "Prod!" })).toThrow(ConfigError);
    const spec = resourceSpec();
    expect(() =>
      validateSpec({
        ...spec,
        processor: { ...spec.processor, batchSize: 100, maxBatchingWindowSeconds: 0 },
      }),
    ).toThrow(/maxBatchingWindowSeconds must be at least 1 when processor.batchSize is above 10/);
  });
});

describe("function configuration", () => {
  const good = {
    BUCKET_NAME: "ticklake-lake",
    TOPIC_ARN: "arn:aws:sns:us-east-1:000000000000:ticklake-topic",
  };

  it("reads and defaults settings", () => {
    expect(readConfig(ProcessorConfig, good)).toEqual({
      ...good,
      POWERTOOLS_SERVICE_NAME: "ticklake-processor",
      POWERTOOLS_METRICS_NAMESPACE: "ticklake",
    });
    const staged = {
      ...good,
      POWERTOOLS_SERVICE_NAME: "ticklake-dev-processor",
      POWERTOOLS_METRICS_NAMESPACE: "ticklake-dev",
    };
    expect(readConfig(ProcessorConfig, staged)).toEqual(staged);
    expect(() => readConfig(ProcessorConfig, { ...good, POWERTOOLS_METRICS_NAMESPACE: "no spaces" })).toThrow(
      /POWERTOOLS_METRICS_NAMESPACE must be a CloudWatch namespace/,
    );
  });

  it("names the variable, the value and what is allowed", () => {
    expect(() => readConfig(ProcessorConfig, { ...good, TOPIC_ARN: "topic" })).toThrow(
      'TOPIC_ARN must be an SNS topic ARN (got "topic")',
    );
    expect(() => readConfig(ProcessorConfig, { TOPIC_ARN: good.TOPIC_ARN })).toThrow(
      /BUCKET_NAME .* \(got nothing\)/,
    );
  });
});
