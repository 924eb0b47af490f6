/**
 * Fault injection through AWS SDK middleware. A rule names a client's command and what happens
 * to the calls it picks; rules travel to the functions' worker threads as JSON in
 * TICKLAKE_FAULTS. Calls are picked by a hash of what they are about (an S3 key, the object a
 * notification announces), so the same object is picked in every execution environment, and
 * `once` (kept in files under TICKLAKE_FAULTS_DIR) lets a redelivery succeed.
 */
import { createHash } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KinesisClient } from "@aws-sdk/client-kinesis";
import { z } from "zod";
import type { AwsClients } from "../../src/aws/clients.ts";
import { sleep } from "../../src/core/backoff.ts";

export const FaultRule = z.strictObject({
  service: z.enum(["kinesis", "sqs", "sns", "s3"]),
  /** The SDK command, e.g. `PutObjectCommand`. */
  command: z.string().regex(/^[A-Za-z]+Command$/),
  /**
   * - `fail`: the call fails without reaching the service (503 ServiceUnavailable);
   * - `fail-after`: the call takes effect, then the caller sees a 503;
   * - `crash-before`: the runtime exits instead of making the call (a crashed Lambda);
   * - `crash-after`: the call takes effect, then the runtime exits;
   * - `delay`: the call waits `delayMs` first;
   * - `outage`: every call fails from `startsAtMs` for `durationMs`.
   * Any other effect with a `durationMs` applies only from `startsAtMs` for that long.
   */
  effect: z.enum(["fail", "fail-after", "crash-before", "crash-after", "delay", "outage"]),
  /** The share of calls picked, by a hash of their subject. @default 1 */
  share: z.number().min(0).max(1).default(1),
  /** Each subject at most once, across execution environments. */
  once: z.boolean().default(false),
  /**
   * With `once`: at most this many subjects in all. A crash returns every message of its
   * batch, so a message can meet one crash per picked subject; fewer picks than SQS's
   * maxReceiveCount keep every message out of the DLQ whatever the batches hold.
   */
  limit: z.int().positive().optional(),
  delayMs: z.int().nonnegative().default(0),
  startsAtMs: z.int().nonnegative().default(0),
  durationMs: z.int().nonnegative().default(0),
});
export type FaultRule = z.input<typeof FaultRule>;
type Rule = z.output<typeof FaultRule>;

export const FAULTS_ENV = "TICKLAKE_FAULTS";
export const FAULTS_DIR_ENV = "TICKLAKE_FAULTS_DIR";

/** Rules from the environment, validated; an empty list when unset. */
export function faultsFromEnv(env: NodeJS.ProcessEnv): { rules: Rule[]; dir: string } {
  const text = env[FAULTS_ENV];
  if (!text) return { rules: [], dir: "" };
  const parsed = z.array(FaultRule).safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${FAULTS_ENV} is not a list of fault rules: ${parsed.error.message}`);
  const dir = env[FAULTS_DIR_ENV];
  if (!dir) throw new Error(`${FAULTS_DIR_ENV} must name a folder for the rules' memory`);
  return { rules: parsed.data, dir };
}

/** The environment that carries rules to the functions. */
export function faultsEnv(rules: FaultRule[], dir: string): Record<string, string> {
  return { [FAULTS_ENV]: JSON.stringify(rules), [FAULTS_DIR_ENV]: dir };
}

export function injectedError(command: string): Error {
  return Object.assign(new Error(`injected fault: ${command} failed with 503 ServiceUnavailable`), {
    name: "ServiceUnavailable",
    $fault: "server",
    $metadata: { httpStatusCode: 503 },
  });
}

/** What a call is about: the object key it writes or announces, else its whole input. */
function subjectOf(input: Record<string, unknown>): string {
  if (typeof input.Key === "string") return input.Key;
  if (typeof input.Message === "string") {
    try {
      const key = (JSON.parse(input.Message) as { key?: unknown }).key;
      if (typeof key === "string") return key;
    } catch {
      // not a manifest: fall through
    }
  }
  return JSON.stringify(input);
}

const hashShare = (text: string) => createHash("sha256").update(text).digest().readUInt32BE(0) / 2 ** 32;

