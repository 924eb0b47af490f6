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
  /**
   * `us`: stocks trade in the US sessions (pre-market, regular, after-hours) and rest when
   * closed; `always-open`: every moment trades like the regular session, for demos.
   * @default "always-open"
   */
  session?: "us" | "always-open";
  /** Expected articles per simulated minute. @default 1 */
  newsPerMinute?: number;
}

export type SessionPhase = "pre-market" | "regular" | "after-hours" | "closed";

const NEW_YORK = new Intl.DateTimeFormat("en-US", {
  timeZone: "America/New_York",
  weekday: "short",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});

/** The US equity session at an instant: 04:00-09:30, 09:30-16:00, 16:00-20:00 New York time, weekdays. */
export function usSessionAt(epochMs: number): SessionPhase {
  const parts = Object.fromEntries(NEW_YORK.formatToParts(epochMs).map((p) => [p.type, p.value]));
  if (parts.weekday === "Sat" || parts.weekday === "Sun") return "closed";
  const minutes = Number(parts.hour) * 60 + Number(parts.minute);
  if (minutes >= 4 * 60 && minutes < 9 * 60 + 30) return "pre-market";
  if (minutes >= 9 * 60 + 30 && minutes < 16 * 60) return "regular";
  if (minutes >= 16 * 60 && minutes < 20 * 60) return "after-hours";
  return "closed";
}

/** How much of the regular session's activity (volume, volatility) each phase has. */
const SESSION_ACTIVITY: Record<SessionPhase, number> = {
  "pre-market": 0.25,
  regular: 1,
  "after-hours": 0.2,
  closed: 0,
};

export interface MarketTick {
  atMs: number;
  session: SessionPhase;
  fx: FxQuote[];
  /** Quotes of the stocks; empty while the stock market is closed. */
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

const CENTRAL_BANKS: Partial<Record<Currency, string>> = {
  EUR: "ECB",
  GBP: "Bank of England",
  JPY: "Bank of Japan",
  CHF: "SNB",
  AUD: "RBA",
  CAD: "Bank of Canada",
  NZD: "RBNZ",
};

/** Share of articles that are central-bank decisions about a currency. */
const MACRO_SHARE = 0.15;
/** Jumps that are not news: about one a day per stock, 2 % typical size. */
const JUMPS_PER_YEAR = 250;
const JUMP_SIZE = 0.02;
/** News raises an instrument's volatility this much, decaying with this half-life. */
const NEWS_VOL_BOOST = 3;
const VOL_HALF_LIFE_MS = 10 * 60_000;

/**
 * Articles never change once published: frozen, so that what was served, logged and cached
 * (the shipper serializes each article once) stays the same.
 */
function published(article: NewsArticle): NewsArticle {
  Object.freeze(article.symbols);
  return Object.freeze(article);
}

export class MarketSimulator {
  readonly #random: () => number;
  readonly #usdValue: Record<Currency, number>;
  readonly #stocks: Map<string, StockState>;
  /** Extra volatility per instrument (stock symbol or currency) after news; decays. */
  readonly #volBoost = new Map<string, number>();
  readonly #session: "us" | "always-open";
  readonly #newsPerMinute: number;
  #nowMs: number;
  #newsSeq = 0;
  #spare: number | undefined;

