/**
 * The event contract (DESIGN §2): every log record is one JSON envelope. These zod schemas
 * are the single source of truth; producers, the bridge and the processor all use them, and
 * the docs describe what they say.
 */
import { incrementBase32, monotonicFactory } from "ulid";
import { z } from "zod";
import { hasAtMostPlaces } from "./decimal.ts";
import { FX_PAIRS, fxPrecision, INSTRUMENT_PATTERN, STOCK_PRECISION, TICKER_PATTERN } from "./instruments.ts";

/** Envelope versions the processor accepts. Bump when a schema changes incompatibly. */
export const SCHEMA_VERSION = 1;

export const EVENT_TYPES = ["fx.quote", "stock.quote", "news.article", "http.request"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** One lake table per event type. */
export const DATASET_OF = {
  "fx.quote": "fx_quotes",
  "stock.quote": "stock_quotes",
  "news.article": "news",
  "http.request": "http_requests",
} as const satisfies Record<EventType, string>;
export type Dataset = (typeof DATASET_OF)[EventType];
export const DATASETS = Object.values(DATASET_OF) as Dataset[];

/** Records that are not even JSON envelopes are grouped under this name before quarantine. */
export const UNRECOGNISED_DATASET = "_unrecognised";

/** What the lake's columns need to know beyond a field's zod type. */
export interface ColumnHint {
  /** The field is a decimal with this scale: a DECIMAL(18, scale) column. */
  decimalPlaces: number;
}
export const columnHints = z.registry<ColumnHint>();

// Descriptions go on before the column hint: `.describe()` returns a new schema.
const price = (places: number, description: string) =>
  z
    .number()
    .positive()
    .refine((value) => hasAtMostPlaces(value, places), {
      message: `must have at most ${places} decimal places`,
    })
    .describe(description)
    .register(columnHints, { decimalPlaces: places });

/** FX prices: 5 decimals at most; JPY-quoted pairs 3, checked with the pair below. */
const fxPrice = (description: string) =>
  z.number().positive().describe(description).register(columnHints, { decimalPlaces: 5 });

const stockSymbol = z
  .string()
  .regex(TICKER_PATTERN, "must be 1-5 capital letters")
  .describe("Ticker symbol, e.g. AAPL or BRK.B");

export const FxQuoteData = z
  .strictObject({
    pair: z.enum(FX_PAIRS).describe("Currency pair, base then quote currency, e.g. EURUSD"),
    bid: fxPrice("Bid: units of the quote currency per unit of the base; 5 decimals, 3 for JPY pairs"),
    ask: fxPrice("Ask, greater than bid; same units and precision"),
  })
  .check((ctx) => {
    const { pair, bid, ask } = ctx.value;
    const places = fxPrecision(pair);
    for (const field of ["bid", "ask"] as const) {
      if (!hasAtMostPlaces(ctx.value[field], places)) {
        ctx.issues.push({
          code: "custom",
          path: [field],
          input: ctx.value[field],
          message: `must have at most ${places} decimal places for ${pair}`,
        });
      }
    }
    if (!(bid < ask)) {
      ctx.issues.push({ code: "custom", path: ["ask"], input: ask, message: "must be greater than bid" });
    }
  });

export const StockQuoteData = z
  .strictObject({
    symbol: stockSymbol,
    bid: price(STOCK_PRECISION, "Bid in USD, cents"),
    ask: price(STOCK_PRECISION, "Ask in USD, cents; greater than bid"),
    last: price(STOCK_PRECISION, "Last trade price in USD, cents"),
    volume: z.int().nonnegative().describe("Shares traded since the previous quote"),
  })
  .check((ctx) => {
    if (!(ctx.value.bid < ctx.value.ask)) {
      ctx.issues.push({
        code: "custom",
        path: ["ask"],
        input: ctx.value.ask,
        message: "must be greater than bid",
      });
    }
  });

export const NEWS_CATEGORIES = [
  "earnings",
  "guidance",
  "m_and_a",
  "rating",
  "product",
  "legal",
  "central_bank",
] as const;

export const NewsArticleData = z.strictObject({
  articleId: z.string().min(1).max(64).describe("Identifier of the article at its source"),
  headline: z.string().min(1).max(300).describe("Headline, 1-300 characters"),
  summary: z.string().max(2_000).describe("Summary, up to 2,000 characters"),
  category: z.enum(NEWS_CATEGORIES).describe("Event type of the news"),
  symbols: z
    .array(z.string().regex(INSTRUMENT_PATTERN, "must be a ticker or currency code"))
    .max(20)
    .describe("Tickers and currency codes the article is about"),
  sentiment: z.number().min(-1).max(1).describe("Sentiment from -1 (very negative) to 1 (very positive)"),
});

export const HttpRequestData = z.strictObject({
  requestId: z.string().min(1).max(64).describe("Request id, also sent as the x-request-id header"),
  method: z
    .string()
    .regex(/^[A-Z]{1,16}$/, "must be an HTTP method in capitals")
    .describe("HTTP method"),
  route: z.string().max(256).describe("Matched route pattern, or `unmatched`"),
  path: z.string().min(1).max(2_048).describe("Requested path with query string"),
  status: z.int().min(100).max(599).describe("HTTP status code"),
  durationMs: z.number().nonnegative().describe("Time to respond, milliseconds"),
  bytes: z.int().nonnegative().describe("Response body size, bytes"),
});

/** An envelope schema, keys in the contract's order: v, id, type, ts, source, data. */
function envelopeSchema<T extends EventType, D extends z.ZodType>(type: T, data: D) {
  return z.strictObject({
    v: z.literal(SCHEMA_VERSION).describe("Envelope schema version"),
    id: z.ulid().describe("ULID minted once by the producer; the deduplication key"),
    type: z.literal(type),
    ts: z.iso.datetime({ precision: 3 }).describe("Event time, UTC, millisecond precision"),
    source: z.strictObject({
      service: z.string().min(1).max(64).describe("Service that produced the event"),
      instance: z.string().min(1).max(128).describe("Instance of the service"),
    }),
    data,
  });
}

export const FxQuoteEvent = envelopeSchema("fx.quote", FxQuoteData);
export const StockQuoteEvent = envelopeSchema("stock.quote", StockQuoteData);
export const NewsArticleEvent = envelopeSchema("news.article", NewsArticleData);
export const HttpRequestEvent = envelopeSchema("http.request", HttpRequestData);

export const Envelope = z.discriminatedUnion("type", [
  FxQuoteEvent,
  StockQuoteEvent,
  NewsArticleEvent,
  HttpRequestEvent,
]);
export type Envelope = z.infer<typeof Envelope>;
export type FxQuote = z.infer<typeof FxQuoteData>;
export type StockQuote = z.infer<typeof StockQuoteData>;
export type NewsArticle = z.infer<typeof NewsArticleData>;
export type HttpRequestLog = z.infer<typeof HttpRequestData>;

/** Why a record was refused: the field, the value found there and the rule it broke. */
export interface Violation {
  field: string;
  value: unknown;
  rule: string;
}

export type RecordVerdict =
  | { ok: true; event: Envelope; dataset: Dataset }
  | { ok: false; violations: Violation[] };

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cursor = input;
  for (const key of path) {
    if (cursor === null || typeof cursor !== "object") return undefined;
    cursor = (cursor as Record<PropertyKey, unknown>)[key];
  }
  return cursor;
}

