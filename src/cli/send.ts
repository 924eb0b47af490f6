/**
 * `ticklake send FILE`: puts newline-delimited records into the stream as they are, valid or
 * not, so the pipeline can be tested by hand (bad lines must end up in quarantine).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { access } from "node:fs/promises";
import { createInterface } from "node:readline";
import type { AwsClients } from "../aws/clients.ts";
import { KinesisShipper } from "../aws/shipper.ts";
import { ConfigError } from "../core/errors.ts";
import { Envelope } from "../core/events.ts";
import { partitionKeyOf } from "../core/partition-keys.ts";

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

export async function send(
  clients: AwsClients,
  streamName: string,
  file: string,
  options: { retime?: boolean } = {},
): Promise<SendResult> {
  if (file !== "-") {
    await access(file).catch(() => {
      throw new ConfigError(
        `FILE must be a readable file of newline-delimited records, or - for stdin (got "${file}")`,
      );
    });
  }
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