  constructor(options: SimulatorOptions) {
    this.#random = seededRandom(options.seed);
    this.#nowMs = options.startMs;
    this.#session = options.session ?? "always-open";
    this.#newsPerMinute = options.newsPerMinute ?? 1;
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

  sessionAt(epochMs: number): SessionPhase {
    return this.#session === "always-open" ? "regular" : usSessionAt(epochMs);
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

  /** 1 plus the decayed news boost of an instrument's volatility. */
  #volMultiplier(instrument: string): number {
    return 1 + (this.#volBoost.get(instrument) ?? 0);
  }

  #decayBoosts(elapsedMs: number): void {
    const factor = 0.5 ** (elapsedMs / VOL_HALF_LIFE_MS);
    for (const [instrument, boost] of this.#volBoost) {
      const next = boost * factor;
      if (next < 0.01) this.#volBoost.delete(instrument);
      else this.#volBoost.set(instrument, next);
    }
  }

  /** Advances the market to `atMs` and returns what changed: quotes and any news. */
  advance(atMs: number): MarketTick {
    const elapsedMs = Math.max(0, atMs - this.#nowMs);
    const dtYears = elapsedMs / YEAR_MS;
    this.#nowMs += elapsedMs;
    const sqrtDt = Math.sqrt(dtYears);
    this.#decayBoosts(elapsedMs);
    const session = this.sessionAt(this.#nowMs);
    const activity = SESSION_ACTIVITY[session];

    const usdFactor = this.#normal();
    for (const currency of CURRENCIES) {
      if (currency === "USD") continue;
      // Half of each currency's move is the common dollar factor: majors move together.
      const shock = Math.SQRT1_2 * usdFactor + Math.SQRT1_2 * this.#normal();
      const vol = FX_VOLATILITY * this.#volMultiplier(currency);
      this.#usdValue[currency] *= Math.exp(vol * sqrtDt * shock - 0.5 * vol ** 2 * dtYears);
    }

    const market = this.#normal();
    for (const stock of this.#stocks.values()) {
      if (activity === 0) break;
      const vol = stock.volatility * this.#volMultiplier(stock.symbol) * Math.sqrt(activity);
      const systematicVol = Math.min(stock.beta * MARKET_VOLATILITY, vol);
      // The rest of the stock's variance is its own, so total volatility stays as listed.
      const ownVol = Math.sqrt(Math.max(vol ** 2 - systematicVol ** 2, 0.0001));
      const shock = systematicVol * market + ownVol * this.#normal();
      let ret = shock * sqrtDt - 0.5 * vol ** 2 * dtYears;
      // Jumps that no article explains (Poisson arrivals, normal sizes).
      if (this.#random() < JUMPS_PER_YEAR * dtYears * activity) ret += JUMP_SIZE * this.#normal();
      stock.price = Math.max(0.5, stock.price * Math.exp(ret));
    }

    const news: NewsArticle[] = [];
    if (this.#random() < Math.min(1, (this.#newsPerMinute * elapsedMs) / 60_000)) {
      news.push(published(this.#random() < MACRO_SHARE ? this.#centralBankNews() : this.#companyNews()));
    }

    return {
      atMs: this.#nowMs,
      session,
      fx: FX_PAIRS.map((pair) => this.fxQuote(pair)),
      stocks:
        activity === 0 ? [] : [...this.#stocks.keys()].map((symbol) => this.stockQuote(symbol, activity)),
      news,
    };
  }

  #sentiment(): number {
    // Never neutral: every article leans one way, some a lot.
    const sign = this.#random() < 0.5 ? -1 : 1;
    return roundTo(sign * (0.05 + this.#random() * 0.9), 3);
  }

  #companyNews(): NewsArticle {
    const symbols = [...this.#stocks.keys()];
    const symbol = symbols[Math.floor(this.#random() * symbols.length)] as string;
    const template = NEWS_TEMPLATES[
      Math.floor(this.#random() * NEWS_TEMPLATES.length)
    ] as (typeof NEWS_TEMPLATES)[number];
    const sentiment = this.#sentiment();
    const stock = this.#stocks.get(symbol) as StockState;
    // The article moves the price it names in its sentiment's direction, then a spell of
    // higher volatility follows.
    stock.price = Math.max(0.5, stock.price * (1 + 0.03 * sentiment));
    this.#volBoost.set(symbol, (this.#volBoost.get(symbol) ?? 0) + NEWS_VOL_BOOST * Math.abs(sentiment));
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

  #centralBankNews(): NewsArticle {
    const currencies = Object.keys(CENTRAL_BANKS) as Currency[];
    const currency = currencies[Math.floor(this.#random() * currencies.length)] as Currency;
    const bank = CENTRAL_BANKS[currency] as string;
    const sentiment = this.#sentiment();
    // Hawkish news strengthens the currency against the dollar, dovish news weakens it.
    this.#usdValue[currency] *= 1 + 0.005 * sentiment;
    this.#volBoost.set(currency, (this.#volBoost.get(currency) ?? 0) + NEWS_VOL_BOOST * Math.abs(sentiment));
    this.#newsSeq += 1;
    return {
      articleId: `sim-${this.#newsSeq}`,
      headline: sentiment >= 0 ? `${bank} signals higher rates` : `${bank} signals rate cuts`,
      summary: `${currency}: simulated central-bank decision.`,
      category: "central_bank",
      symbols: [currency],
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
    // About 1 pip wide for majors, wider while either currency is in a volatile spell; at
    // least one pipette, so that bid < ask always holds.
    const stress = Math.max(this.#volMultiplier(pair.slice(0, 3)), this.#volMultiplier(pair.slice(3, 6)));
    const halfSpread = Math.max(unit, mid * 0.00005 * stress);
    const bid = roundTo(mid - halfSpread, places);
    const ask = roundTo(Math.max(mid + halfSpread, bid + unit), places);
    return { pair, bid, ask };
  }

  /** A stock's quote; `activity` (the session's share of regular trading) scales its volume. */
  stockQuote(symbol: string, activity = 1): StockQuote {
    const stock = this.#stocks.get(symbol);
    if (!stock) throw new RangeError(`unknown stock symbol ${symbol}`);
    const last = roundTo(stock.price, STOCK_PRECISION);
    // Spreads widen with the stock's volatility spell and outside the regular session.
    const stress = this.#volMultiplier(symbol) / Math.max(activity, 0.2);
    const halfSpread = Math.max(0.01, roundTo(stock.price * 0.0002 * stress, STOCK_PRECISION));
    const bid = roundTo(Math.max(0.01, last - halfSpread), STOCK_PRECISION);
    const ask = roundTo(Math.max(last + halfSpread, bid + 0.01), STOCK_PRECISION);
    const volume =
      100 * Math.max(1, Math.round((1 + Math.floor(this.#random() * 50)) * Math.max(activity, 0.05)));
    return { symbol, bid, ask, last, volume };
  }
}
