/**
 * What `ticklake up --target aws` sees of a deployed pipeline, tried on the local one: the
 * functions run behind the local event sources (standing in for Lambda), and DeployedPipeline
 * observes only through the stack's outputs — queue depths and its own subscriber queue.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeployedPipeline } from "../../src/aws/deployed-pipeline.ts";
import { KinesisShipper } from "../../src/aws/shipper.ts";
import type { StackOutputs } from "../../src/aws/stack-outputs.ts";
import { resourceSpec } from "../../src/core/spec.ts";
import { fxQuote, stockQuote } from "../support/factories.ts";
import { LocalRun } from "../support/pipeline.ts";

describe("DeployedPipeline (the view of `up --target aws`)", () => {
  let run: LocalRun;

  beforeAll(async () => {
    run = await LocalRun.start(resourceSpec({ stage: "view" }));
  });
  afterAll(async () => {
    await run.stop();
  });

  it("counts stored and quarantined records from its own subscription and drains on them", async () => {
    const r = run.pipeline.resources;
    const outputs: StackOutputs = {
      StreamName: r.streamName,
      QueueUrl: r.queueUrl,
      DlqUrl: r.dlqUrl,
      BucketName: r.bucket,
      TopicArn: r.topicArn,
      NotificationQueueUrl: r.notificationQueueUrl,
      ApiUrl: "http://unused",
    };
    const view = await DeployedPipeline.start(run.pipeline.clients, outputs, "view-up-monitor");
    try {
      const shipper = new KinesisShipper({ kinesis: view.clients.kinesis, streamName: view.streamName });
      const now = Date.now();
      for (let i = 0; i < 300; i++) shipper.ship(i % 2 ? fxQuote(now + i) : stockQuote(now + i));
      shipper.shipRaw("garbage", "g1");
      shipper.shipRaw('{"v":1}', "g2");
      await shipper.flush();

      expect(await view.drain(60_000, shipper.stats.sent)).toBe(true);
      const counts = await view.counts();
      expect(counts).toMatchObject({ bridged: undefined, stored: 300, quarantined: 2, dlq: 0, queued: 0 });
      expect(counts.objects).toBe(run.pipeline.notifications.tally.objects);
      // A drain that cannot end names what it waits for.
      expect(await view.drain(500, 303)).toBe(false);
      expect(view.drainPending).toEqual(["302 of 303 records stored or quarantined"]);
    } finally {
      await view.stop();
    }
  });
});