/** Creates a file that must not exist yet: the claim of every execution environment at once. */
function claimFile(path: string): boolean {
  try {
    writeFileSync(path, "", { flag: "wx" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Claims a subject for a rule once across every environment; false when already claimed, or
 * when the rule's `limit` of subjects is reached. The subject files (`<index>-<hash>`) are the
 * picks the experiment counts; slots (`slot-<index>-<n>`) only bound them.
 */
function claimOnce(dir: string, index: number, subject: string, limit: number | undefined): boolean {
  const subjectFile = join(
    dir,
    `${index}-${createHash("sha256").update(subject).digest("hex").slice(0, 32)}`,
  );
  if (limit === undefined) return claimFile(subjectFile);
  for (let slot = 0; slot < limit; slot++) {
    const slotFile = join(dir, `slot-${index}-${slot}`);
    if (!claimFile(slotFile)) continue;
    if (claimFile(subjectFile)) return true;
    rmSync(slotFile);
    return false;
  }
  return false;
}

/** Adds the rules' middleware to the clients. */
export function injectFaults(clients: AwsClients, rules: Rule[], dir: string): void {
  rules.forEach((rule, index) => {
    // One middleware for any client: the stacks differ only in their command types.
    const stack = clients[rule.service].middlewareStack as unknown as {
      add(
        middleware: (
          next: (args: { input: Record<string, unknown> }) => Promise<unknown>,
          context: { commandName?: string },
        ) => (args: { input: Record<string, unknown> }) => Promise<unknown>,
        options: { step: "initialize"; name: string },
      ): void;
    };
    stack.add(
      (next, context) => async (args) => {
        if (context.commandName !== rule.command) return next(args);
        const now = Date.now();
        const inWindow = now >= rule.startsAtMs && now < rule.startsAtMs + rule.durationMs;
        if (rule.effect === "outage") {
          if (inWindow) throw injectedError(rule.command);
          return next(args);
        }
        if (rule.durationMs > 0 && !inWindow) return next(args);
        const subject = subjectOf(args.input);
        const picked =
          hashShare(`${index}/${subject}`) < rule.share &&
          (!rule.once || claimOnce(dir, index, subject, rule.limit));
        if (!picked) return next(args);
        switch (rule.effect) {
          case "fail":
            throw injectedError(rule.command);
          case "delay":
            await sleep(rule.delayMs);
            return next(args);
          case "fail-after":
            await next(args);
            throw injectedError(rule.command);
          case "crash-before":
            process.exit(70);
            break;
          case "crash-after":
            await next(args);
            process.exit(70);
        }
      },
      { step: "initialize", name: `ticklakeFault${index}` },
    );
  });
}

/**
 * Throttles a share of PutRecords entries: they are not sent, and come back failed. Only
 * while `active()` holds, when given.
 */
export function injectThrottling(
  kinesis: KinesisClient,
  share: number,
  active: () => boolean = () => true,
): () => number {
  let throttled = 0;
  let n = 0;
  kinesis.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== "PutRecordsCommand" || !active()) return next(args);
      const input = args.input as { Records: unknown[] };
      const all = input.Records;
      // Deterministic: every entry whose running number falls in the share is throttled.
      const keep = all.map(() => (n++ * share) % 1 >= share);
      const result = await next({ ...args, input: { ...input, Records: all.filter((_, i) => keep[i]) } });
      const sentResults = [...((result.output as { Records?: unknown[] }).Records ?? [])];
      const records = keep.map((kept) => {
        if (kept) return sentResults.shift();
        throttled++;
        return {
          ErrorCode: "ProvisionedThroughputExceededException",
          ErrorMessage: "Rate exceeded (injected)",
        };
      });
      (result.output as { Records?: unknown[]; FailedRecordCount?: number }).Records = records;
      (result.output as { FailedRecordCount?: number }).FailedRecordCount = keep.filter((k) => !k).length;
      return result;
    },
    { step: "initialize", name: "injectThrottling" },
  );
  return () => throttled;
}

/**
 * Every third PutRecords call (counted across `clients`) is stored, then its answer is lost as
 * if the connection died. At `initialize` the SDK's retries never see the loss; at
 * `deserialize` they do, and would retry the stored call. Returns the calls counted so far.
 */
export function injectLostAnswers(
  clients: readonly KinesisClient[],
  step: "initialize" | "deserialize",
): () => number {
  let calls = 0;
  const loseAnswer =
    <A, R>(next: (args: A) => Promise<R>, commandName: string | undefined) =>
    async (args: A) => {
      const result = await next(args);
      if (commandName === "PutRecordsCommand" && calls++ % 3 === 0) {
        throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
      }
      return result;
    };
  for (const client of clients) {
    const name = "loseAnswers";
    // The stack types each step's middleware apart, hence one call per step.
    if (step === "initialize")
      client.middlewareStack.add((next, context) => loseAnswer(next, context.commandName), { step, name });
    else client.middlewareStack.add((next, context) => loseAnswer(next, context.commandName), { step, name });
  }
  return () => calls;
}
