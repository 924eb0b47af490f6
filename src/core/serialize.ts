/**
 * Envelope serialization for the log shipper's hot path: the same JSON as `JSON.stringify`,
 * written from templates of the contract's key order. A request logs about four envelopes;
 * generic `JSON.stringify` was a third of the request thread's logging cost (bench/README.md).
 * Strings that need escaping, and numbers that are not finite, go through JSON.stringify's
 * own rules, so the output is always valid JSON equal to the generic one.
 */
import type { Envelope, EnvelopeSource } from "./events.ts";

/** Characters JSON.stringify escapes: quote, backslash, controls, and lone surrogates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

const str = (value: string): string => (NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`);
const num = (value: number): string => (Number.isFinite(value) ? `${value}` : "null");

const sources = new WeakMap<EnvelopeSource, string>();

function sourceJson(source: EnvelopeSource): string {
  let json = sources.get(source);
  if (json === undefined) {
    json = `{"service":${str(source.service)},"instance":${str(source.instance)}}`;
    sources.set(source, json);
  }
  return json;
}

/**
 * News articles are served again and again (every page of the feed), and never change once
 * published: their JSON is made once per article object.
 */
const articles = new WeakMap<object, string>();

/** The envelope's `data` as JSON, keys in the schema's order. */
function dataJson(envelope: Envelope): string {
  switch (envelope.type) {
    case "fx.quote": {
      const d = envelope.data;
      return `{"pair":${str(d.pair)},"bid":${num(d.bid)},"ask":${num(d.ask)}}`;
    }
    case "stock.quote": {
      const d = envelope.data;
      return `{"symbol":${str(d.symbol)},"bid":${num(d.bid)},"ask":${num(d.ask)},"last":${num(d.last)},"volume":${num(d.volume)}}`;
    }
    case "news.article": {
      const d = envelope.data;
      const cached = articles.get(d);
      if (cached !== undefined) return cached;
      const json = `{"articleId":${str(d.articleId)},"headline":${str(d.headline)},"summary":${str(d.summary)},"category":${str(d.category)},"symbols":[${d.symbols.map(str).join(",")}],"sentiment":${num(d.sentiment)}}`;
      articles.set(d, json);
      return json;
    }
    case "http.request": {
      const d = envelope.data;
      return `{"requestId":${str(d.requestId)},"method":${str(d.method)},"route":${str(d.route)},"path":${str(d.path)},"status":${num(d.status)},"durationMs":${num(d.durationMs)},"bytes":${num(d.bytes)}}`;
    }
  }
}

/** The envelope as JSON, keys in the contract's order: v, id, type, ts, source, data. */
export function serializeEnvelope(envelope: Envelope): string {
  return `{"v":${num(envelope.v)},"id":${str(envelope.id)},"type":${str(envelope.type)},"ts":${str(envelope.ts)},"source":${sourceJson(envelope.source)},"data":${dataJson(envelope)}}`;
}
