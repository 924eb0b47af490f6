/**
 * A seeded, deterministic market: FX rates from correlated random walks of USD values (so
 * crosses are triangularly consistent by construction), stocks from geometric Brownian
 * motion with a market factor, and news that moves the prices it names. Pure: time is passed
 * in, randomness comes from the seed.
 */
import { roundTo } from "./decimal.ts";
import type { FxQuote, NewsArticle, StockQuote } from "./events.ts";
import { CURRENCIES, type Currency, FX_PAIRS, fxPrecision, STOCK_PRECISION, STOCKS } from "./instruments.ts";

/** mulberry32: a small, fast PRNG with a 32-bit state; good enough for simulated markets. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** USD value of one unit of each currency at the start. */
const USD_VALUE: Record<Currency, number> = {
  USD: 1,
  EUR: 1.085,
  GBP: 1.27,
  JPY: 1 / 151.5,
  CHF: 1 / 0.905,
  AUD: 0.655,
  CAD: 1 / 1.365,
  NZD: 0.605,
};

const YEAR_MS = 365 * 24 * 3600 * 1000;
const FX_VOLATILITY = 0.08;
const MARKET_VOLATILITY = 0.16;

interface StockState {
  symbol: string;
  price: number;
  volatility: number;
  beta: number;
}

export interface SimulatorOptions {
  seed: number;
  /** Epoch milliseconds of the first instant. */
  startMs: number;
}

export interface MarketTick {
  atMs: number;
  fx: FxQuote[];
  stocks: StockQuote[];
  news: NewsArticle[];
}

const NEWS_TEMPLATES: ReadonlyArray<{
  category: NewsArticle["category"];
  good: string;
  bad: string;
}> = [
  { category: "earnings", good: "{s} beats earnings estimates", bad: "{s} misses earnings estimates" },
  { category: "guidance", good: "{s} raises full-year guidance", bad: "{s} cuts full-year guidance" },
  { category: "m_and_a", good: "{s} agrees accretive acquisition", bad: "{s} deal collapses under scrutiny" },
  { category: "rating", good: "Analysts upgrade {s} to buy", bad: "Analysts downgrade {s} to sell" },
  { category: "product", good: "{s} launch draws record demand", bad: "{s} recalls flagship product" },
  { category: "legal", good: "{s} wins key patent ruling", bad: "{s} faces regulator probe" },
];

export class MarketSimulator {
  readonly #random: () => number;
  readonly #usdValue: Record<Currency, number>;
  readonly #stocks: Map<string, StockState>;
  #nowMs: number;
  #newsSeq = 0;
  #spare: number | undefined;

  constructor(options: SimulatorOptions) {
    this.#random = seededRandom(options.seed);
    this.#nowMs = options.startMs;
    this.#usdValue = { ...USD_VALUE };
    this.#stocks = new Map(
      STOCKS.map((s) => [
        s.symbol,
        { symbol: s.symbol, price: s.basePrice, volatility: s.volatility, beta: 0.6 + this.#random() * 0.9 },
      ]),
    );
  }

  get nowMs(): number {
    return this.#nowMs;
  }

