/**
 * The event contract (DESIGN §2): every log record is one JSON envelope. These zod schemas
 * are the single source of truth; producers, the bridge and the processor all use them, and
 * the docs describe what they say.
 */
import { monotonicFactory } from "ulid";
import { z } from "zod";
import { hasAtMostPlaces } from "./decimal.ts";
import { FX_PAIRS, fxPrecision, STOCK_PRECISION } from "./instruments.ts";

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

const price = (places: number) =>
  z
    .number()
    .positive()
    .refine((value) => hasAtMostPlaces(value, places), {
      message: `must have at most ${places} decimal places`,
    })
    .register(columnHints, { decimalPlaces: places });

/** FX prices: 5 decimals at most; JPY-quoted pairs 3, checked with the pair below. */
const fxPrice = z.number().positive().register(columnHints, { decimalPlaces: 5 });

const stockSymbol = z.string().regex(/^[A-Z]{1,5}(\.[A-Z])?$/, "must be 1-5 capital letters");

export const FxQuoteData = z
  .strictObject({
    pair: z.enum(FX_PAIRS),
    bid: fxPrice,
    ask: fxPrice,
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
    bid: price(STOCK_PRECISION),
    ask: price(STOCK_PRECISION),
    last: price(STOCK_PRECISION),
    volume: z.int().nonnegative(),
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
  articleId: z.string().min(1).max(64),
  headline: z.string().min(1).max(300),
  summary: z.string().max(2_000),
  category: z.enum(NEWS_CATEGORIES),
  symbols: z.array(z.string().regex(/^[A-Z]{1,6}(\.[A-Z])?$/, "must be a ticker or currency code")).max(20),
  sentiment: z.number().min(-1).max(1),
});

export const HttpRequestData = z.strictObject({
  requestId: z.string().min(1).max(64),
  method: z.string().regex(/^[A-Z]{1,16}$/, "must be an HTTP method in capitals"),
  route: z.string().max(256),
  path: z.string().min(1).max(2_048),
  status: z.int().min(100).max(599),
  durationMs: z.number().nonnegative(),
  bytes: z.int().nonnegative(),
});

/** An envelope schema, keys in the contract's order: v, id, type, ts, source, data. */
function envelopeSchema<T extends EventType, D extends z.ZodType>(type: T, data: D) {
  return z.strictObject({
    v: z.literal(SCHEMA_VERSION),
    id: z.ulid(),
    type: z.literal(type),
    ts: z.iso.datetime({ precision: 3 }),
    source: z.strictObject({
      service: z.string().min(1).max(64),
      instance: z.string().min(1).max(128),
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

type DataOf<T extends EventType> = Extract<Envelope, { type: T }>["data"];

export interface EnvelopeSource {
  service: string;
  instance: string;
}

const nextId = monotonicFactory();

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
    ts: new Date(atMs).toISOString(),
    source,
    data,
  } as Extract<Envelope, { type: T }>;
}