/** Truncates long values so that one bad record cannot bloat its quarantine reason. */
function preview(value: unknown): unknown {
  if (typeof value === "string" && value.length > 200) return `${value.slice(0, 200)}…`;
  if (value !== null && typeof value === "object") {
    const text = JSON.stringify(value);
    return text.length > 200 ? `${text.slice(0, 200)}…` : value;
  }
  return value;
}

/** How long before its arrival in the stream an event may have happened: the stream's longest retention. */
export const MAX_EVENT_AGE_MS = 7 * 24 * 3_600_000;
/** How far after its arrival an event's time may lie: producers' clocks may run ahead this much. */
export const MAX_EVENT_LEAD_MS = 3_600_000;

/**
 * The event-time rule: `ts` within [arrival − 7 days, arrival + 1 hour]. Outside it, an event
 * is late (it would land in hours long closed) or from a clock far ahead; it goes to quarantine.
 */
export function eventTimeViolation(eventMs: number, arrivalMs: number): Violation | undefined {
  if (eventMs < arrivalMs - MAX_EVENT_AGE_MS) {
    return {
      field: "ts",
      value: new Date(eventMs).toISOString(),
      rule: `late: at most 7 days before the record's arrival (${new Date(arrivalMs).toISOString()})`,
    };
  }
  if (eventMs > arrivalMs + MAX_EVENT_LEAD_MS) {
    return {
      field: "ts",
      value: new Date(eventMs).toISOString(),
      rule: `in the future: at most 1 hour after the record's arrival (${new Date(arrivalMs).toISOString()})`,
    };
  }
  return undefined;
}

