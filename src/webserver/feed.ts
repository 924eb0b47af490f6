/**
 * The live market behind the API: advances the simulator on a timer, keeps the latest quotes
 * and recent news, and logs each tick's quotes as envelopes (the "tick log").
 */
import { EventEmitter } from "node:events";
import { ShipperRefusal } from "../aws/errors.ts";
import { type Envelope, type EnvelopeSource, envelopeOf, type NewsArticle } from "../core/events.ts";
import { FX_PAIRS } from "../core/instruments.ts";
import { MarketSimulator, type MarketTick } from "../core/simulator.ts";

/** A 1-minute OHLCV bar of a stock's last-trade price. */
export interface Bar {
  /** Start of the minute, ISO-8601 UTC. */
  minute: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

const BARS_KEPT = 120;

export interface LogSink {
  /** Takes an envelope, or throws a ShipperRefusal. */
  ship(envelope: Envelope): void;
}

export interface MarketFeedOptions {
  seed: number;
  source: EnvelopeSource;
  sink: LogSink;
  /** Simulated ticks per second; each logs every FX and stock quote. 0 logs no ticks. @default 1 */
  ticksPerSecond?: number;
  /** Trading sessions: `us` (New York hours) or `always-open`. @default "always-open" */
  session?: "us" | "always-open";
  /** Simulated news articles per minute. @default 1 */
  newsPerMinute?: number;
  /** Recent articles kept for the news endpoint. @default 500 */
  newsCapacity?: number;
  now?: () => number;
}

export class MarketFeed {
  readonly simulator: MarketSimulator;
  readonly #options: MarketFeedOptions;
  readonly #news: Array<{ article: NewsArticle; atMs: number }> = [];
  readonly #bars = new Map<string, Bar[]>();
  /** Emits "tick" with each MarketTick, for live streams. */
  readonly events = new EventEmitter();
  #timer: NodeJS.Timeout | undefined;
  /** Log records the sink refused (full buffer); served anyway. */
  refused = 0;

  constructor(options: MarketFeedOptions) {
    this.#options = options;
    this.simulator = new MarketSimulator({
      seed: options.seed,
      startMs: this.now(),
      ...(options.session ? { session: options.session } : {}),
      ...(options.newsPerMinute === undefined ? {} : { newsPerMinute: options.newsPerMinute }),
    });
  }

  now(): number {
    return this.#options.now?.() ?? Date.now();
  }

  /**
   * Ships an envelope; a refusal (a full or stopped shipper) is counted, never thrown at a
   * request. Any other error is a bug, and is thrown.
   */
  log(envelope: Envelope): void {
    try {
      this.#options.sink.ship(envelope);
    } catch (error) {
      if (!(error instanceof ShipperRefusal)) throw error;
      this.refused++;
    }
  }

  /** Advances the market to now; logs quotes when `logQuotes`, and always logs news. */
  tick(logQuotes = true): void {
    const atMs = this.now();
    const tick = this.simulator.advance(atMs);
    this.#recordBars(tick);
    this.events.emit("tick", tick);
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

  #recordBars(tick: MarketTick): void {
    const minute = new Date(Math.floor(tick.atMs / 60_000) * 60_000).toISOString();
    for (const quote of tick.stocks) {
      const bars = this.#bars.get(quote.symbol) ?? [];
      const current = bars.at(-1);
      if (current?.minute === minute) {
        current.high = Math.max(current.high, quote.last);
        current.low = Math.min(current.low, quote.last);
        current.close = quote.last;
        current.volume += quote.volume;
      } else {
        bars.push({
          minute,
          open: quote.last,
          high: quote.last,
          low: quote.last,
          close: quote.last,
          volume: quote.volume,
        });
        if (bars.length > BARS_KEPT) bars.shift();
      }
      this.#bars.set(quote.symbol, bars);
    }
  }

  /** The most recent 1-minute bars of a stock, oldest first. */
  bars(symbol: string, limit: number): Bar[] {
    return (this.#bars.get(symbol) ?? []).slice(-limit).map((bar) => ({ ...bar }));
  }

  start(): void {
    const perSecond = this.#options.ticksPerSecond ?? 1;
    if (perSecond <= 0) return;
    this.#timer = setInterval(() => this.tick(), 1000 / perSecond);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.events.emit("stop");
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
