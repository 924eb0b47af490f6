/**
 * The live market behind the API: advances the simulator on a timer, keeps the latest quotes
 * and recent news, and logs each tick's quotes as envelopes (the "tick log").
 */
import { type Envelope, type EnvelopeSource, envelopeOf, type NewsArticle } from "../core/events.ts";
import { FX_PAIRS } from "../core/instruments.ts";
import { MarketSimulator } from "../core/simulator.ts";

export interface LogSink {
  ship(envelope: Envelope): void;
}

export interface MarketFeedOptions {
  seed: number;
  source: EnvelopeSource;
  sink: LogSink;
  /** Simulated ticks per second; each logs every FX and stock quote. 0 logs no ticks. @default 1 */
  ticksPerSecond?: number;
  /** Recent articles kept for the news endpoint. @default 500 */
  newsCapacity?: number;
  now?: () => number;
}

export class MarketFeed {
  readonly simulator: MarketSimulator;
  readonly #options: MarketFeedOptions;
  readonly #news: Array<{ article: NewsArticle; atMs: number }> = [];
  #timer: NodeJS.Timeout | undefined;
  /** Log records the sink refused (full buffer); served anyway. */
  refused = 0;

  constructor(options: MarketFeedOptions) {
    this.#options = options;
    this.simulator = new MarketSimulator({ seed: options.seed, startMs: this.now() });
  }

  now(): number {
    return this.#options.now?.() ?? Date.now();
  }

  /** Ships an envelope; a refusal is counted, never thrown at a request. */
  log(envelope: Envelope): void {
    try {
      this.#options.sink.ship(envelope);
    } catch {
      this.refused++;
    }
  }

  /** Advances the market to now; logs quotes when `logQuotes`, and always logs news. */
  tick(logQuotes = true): void {
    const atMs = this.now();
    const tick = this.simulator.advance(atMs);
    const source = this.#options.source;
    for (const article of tick.news) {
      this.#news.push({ article, atMs });
      if (this.#news.length > (this.#options.newsCapacity ?? 500)) this.#news.shift();
      this.log(envelopeOf("news.article", article, source, atMs));
    }
    if (!logQuotes) return;
    for (const quote of tick.fx) this.log(envelopeOf("fx.quote", quote, source, atMs));
    for (const quote of tick.stocks) this.log(envelopeOf("stock.quote", quote, source, atMs));
  }

  start(): void {
    const perSecond = this.#options.ticksPerSecond ?? 1;
    if (perSecond <= 0) return;
    this.#timer = setInterval(() => this.tick(), 1000 / perSecond);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Newest first, optionally only articles naming `symbol`. */
  news(options: { symbol?: string; limit: number; offset: number }): NewsArticle[] {
    const matching = this.#news
      .filter((entry) => options.symbol === undefined || entry.article.symbols.includes(options.symbol))
      .reverse();
    return matching.slice(options.offset, options.offset + options.limit).map((entry) => entry.article);
  }

  fxPairs(): readonly string[] {
    return FX_PAIRS;
  }
}
