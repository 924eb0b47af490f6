/**
 * The market API's parameters and answers as zod schemas: each validates (src/http/
 * validation.ts), types a handler and documents its route in the OpenAPI description. A
 * parameter's description is what a client is told is allowed when it is wrong.
 */
import { z } from "zod";
import { FxQuoteData, NewsArticleData, StockQuoteData } from "../core/events.ts";
import {
  CURRENCIES,
  FX_PAIRS,
  INSTRUMENT_PATTERN,
  PAIR_PATTERN,
  STOCK_SYMBOLS,
  TICKER_PATTERN,
} from "../core/instruments.ts";
import type { UnlistedParams } from "../http/validation.ts";

/**
 * The URL reads instruments in any case and checks them in capitals (`aapl` is AAPL), so its
 * description accepts small letters where the core's pattern has capitals.
 */
const anyCase = (pattern: RegExp) => new RegExp(pattern.source.replaceAll("[A-Z]", "[A-Za-z]"));

/** An instrument code from the URL, in capitals; a repeated query parameter is read as "A,B". */
const inCapitals = () => z.coerce.string().toUpperCase();

const listedPairs: ReadonlySet<string> = new Set(FX_PAIRS);
const listedStocks: ReadonlySet<string> = new Set(STOCK_SYMBOLS);
const unlisted = (kind: string): { params: UnlistedParams } => ({ params: { unlisted: kind } });

const TICKER = "1-5 letters, e.g. AAPL";

export const Ticker = inCapitals().regex(anyCase(TICKER_PATTERN));

/** A stock the market lists: 400 when malformed, 404 when not listed. */
export const ListedStock = Ticker.refine((symbol) => listedStocks.has(symbol), unlisted("stock symbol")).meta(
  {
    description: TICKER,
    examples: ["AAPL"],
  },
);

/** An FX pair the market quotes: 400 when malformed, 404 when not quoted. */
export const ListedPair = inCapitals()
  .regex(anyCase(PAIR_PATTERN))
  .refine((pair) => listedPairs.has(pair), unlisted("FX pair"))
  // Typed as a listed pair; the refinement above has already answered any other.
  .pipe(z.enum(FX_PAIRS))
  .meta({ description: "six letters, e.g. EURUSD", examples: ["EURUSD"] });

export const StockPath = z.object({ symbol: ListedStock });
export const PairPath = z.object({ pair: ListedPair });

export const RatesQuery = z.object({
  base: z
    .enum(CURRENCIES)
    .default("USD")
    .describe(`one of ${CURRENCIES.join(", ")}`),
});

export const BarsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(120).default(30).describe("an integer from 1 to 120"),
});

export const NewsQuery = z.object({
  symbol: Ticker.optional().describe(TICKER),
  limit: z.coerce.number().int().min(1).max(100).default(20).describe("an integer from 1 to 100"),
  offset: z.coerce.number().int().min(0).max(10_000).default(0).describe("an integer from 0 to 10000"),
});

const instrument = new RegExp(INSTRUMENT_PATTERN);
export const StreamQuery = z.object({
  symbols: inCapitals()
    .transform((list) => list.split(","))
    .pipe(
      z
        .array(z.string())
        .max(50)
        .refine((codes) => codes.every((code) => instrument.test(code))),
    )
    .optional()
    .describe("a comma-separated list of up to 50 tickers or pairs"),
});

/** A 1-minute OHLCV bar (src/webserver/feed.ts). */
const Bar = z.object({
  minute: z.iso.datetime().describe("Start of the minute, UTC"),
  open: z.number(),
  high: z.number(),
  low: z.number(),
  close: z.number(),
  volume: z.int().nonnegative(),
});

export const Rates = z.object({
  base: z.enum(CURRENCIES),
  at: z.iso.datetime(),
  rates: z
    .partialRecord(z.enum(CURRENCIES), z.number().positive())
    .describe("Units of each currency per unit of the base"),
});

export const Bars = z.object({ symbol: z.string(), bars: z.array(Bar).describe("Oldest first") });

export const FxQuote = FxQuoteData.meta({ id: "FxQuote" });
export const StockQuote = StockQuoteData.meta({ id: "StockQuote" });
const NewsArticle = NewsArticleData.meta({ id: "NewsArticle" });

export const NewsPage = z.object({
  articles: z.array(NewsArticle).describe("Newest first"),
  limit: z.int(),
  offset: z.int(),
});
