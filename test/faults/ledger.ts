/**
 * The ledger of a fault experiment: every event it sent (with how many copies went into the
 * stream) and every poison record it injected (with a marker the auditor finds in quarantine).
 * Event data comes from the seeded market simulator.
 */
import { PutRecordsCommand } from "@aws-sdk/client-kinesis";
import type { AwsClients } from "../../src/aws/clients.ts";
import { sleep } from "../../src/core/backoff.ts";
import { type Envelope, envelopeOf } from "../../src/core/events.ts";
import { MarketSimulator } from "../../src/core/simulator.ts";

export const POISON_KINDS = ["invalid-json", "schema", "oversize", "late", "future"] as const;
export type PoisonKind = (typeof POISON_KINDS)[number];

const DAY = 86_400_000;

export class Ledger {
  /** Valid events sent, by id. */
  readonly events = new Map<string, Envelope>();
  /** Times each id was put into the stream: more than one when the producer re-sent it. */
  readonly copies = new Map<string, number>();
  /** Injected poison records; `id` where the record carries an envelope's id (no table may hold it). */
  readonly poison: Array<{ marker: string; kind: PoisonKind; id?: string }> = [];
  readonly #simulator: MarketSimulator;
  readonly #source = { service: "faults", instance: "ledger" };

  constructor(seed: number) {
    this.#simulator = new MarketSimulator({ seed, startMs: Date.now() });
  }

  /** `count` new valid events of the simulated market, stamped now. */
  make(count: number): Envelope[] {
    const out: Envelope[] = [];
    while (out.length < count) {
      const now = Date.now();
      const tick = this.#simulator.advance(now);
      for (const quote of [...tick.fx, ...tick.stocks]) {
        if (out.length === count) break;
        const type = "pair" in quote ? "fx.quote" : "stock.quote";
        out.push(envelopeOf(type, quote as never, this.#source, now));
      }
    }
    return out;
  }

  /** Records the events as sent (once more, if sent before) and returns their texts. */
  send(events: readonly Envelope[]): string[] {
    for (const event of events) {
      this.events.set(event.id, event);
      this.copies.set(event.id, (this.copies.get(event.id) ?? 0) + 1);
    }
    return events.map((event) => JSON.stringify(event));
  }

  /** Poison records of a kind; each carries a marker. Oversize ones exceed `limitBytes`. */
  makePoison(kind: PoisonKind, count: number, limitBytes: number): string[] {
    return Array.from({ length: count }, () => {
      const marker = `poison-${kind}-${this.poison.length}`;
      const [valid] = this.make(1) as [Envelope];
      const enveloped = kind === "schema" || kind === "late" || kind === "future";
      this.poison.push({ marker, kind, ...(enveloped ? { id: valid.id } : {}) });
      const marked = { ...valid, source: { service: "faults", instance: marker } };
      const texts: Record<PoisonKind, () => string> = {
        "invalid-json": () => `{"marker": "${marker}", "v": 1, "type": "fx.quote"`,
        schema: () => JSON.stringify({ ...marked, v: 7 }),
        oversize: () => JSON.stringify({ marker, padding: "x".repeat(limitBytes) }),
        late: () => JSON.stringify({ ...marked, ts: new Date(Date.now() - 8 * DAY).toISOString() }),
        future: () => JSON.stringify({ ...marked, ts: new Date(Date.now() + 2 * 3_600_000).toISOString() }),
      };
      return texts[kind]();
    });
  }
}

/** Puts records into the stream as a plain producer: 250 a call, failed entries again. */
export async function putRecords(
  clients: AwsClients,
  stream: string,
  texts: readonly string[],
): Promise<void> {
  for (let i = 0; i < texts.length; i += 250) {
    let pending = texts.slice(i, i + 250).map((text, j) => ({
      Data: Buffer.from(text),
      PartitionKey: `key-${(i + j) % 16}`,
    }));
    for (let attempt = 1; pending.length > 0; attempt++) {
      const answer = await clients.kinesis.send(
        new PutRecordsCommand({ StreamName: stream, Records: pending }),
      );
      pending = pending.filter((_, k) => answer.Records?.[k]?.ErrorCode);
      if (pending.length > 0) await sleep(50 * attempt);
    }
  }
}
