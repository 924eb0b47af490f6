/**
 * Envelope serialization for the log shipper's hot path: the same JSON as `JSON.stringify`,
 * written as UTF-8 straight into a byte buffer, keys in the contract's order.
 *
 * Why not `JSON.stringify` and then `Buffer.write`: on the request thread the string is pure
 * overhead. Building it, flattening it and encoding it cost as much as the envelope's JSON
 * itself, and every such string is garbage the young generation has to collect
 * (bench/README.md, web server). No library writes JSON into a caller's buffer, so this module
 * does, for the four envelope types only; it is tested equal to `JSON.stringify`, escapes
 * included (docs/decisions.md).
 */
import { TicklakeError } from "./errors.ts";
import type { Envelope, NewsArticle } from "./events.ts";

/**
 * Thrown by a JsonWriter whose buffer cannot take what is being written: the caller starts the
 * record again in a larger or an emptied buffer. One instance, thrown each time: no stack to
 * capture on the hot path.
 */
export class OutOfRoom extends TicklakeError {
  constructor() {
    super("OUT_OF_ROOM", "the buffer is full");
  }
}
const OUT_OF_ROOM = new OutOfRoom();

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** JSON's short escapes; every other control character is written as \u00XX. */
const SHORT_ESCAPES: Record<number, number> = { 8: 0x62, 9: 0x74, 10: 0x6e, 12: 0x66, 13: 0x72 };
const HEX = "0123456789abcdef";
/** Decimal places tried by JsonWriter.number: 10^0 to 10^6 (below 10^-6 JavaScript writes exponents). */
const SCALES = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];
/** Integers below this have at most 15 digits. */
const MAX_EXACT_DIGITS = 1e15;

/**
 * Writes UTF-8 into `bytes` from `at`. Each method first checks that the worst case fits
 * (6 bytes a UTF-16 code unit for a JSON string, 3 for raw UTF-8) and throws OutOfRoom before
 * writing anything if it does not; the caller then starts the record again in a new buffer.
 */
export class JsonWriter {
  bytes: Uint8Array;
  at: number;

  constructor(bytes: Uint8Array, at = 0) {
    this.bytes = bytes;
    this.at = at;
  }

  #room(bytes: number): void {
    if (this.at + bytes > this.bytes.length) throw OUT_OF_ROOM;
  }

  /** Text known to be ASCII with nothing to escape: the envelope's keys and punctuation, numbers. */
  ascii(text: string): void {
    this.#room(text.length);
    const bytes = this.bytes;
    let at = this.at;
    for (let i = 0; i < text.length; i++) bytes[at++] = text.charCodeAt(i);
    this.at = at;
  }

  /** Bytes as they are: JSON made before (an article's data). */
  raw(data: Uint8Array): void {
    this.#room(data.length);
    this.bytes.set(data, this.at);
    this.at += data.length;
  }

  /**
   * A JSON number, as JSON.stringify writes it (non-finite numbers are null). Prices have a
   * fixed number of decimals (pips, cents), and for such a number the digits are written
   * straight from the scaled integer: JavaScript's shortest round-trip form of a double that
   * is nearest to a decimal of at most 15 significant digits is that decimal, because two such
   * decimals never share a double. Anything else goes through JavaScript's own formatting.
   */
  number(value: number): void {
    for (let places = 0; places < SCALES.length; places++) {
      const scale = SCALES[places] as number;
      const scaled = Math.round(value * scale);
      if (scaled / scale === value && Math.abs(scaled) < MAX_EXACT_DIGITS) {
        this.#decimal(scaled, places);
        return;
      }
    }
    this.ascii(Number.isFinite(value) ? `${value}` : "null");
  }

  /** `scaled` / 10^places, positional. */
  #decimal(scaled: number, places: number): void {
    this.#room(18);
    const bytes = this.bytes;
    if (scaled < 0) bytes[this.at++] = 0x2d;
    // No trailing zeros: `places` is the fewest that hold the number exactly.
    let digits = Math.abs(scaled);
    let count = 1;
    for (let rest = digits; rest >= 10; rest = Math.floor(rest / 10)) count++;
    const width = Math.max(count, places + 1) + (places > 0 ? 1 : 0);
    let at = this.at + width;
    this.at = at;
    for (let i = 0; i < places; i++) {
      bytes[--at] = 0x30 + (digits % 10);
      digits = Math.floor(digits / 10);
    }
    if (places > 0) bytes[--at] = 0x2e;
    do {
      bytes[--at] = 0x30 + (digits % 10);
      digits = Math.floor(digits / 10);
    } while (digits > 0);
  }

  /** A JSON string, escaped as JSON.stringify escapes (lone surrogates as \uXXXX). */
  string(text: string): void {
    this.#room(6 * text.length + 2);
    const bytes = this.bytes;
    let at = this.at;
    bytes[at++] = QUOTE;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x20 && c < 0x80) {
        if (c === QUOTE || c === BACKSLASH) bytes[at++] = BACKSLASH;
        bytes[at++] = c;
      } else if (c < 0x20) {
        bytes[at++] = BACKSLASH;
        const short = SHORT_ESCAPES[c];
        if (short === undefined) at = hexEscape(bytes, at, c);
        else bytes[at++] = short;
      } else if (c >= 0xd800 && c <= 0xdfff) {
        const pair = surrogatePair(text, i);
        if (pair > 0) {
          at = utf8CodePoint(bytes, at, pair);
          i++;
        } else {
          bytes[at++] = BACKSLASH;
          at = hexEscape(bytes, at, c);
        }
      } else {
        at = utf8CodePoint(bytes, at, c);
      }
    }
    bytes[at++] = QUOTE;
    this.at = at;
  }

  /** Text as UTF-8, unquoted (partition keys, raw records); lone surrogates become U+FFFD, as Buffer.write makes them. */
  utf8(text: string): void {
    this.#room(3 * text.length);
    const bytes = this.bytes;
    let at = this.at;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x80) {
        bytes[at++] = c;
      } else if (c >= 0xd800 && c <= 0xdfff) {
        const pair = surrogatePair(text, i);
        if (pair > 0) i++;
        at = utf8CodePoint(bytes, at, pair > 0 ? pair : 0xfffd);
      } else {
        at = utf8CodePoint(bytes, at, c);
      }
    }
    this.at = at;
  }
}

