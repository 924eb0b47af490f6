/**
 * A load generator: simulated users requesting quotes and news at a target rate, with a
 * realistic mix that includes some bad requests (so 4xx responses get logged too).
 * Bounded: it stops at `stop()` and never has more than `maxInFlight` requests open.
 */
import { FX_PAIRS, STOCK_SYMBOLS } from "../core/instruments.ts";
import { seededRandom } from "../core/simulator.ts";

export interface TrafficOptions {
  baseUrl: string;
  /** Requests per second. */
  rate: number;
  seed: number;
  /** @default 64 */
  maxInFlight?: number;
}

export interface TrafficStats {
  sent: number;
  ok: number;
  clientErrors: number;
  serverErrors: number;
  failed: number;
  /** Requests not sent because `maxInFlight` were already open. */
  skipped: number;
}

export function trafficPath(random: () => number): string {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
  const roll = random();
  if (roll < 0.4) return `/v1/stocks/${pick(STOCK_SYMBOLS)}`;
  if (roll < 0.7) return `/v1/fx/${pick(FX_PAIRS)}`;
  if (roll < 0.82) return `/v1/fx/rates?base=${pick(["USD", "EUR", "GBP", "JPY"])}`;
  if (roll < 0.95)
    return `/v1/news?limit=${1 + Math.floor(random() * 20)}${random() < 0.5 ? `&symbol=${pick(STOCK_SYMBOLS)}` : ""}`;
  return pick(["/v1/stocks/NOPE", "/v1/fx/XXXYYY", "/v1/news?limit=0", "/v1/fx/rates?base=ABC"]);
}

export class TrafficGenerator {
  readonly #options: TrafficOptions;
  readonly #random: () => number;
  readonly stats: TrafficStats = { sent: 0, ok: 0, clientErrors: 0, serverErrors: 0, failed: 0, skipped: 0 };
  #timer: NodeJS.Timeout | undefined;
  readonly #open = new Set<Promise<void>>();

  constructor(options: TrafficOptions) {
    this.#options = options;
    this.#random = seededRandom(options.seed);
  }

  start(): void {
    if (this.#options.rate <= 0) return;
    // Ticks of 10 ms carry the fractional rate forward, so 25/s is 25/s and not 0 or 100.
    const tickMs = 10;
    let credit = 0;
    this.#timer = setInterval(() => {
      credit += (this.#options.rate * tickMs) / 1000;
      while (credit >= 1) {
        credit -= 1;
        this.#request();
      }
    }, tickMs);
  }

  #request(): void {
    if (this.#open.size >= (this.#options.maxInFlight ?? 64)) {
      this.stats.skipped++;
      return;
    }
    this.stats.sent++;
    const request = fetch(`${this.#options.baseUrl}${trafficPath(this.#random)}`)
      .then(async (response) => {
        await response.arrayBuffer();
        if (response.status < 400) this.stats.ok++;
        else if (response.status < 500) this.stats.clientErrors++;
        else this.stats.serverErrors++;
      })
      .catch(() => {
        this.stats.failed++;
      })
      .finally(() => this.#open.delete(request));
    this.#open.add(request);
  }

  /** Stops issuing requests and waits for the open ones. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all([...this.#open]);
  }
}
