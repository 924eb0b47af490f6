/**
 * `ticklake send FILE`: puts newline-delimited records into the stream as they are, valid or
 * not, so the pipeline can be tested by hand (bad lines must end up in quarantine).
 */
import { createHash } from "node:crypto";
import { constants, createReadStream } from "node:fs";
import { access } from "node:fs/promises";
import { createInterface } from "node:readline";
import { DescribeStreamSummaryCommand } from "@aws-sdk/client-kinesis";
import type { AwsClients } from "../aws/clients.ts";
import { KinesisShipper } from "../aws/shipper.ts";
import { ConfigError } from "../core/errors.ts";
import { Envelope } from "../core/events.ts";
import { partitionKeyOf } from "../core/partition-keys.ts";
import { PreconditionError } from "./errors.ts";

export interface SendResult {
  lines: number;
  sent: number;
  /** Lines that are not valid envelopes: sent anyway, expected in quarantine. */
  invalid: number;
}

/** The instrument for valid envelopes; otherwise a hash of the line, spreading bad lines over shards. */
function partitionKeyFor(line: string): { key: string; valid: boolean } {
  try {
    const parsed = Envelope.safeParse(JSON.parse(line));
    if (parsed.success) return { key: partitionKeyOf(parsed.data), valid: true };
  } catch {
    // not JSON: sent as it is
  }
  return { key: createHash("sha1").update(line).digest("hex").slice(0, 16), valid: false };
}

/**
 * Shifts every record's `ts` by the same amount so that the latest is `nowMs`, keeping their
 * spacing; lines without a readable `ts` stay as they are. For sample and historical files,
 * whose fixed times would otherwise fall outside the event-time window and be quarantined.
 */
export function retime(lines: readonly string[], nowMs: number): string[] {
  const parsed = lines.map((line) => {
    try {
      const value = JSON.parse(line) as unknown;
      if (value && typeof value === "object" && !Array.isArray(value)) {
        const ts = Date.parse(String((value as { ts?: unknown }).ts));
        if (Number.isFinite(ts)) return { value: value as Record<string, unknown>, ts };
      }
    } catch {
      // not JSON: sent as it is
    }
    return undefined;
  });
  const latest = Math.max(...parsed.map((p) => p?.ts ?? Number.NEGATIVE_INFINITY));
  if (!Number.isFinite(latest)) return [...lines];
  return lines.map((line, i) => {
    const record = parsed[i];
    if (!record) return line;
    return JSON.stringify({ ...record.value, ts: new Date(record.ts + nowMs - latest).toISOString() });
  });
}

async function* linesOf(file: string): AsyncGenerator<string> {
  const input = file === "-" ? process.stdin : createReadStream(file, "utf8");
  for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line.trim() !== "") yield line;
  }
}

/** FILE is `-` (stdin) or a file this process can read; otherwise a ConfigError says so. */
export async function checkReadable(file: string): Promise<void> {
  if (file === "-") return;
  await access(file, constants.R_OK).catch(() => {
    throw new ConfigError(
      `FILE must be a readable file of newline-delimited records, or - for stdin (got "${file}")`,
    );
  });
}

export async function send(
  clients: AwsClients,
  streamName: string,
  file: string,
  options: { retime?: boolean } = {},
): Promise<SendResult> {
  await checkReadable(file);
  // The shipper retries an unreachable stream for ever: ask once first, so that a wrong
  // endpoint or stream name fails at once and says so.
  await clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName })).catch((error) => {
    if ((error as Error).name !== "ResourceNotFoundException") throw error;
    throw new PreconditionError(
      `no stream named ${streamName}: is the pipeline provisioned (\`ticklake provision\`)?`,
      {
        cause: error,
      },
    );
  });
  const shipper = new KinesisShipper({ kinesis: clients.shippingKinesis, streamName });
  const result: SendResult = { lines: 0, sent: 0, invalid: 0 };
  let lines: AsyncIterable<string> | Iterable<string> = linesOf(file);
  if (options.retime) {
    // The shift needs the latest time first: the whole file is read before sending.
    const all: string[] = [];
    for await (const line of lines) all.push(line);
    lines = retime(all, Date.now());
  }
  for await (const line of lines) {
    result.lines++;
    const { key, valid } = partitionKeyFor(line);
    if (!valid) result.invalid++;
    shipper.shipRaw(line, key);
  }
  await shipper.flush();
  result.sent = shipper.stats.sent;
  return result;
}