/** Parses and validates one raw record: the one place a record becomes an `Envelope`. */
export function validateRecord(text: string): RecordVerdict {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    return {
      ok: false,
      violations: [{ field: "$", value: preview(text), rule: `must be JSON: ${(cause as Error).message}` }],
    };
  }
  const result = Envelope.safeParse(parsed);
  if (result.success) {
    return { ok: true, event: result.data, dataset: DATASET_OF[result.data.type] };
  }
  return {
    ok: false,
    violations: result.error.issues.map((issue) => ({
      field: issue.path.length === 0 ? "$" : issue.path.join("."),
      value: preview(valueAt(parsed, issue.path)),
      rule: `${issue.code}: ${issue.message}`,
    })),
  };
}

/**
 * The dataset a raw record claims to belong to, read cheaply without full validation; the
 * bridge groups by it. Anything unreadable is `_unrecognised` and ends up in quarantine.
 */
export function claimedDataset(text: string): Dataset | typeof UNRECOGNISED_DATASET {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === "object" && "type" in parsed) {
      const type = (parsed as { type: unknown }).type;
      if (typeof type === "string" && type in DATASET_OF) return DATASET_OF[type as EventType];
    }
  } catch {
    // not JSON: quarantined downstream with the parse error as its reason
  }
  return UNRECOGNISED_DATASET;
}

export type DataOf<T extends EventType> = Extract<Envelope, { type: T }>["data"];

export interface EnvelopeSource {
  service: string;
  instance: string;
}

/**
 * The ULID library asks the platform for one random byte per character (16 calls a new
 * millisecond). The same cryptographic bytes, drawn 4 KiB at a time, cost a fraction of that
 * on the request thread, which mints several envelopes a request.
 */
const randomBytes = new Uint8Array(4_096);
let nextByte = randomBytes.length;
function pooledRandom(): number {
  if (nextByte === randomBytes.length) {
    crypto.getRandomValues(randomBytes);
    nextByte = 0;
  }
  return (randomBytes[nextByte++] as number) / 256;
}

const firstIdOf = monotonicFactory(pooledRandom);

/**
 * Monotonic ULIDs, as the library's `monotonicFactory` mints them, with one change: the time
 * part (the library rebuilds it character by character on every call, 80 % of a ULID's cost)
 * is encoded once per millisecond. Within a millisecond, or when the clock steps back, the
 * random part is incremented and the time part kept, exactly as the library does.
 */
let idMs = Number.NEGATIVE_INFINITY;
let idTime = "";
let idRandom = "";
export function nextId(atMs: number): string {
  // (Written so that NaN, which the library replaces with the current time, takes this path.)
  if (!(atMs <= idMs)) {
    const id = firstIdOf(atMs);
    idMs = atMs;
    idTime = id.slice(0, 10);
    idRandom = id.slice(10);
    return id;
  }
  idRandom = incrementBase32(idRandom);
  return idTime + idRandom;
}

/** The ISO form of the last instant asked for: at high rates many envelopes share a millisecond. */
let lastMs = Number.NaN;
let lastIso = "";
function isoOf(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

/** Mints an envelope: the id is made here, once, and survives every retry downstream. */
export function envelopeOf<T extends EventType>(
  type: T,
  data: DataOf<T>,
  source: EnvelopeSource,
  atMs: number = Date.now(),
): Extract<Envelope, { type: T }> {
  return {
    v: SCHEMA_VERSION,
    id: nextId(atMs),
    type,
    ts: isoOf(atMs),
    source,
    data,
  } as Extract<Envelope, { type: T }>;
}