  /** A standard normal draw (Box-Muller, caching the second value). */
  #normal(): number {
    if (this.#spare !== undefined) {
      const value = this.#spare;
      this.#spare = undefined;
      return value;
    }
    const u = Math.max(this.#random(), Number.MIN_VALUE);
    const v = this.#random();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.#spare = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }

  /** Advances the market to `atMs` and returns what changed: quotes and any news. */
  advance(atMs: number): MarketTick {
    const elapsedMs = Math.max(0, atMs - this.#nowMs);
    const dtYears = elapsedMs / YEAR_MS;
    this.#nowMs += elapsedMs;
    const sqrtDt = Math.sqrt(dtYears);

    const usdFactor = this.#normal();
    for (const currency of CURRENCIES) {
      if (currency === "USD") continue;
      // Half of each currency's move is the common dollar factor: majors move together.
      const shock = Math.SQRT1_2 * usdFactor + Math.SQRT1_2 * this.#normal();
      this.#usdValue[currency] *= Math.exp(
        FX_VOLATILITY * sqrtDt * shock - 0.5 * FX_VOLATILITY ** 2 * dtYears,
      );
    }

    const market = this.#normal();
    for (const stock of this.#stocks.values()) {
      const systematicVol = stock.beta * MARKET_VOLATILITY;
      // The rest of the stock's variance is its own, so total volatility stays as listed.
      const ownVol = Math.sqrt(Math.max(stock.volatility ** 2 - systematicVol ** 2, 0.01));
      const shock = systematicVol * market + ownVol * this.#normal();
      const ret = shock * sqrtDt - 0.5 * stock.volatility ** 2 * dtYears;
      stock.price = Math.max(0.5, stock.price * Math.exp(ret));
    }

    const news: NewsArticle[] = [];
    // About one article a minute of simulated time.
    if (this.#random() < Math.min(1, elapsedMs / 60_000)) news.push(this.#publishNews());

    return {
      atMs: this.#nowMs,
      fx: FX_PAIRS.map((pair) => this.fxQuote(pair)),
      stocks: [...this.#stocks.keys()].map((symbol) => this.stockQuote(symbol)),
      news,
    };
  }

  #publishNews(): NewsArticle {
    const symbols = [...this.#stocks.keys()];
    const symbol = symbols[Math.floor(this.#random() * symbols.length)] as string;
    const template = NEWS_TEMPLATES[
      Math.floor(this.#random() * NEWS_TEMPLATES.length)
    ] as (typeof NEWS_TEMPLATES)[number];
    const sentiment = roundTo((this.#random() * 2 - 1) * 0.9 + (this.#random() < 0.5 ? -0.05 : 0.05), 3);
    const stock = this.#stocks.get(symbol) as StockState;
    // The article moves the price it names, in its sentiment's direction.
    stock.price = Math.max(0.5, stock.price * (1 + 0.03 * sentiment));
    this.#newsSeq += 1;
    return {
      articleId: `sim-${this.#newsSeq}`,
      headline: (sentiment >= 0 ? template.good : template.bad).replace("{s}", symbol),
      summary: `${symbol}: simulated ${template.category.replace("_", " ")} news.`,
      category: template.category,
      symbols: [symbol],
      sentiment,
    };
  }

  /** Mid price of a pair from the USD values of its two currencies. */
  fxMid(pair: string): number {
    const base = this.#usdValue[pair.slice(0, 3) as Currency];
    const quote = this.#usdValue[pair.slice(3, 6) as Currency];
    if (base === undefined || quote === undefined) throw new RangeError(`unknown FX pair ${pair}`);
    return base / quote;
  }

  fxQuote(pair: (typeof FX_PAIRS)[number]): FxQuote {
    const places = fxPrecision(pair);
    const unit = 10 ** -places;
    const mid = this.fxMid(pair);
    // About 1 pip wide for majors; at least one pipette so that bid < ask always holds.
    const halfSpread = Math.max(unit, mid * 0.00005);
    const bid = roundTo(mid - halfSpread, places);
    const ask = roundTo(Math.max(mid + halfSpread, bid + unit), places);
    return { pair, bid, ask };
  }

  stockQuote(symbol: string): StockQuote {
    const stock = this.#stocks.get(symbol);
    if (!stock) throw new RangeError(`unknown stock symbol ${symbol}`);
    const last = roundTo(stock.price, STOCK_PRECISION);
    const halfSpread = Math.max(0.01, roundTo(stock.price * 0.0002, STOCK_PRECISION));
    const bid = roundTo(Math.max(0.01, last - halfSpread), STOCK_PRECISION);
    const ask = roundTo(Math.max(last + halfSpread, bid + 0.01), STOCK_PRECISION);
    return { symbol, bid, ask, last, volume: 100 * (1 + Math.floor(this.#random() * 50)) };
  }
}
