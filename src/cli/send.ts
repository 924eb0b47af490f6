/**
 * `ticklake send FILE`: puts newline-delimited records into the stream as they are, valid or
 * not, so the pipeline can be tested by hand (bad lines must end up in quarantine).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { access } from "node:fs/promises";
import { createInterface } from "node:readline";
import type { AwsClients } from "../aws/clients.ts";
import { KinesisShipper, partitionKeyOf } from "../aws/shipper.ts";
import { ConfigError } from "../core/errors.ts";
import { Envelope } from "../core/events.ts";

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

export async function send(clients: AwsClients, streamName: string, file: string): Promise<SendResult> {
  if (file !== "-") {
    await access(file).catch(() => {
      throw new ConfigError(
        `FILE must be a readable file of newline-delimited records, or - for stdin (got "${file}")`,
      );
    });
  }
  const input = file === "-" ? process.stdin : createReadStream(file, "utf8");
  const shipper = new KinesisShipper({ kinesis: clients.kinesis, streamName });
  const result: SendResult = { lines: 0, sent: 0, invalid: 0 };
  for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line.trim() === "") continue;
    result.lines++;
    const { key, valid } = partitionKeyFor(line);
    if (!valid) result.invalid++;
    shipper.shipRaw(line, key);
  }
  await shipper.flush();
  result.sent = shipper.stats.sent;
  return result;
}
