/**
 * EMULATOR-SPECIFIC: fauxqs (1.9) accepts a queue's MessageRetentionPeriod but never applies
 * it, so a queue nobody reads, such as the `…-notifications` queue left for people and tools,
 * kept every notification in the emulator host's memory for as long as the host ran: the
 * 30-minute soak measured the host's heap growing with it. SQS deletes a message once it is
 * older than its queue's retention period; `expireMessages` does the same to fauxqs's store,
 * and the host runs it every RETENTION_SWEEP_MS. Real SQS needs none of it.
 *
 * fauxqs exports no store type, so its stores are imported from the files that define them
 * (the version is pinned by the lockfile) and handed to `buildApp`, which takes them as they
 * are; `test/unit/sqs-retention.test.ts` checks the expiry against that store.
 */
import { S3Store } from "../../node_modules/fauxqs/dist/s3/s3Store.js";
import { SnsStore } from "../../node_modules/fauxqs/dist/sns/snsStore.js";
import { SqsStore } from "../../node_modules/fauxqs/dist/sqs/sqsStore.js";

/** fauxqs's stores for `buildApp({ stores })`, so that the host can reach its queues. */
export function fauxqsStores(): { sqsStore: SqsStore; snsStore: SnsStore; s3Store: S3Store } {
  return { sqsStore: new SqsStore(), snsStore: new SnsStore(), s3Store: new S3Store() };
}

/** How often the host expires messages: SQS itself is lazy about it, within about a minute. */
export const RETENTION_SWEEP_MS = 30_000;

/**
 * Drops every waiting or delayed message older than its queue's MessageRetentionPeriod at
 * `nowMs`; a message in flight is left to its receiver, and dropped once it is back. Returns
 * how many were dropped.
 */
export function expireMessages(store: SqsStore, nowMs: number): number {
  let expired = 0;
  for (const queue of store.listQueues()) {
    const retentionMs = Number(queue.getAttribute("MessageRetentionPeriod")) * 1_000;
    if (!Number.isFinite(retentionMs) || retentionMs <= 0) continue;
    const cutoff = nowMs - retentionMs;
    const keep = <T extends { sentTimestamp: number }>(messages: T[]): T[] => {
      const kept = messages.filter((message) => message.sentTimestamp > cutoff);
      expired += messages.length - kept.length;
      return kept;
    };
    queue.messages = keep(queue.messages);
    queue.delayedMessages = keep(queue.delayedMessages);
    for (const groups of [queue.fifoMessages, queue.fifoDelayed]) {
      for (const [group, messages] of groups) {
        const kept = keep(messages);
        if (kept.length > 0) groups.set(group, kept);
        else groups.delete(group);
      }
    }
  }
  return expired;
}
