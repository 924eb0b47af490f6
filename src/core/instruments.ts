/**
 * The instruments ticklake knows: currencies, FX pairs and stock tickers, with the precision
 * their prices are quoted at. The simulator, the validators and the HTTP API share this list.
 */

export const CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CHF", "AUD", "CAD", "NZD"] as const;
export type Currency = (typeof CURRENCIES)[number];

/** FX pairs served: majors against USD, then crosses derived from them. */
export const FX_PAIRS = [
  "EURUSD",
  "GBPUSD",
  "USDJPY",
  "USDCHF",
  "AUDUSD",
  "USDCAD",
  "NZDUSD",
  "EURGBP",
  "EURJPY",
  "GBPJPY",
  "EURCHF",
  "AUDJPY",
] as const;
export type FxPair = (typeof FX_PAIRS)[number];

/** Decimals a pair is quoted with: pipettes, so 5 for most pairs and 3 when JPY is the quote. */
export function fxPrecision(pair: string): number {
  return pair.endsWith("JPY") ? 3 : 5;
}

/** Stock prices are quoted in cents. */
export const STOCK_PRECISION = 2;

export interface StockListing {
  readonly symbol: string;
  readonly sector: string;
  readonly basePrice: number;
  /** Annualised volatility, 0.25 = 25 %. */
  readonly volatility: number;
}

export const STOCKS: readonly StockListing[] = [
  { symbol: "AAPL", sector: "Technology", basePrice: 189.5, volatility: 0.25 },
  { symbol: "MSFT", sector: "Technology", basePrice: 415.2, volatility: 0.22 },
  { symbol: "NVDA", sector: "Technology", basePrice: 121.4, volatility: 0.45 },
  { symbol: "GOOGL", sector: "Communication", basePrice: 172.3, volatility: 0.27 },
  { symbol: "META", sector: "Communication", basePrice: 505.1, volatility: 0.35 },
  { symbol: "AMZN", sector: "Consumer", basePrice: 183.7, volatility: 0.3 },
  { symbol: "TSLA", sector: "Consumer", basePrice: 177.9, volatility: 0.55 },
  { symbol: "JPM", sector: "Financials", basePrice: 198.4, volatility: 0.2 },
  { symbol: "BAC", sector: "Financials", basePrice: 38.6, volatility: 0.24 },
  { symbol: "GS", sector: "Financials", basePrice: 455.8, volatility: 0.23 },
  { symbol: "V", sector: "Financials", basePrice: 274.3, volatility: 0.18 },
  { symbol: "XOM", sector: "Energy", basePrice: 112.1, volatility: 0.22 },
  { symbol: "CVX", sector: "Energy", basePrice: 156.7, volatility: 0.23 },
  { symbol: "JNJ", sector: "Health", basePrice: 152.2, volatility: 0.15 },
  { symbol: "PFE", sector: "Health", basePrice: 28.4, volatility: 0.22 },
  { symbol: "UNH", sector: "Health", basePrice: 492.6, volatility: 0.21 },
  { symbol: "LLY", sector: "Health", basePrice: 781.3, volatility: 0.3 },
  { symbol: "WMT", sector: "Staples", basePrice: 60.2, volatility: 0.16 },
  { symbol: "KO", sector: "Staples", basePrice: 62.9, volatility: 0.14 },
  { symbol: "PG", sector: "Staples", basePrice: 165.4, volatility: 0.14 },
  { symbol: "HD", sector: "Consumer", basePrice: 344.8, volatility: 0.21 },
  { symbol: "DIS", sector: "Communication", basePrice: 101.5, volatility: 0.26 },
  { symbol: "NFLX", sector: "Communication", basePrice: 622.1, volatility: 0.38 },
  { symbol: "INTC", sector: "Technology", basePrice: 30.9, volatility: 0.38 },
  { symbol: "AMD", sector: "Technology", basePrice: 158.6, volatility: 0.48 },
  { symbol: "ORCL", sector: "Technology", basePrice: 124.7, volatility: 0.27 },
  { symbol: "CAT", sector: "Industrials", basePrice: 336.2, volatility: 0.25 },
  { symbol: "BA", sector: "Industrials", basePrice: 181.4, volatility: 0.36 },
  { symbol: "GE", sector: "Industrials", basePrice: 162.5, volatility: 0.29 },
  { symbol: "NKE", sector: "Consumer", basePrice: 93.8, volatility: 0.29 },
];

export const STOCK_SYMBOLS: readonly string[] = STOCKS.map((s) => s.symbol);

/** A stock ticker: 1-5 capital letters, and a share class after a dot (BRK.B). */
export const TICKER_PATTERN = /^[A-Z]{1,5}(\.[A-Z])?$/;

/** A ticker or a currency code: how news articles and live streams name an instrument. */
export const INSTRUMENT_PATTERN = /^[A-Z]{1,6}(\.[A-Z])?$/;

/** An FX pair: base then quote currency, six capital letters (EURUSD). */
export const PAIR_PATTERN = /^[A-Z]{6}$/;