/** The code point of the surrogate pair at `i` of `text`, or 0 when the surrogate there is lone. */
function surrogatePair(text: string, i: number): number {
  const high = text.charCodeAt(i);
  const low = text.charCodeAt(i + 1);
  if (high > 0xdbff || !(low >= 0xdc00 && low <= 0xdfff)) return 0;
  return 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00);
}

/** `uXXXX` (after the backslash), lowercase hex as JSON.stringify writes it. */
function hexEscape(bytes: Uint8Array, at: number, c: number): number {
  bytes[at++] = 0x75;
  bytes[at++] = HEX.charCodeAt(c >> 12);
  bytes[at++] = HEX.charCodeAt((c >> 8) & 0xf);
  bytes[at++] = HEX.charCodeAt((c >> 4) & 0xf);
  bytes[at++] = HEX.charCodeAt(c & 0xf);
  return at;
}

/** A code point of 0x80 or more as UTF-8. */
function utf8CodePoint(bytes: Uint8Array, at: number, cp: number): number {
  if (cp < 0x800) {
    bytes[at++] = 0xc0 | (cp >> 6);
  } else if (cp < 0x10000) {
    bytes[at++] = 0xe0 | (cp >> 12);
    bytes[at++] = 0x80 | ((cp >> 6) & 0x3f);
  } else {
    bytes[at++] = 0xf0 | (cp >> 18);
    bytes[at++] = 0x80 | ((cp >> 12) & 0x3f);
    bytes[at++] = 0x80 | ((cp >> 6) & 0x3f);
  }
  bytes[at++] = 0x80 | (cp & 0x3f);
  return at;
}

/**
 * News articles are served again and again (every page of the feed), and never change once
 * published (the simulator freezes them): their JSON is made once per article object.
 */
const articles = new WeakMap<NewsArticle, Uint8Array>();

function articleJson(article: NewsArticle): Uint8Array {
  let json = articles.get(article);
  if (json === undefined) {
    json = Buffer.from(JSON.stringify(dataOf(article)));
    articles.set(article, json);
  }
  return json;
}

/** The article's fields in the schema's order, whatever order the object has them in. */
const dataOf = (a: NewsArticle): NewsArticle => ({
  articleId: a.articleId,
  headline: a.headline,
  summary: a.summary,
  category: a.category,
  symbols: a.symbols,
  sentiment: a.sentiment,
});

/** The envelope as JSON, keys in the contract's order: v, id, type, ts, source, data. */
export function writeEnvelope(out: JsonWriter, envelope: Envelope): void {
  out.ascii('{"v":');
  out.number(envelope.v);
  out.ascii(',"id":');
  out.string(envelope.id);
  out.ascii(',"type":');
  out.string(envelope.type);
  out.ascii(',"ts":');
  out.string(envelope.ts);
  out.ascii(',"source":{"service":');
  out.string(envelope.source.service);
  out.ascii(',"instance":');
  out.string(envelope.source.instance);
  out.ascii('},"data":');
  switch (envelope.type) {
    case "fx.quote": {
      const d = envelope.data;
      out.ascii('{"pair":');
      out.string(d.pair);
      out.ascii(',"bid":');
      out.number(d.bid);
      out.ascii(',"ask":');
      out.number(d.ask);
      break;
    }
    case "stock.quote": {
      const d = envelope.data;
      out.ascii('{"symbol":');
      out.string(d.symbol);
      out.ascii(',"bid":');
      out.number(d.bid);
      out.ascii(',"ask":');
      out.number(d.ask);
      out.ascii(',"last":');
      out.number(d.last);
      out.ascii(',"volume":');
      out.number(d.volume);
      break;
    }
    case "news.article":
      out.raw(articleJson(envelope.data));
      out.ascii("}");
      return;
    case "http.request": {
      const d = envelope.data;
      out.ascii('{"requestId":');
      out.string(d.requestId);
      out.ascii(',"method":');
      out.string(d.method);
      out.ascii(',"route":');
      out.string(d.route);
      out.ascii(',"path":');
      out.string(d.path);
      out.ascii(',"status":');
      out.number(d.status);
      out.ascii(',"durationMs":');
      out.number(d.durationMs);
      out.ascii(',"bytes":');
      out.number(d.bytes);
      break;
    }
  }
  out.ascii("}}");
}

/** Reused by envelopeBytes; grows when an envelope does not fit. */
let scratch = Buffer.allocUnsafeSlow(16 * 1024);

/** Writes the envelope's JSON at the start of `scratch`; returns its length in bytes. */
function writeToScratch(envelope: Envelope): number {
  for (;;) {
    const out = new JsonWriter(scratch);
    try {
      writeEnvelope(out, envelope);
      return out.at;
    } catch (error) {
      if (!(error instanceof OutOfRoom)) throw error;
      scratch = Buffer.allocUnsafeSlow(2 * scratch.length);
    }
  }
}

/** The envelope's JSON as UTF-8 bytes of its own: a record's data, for the shippers' other paths. */
export function envelopeBytes(envelope: Envelope): Buffer {
  const length = writeToScratch(envelope);
  return Buffer.from(scratch.subarray(0, length));
}
