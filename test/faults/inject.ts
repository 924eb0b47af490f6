/**
 * Fault injection through AWS SDK middleware. A rule names a client's command and what happens
 * to the calls it picks; rules travel to the functions' worker threads as JSON in
 * TICKLAKE_FAULTS. Calls are picked by a hash of what they are about (an S3 key, the object a
 * notification announces), so the same object is picked in every execution environment, and
 * `once` (kept in files under TICKLAKE_FAULTS_DIR) lets a redelivery succeed.
 */
import { createHash, randomUUID } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KinesisClient } from "@aws-sdk/client-kinesis";
import { z } from "zod";
import type { AwsClients } from "../../src/aws/clients.ts";
import { sleep } from "../../src/core/backoff.ts";

/**
 * Where a rule's middleware goes: a function's clients (through its wrapper module,
 * processor-with-faults.ts or committer-with-faults.ts), or the local event sources' own
 * clients in the pipeline's process (their receives and deletes).
 */
export const FAULT_SITES = ["processor", "committer", "event-sources"] as const;
export type FaultSite = (typeof FAULT_SITES)[number];

export const FaultRule = z.strictObject({
  /** @default "processor" */
  in: z.enum(FAULT_SITES).default("processor"),
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
  /**
   * Only calls whose subject (see `subjectOf`: an S3 key, the object a notification announces,
   * else the input's JSON) matches this regular expression are considered.
   */
  subjectPattern: z
    .string()
    .refine(
      (pattern) => {
        try {
          new RegExp(pattern);
          return true;
        } catch {
          return false;
        }
      },
      { error: "must be a valid regular expression" },
    )
    .optional(),
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

/**
 * The subject of the catalog's compare-and-swap: a table's metadata file of version N ≥ 2
 * (version 1 creates the table), written with `If-None-Match: *` (src/aws/iceberg-s3.ts).
 */
export const COMMIT_METADATA_KEY = String.raw`/metadata/v(?!1\.)\d+\.metadata\.json$`;
/** The observation committer-with-faults.ts records when a commit's compare-and-swap loses. */
export const CAS_CONFLICTS = "commits that lost their compare-and-swap";

const OBSERVATION = "seen-";

/**
 * Records, in the rules' folder, that something a fault should cause happened (e.g. a commit
 * losing its compare-and-swap): an experiment shows its fault fired, not only that it was armed.
 */
export function recordObservation(dir: string, name: string): void {
  writeFileSync(join(dir, `${OBSERVATION}${Buffer.from(name).toString("hex")}-${randomUUID()}`), "", {
    flag: "wx",
  });
}

/**
 * What the rules' folder says happened: per `once` rule, the subjects it picked (one file each,
 * named `<index>-<hash>`), under `<command> <effect>` (`<site>: …` outside the processor);
 * and each observation's count under its name.
 */
export function faultTally(files: readonly string[], rules: readonly FaultRule[]): Record<string, number> {
  const tally: Record<string, number> = {};
  const add = (name: string) => {
    tally[name] = (tally[name] ?? 0) + 1;
  };
  for (const file of files) {
    const picked = /^(\d+)-[0-9a-f]{32}$/.exec(file);
    const rule = picked ? rules[Number(picked[1])] : undefined;
    if (rule) {
      const site = rule.in ?? "processor";
      add(`${site === "processor" ? "" : `${site}: `}${rule.command} ${rule.effect}`);
      continue;
    }
    const seen = new RegExp(`^${OBSERVATION}([0-9a-f]+)-`).exec(file);
    if (seen) add(Buffer.from(seen[1] as string, "hex").toString("utf8"));
  }
  return tally;
}

/** Adds the middleware of the rules meant for `site` to the clients. */
export function injectFaults(clients: AwsClients, rules: Rule[], dir: string, site: FaultSite): void {
  rules.forEach((rule, index) => {
    // Indices stay those of the whole list: the claim files name them.
    if (rule.in !== site) return;
    const pattern = rule.subjectPattern === undefined ? undefined : new RegExp(rule.subjectPattern);
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
        if (pattern && !pattern.test(subject)) return next(args);
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
