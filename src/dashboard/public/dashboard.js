// The live dashboard: plain browser JavaScript, no build step. It reads two Server-Sent
// Event streams: /v1/pipeline/stream (a snapshot of every stage once a second) and
// /v1/stream (the market's ticks and news), and posts SQL to /v1/query.

import { createChart } from "./chart.js";

const POINTS_KEPT = 300;
const NEWS_KEPT = 50;
const number = new Intl.NumberFormat("en-US");

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** Builds an element with text content; never parses markup from data. */
function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

const show = (value, unit = "") =>
  value === null || value === undefined ? "–" : `${number.format(value)}${unit}`;

// --- connection state ----------------------------------------------------------------------

const streams = new Map();
function setConnection(name, state) {
  streams.set(name, state);
  const states = [...streams.values()];
  const overall = states.includes("lost")
    ? "lost"
    : states.every((s) => s === "live")
      ? "live"
      : "connecting";
  const badge = $("#connection");
  badge.dataset.state = overall;
  badge.textContent = { live: "live", lost: "reconnecting…", connecting: "connecting…" }[overall];
}

function subscribe(name, url, handlers) {
  setConnection(name, "connecting");
  const source = new EventSource(url);
  source.onopen = () => setConnection(name, "live");
  source.onerror = () =>
    setConnection(name, source.readyState === EventSource.CLOSED ? "lost" : "connecting");
  for (const [event, handle] of Object.entries(handlers)) {
    source.addEventListener(event, (message) => handle(JSON.parse(message.data)));
  }
  return source;
}

// --- pipeline --------------------------------------------------------------------------------

function renderSnapshot(snapshot) {
  for (const node of $$("[data-count]")) node.textContent = show(snapshot.stages[node.dataset.count]);
  for (const node of $$("[data-rate]")) node.textContent = show(snapshot.rates[node.dataset.rate]);
  $(".stage .dlq").classList.toggle("alarm", snapshot.stages.dlq > 0);
  const { latency } = snapshot;
  $('[data-latency="p50Ms"]').textContent = show(latency.p50Ms, " ms");
  $('[data-latency="p99Ms"]').textContent = show(latency.p99Ms, " ms");
  $('[data-latency="objects"]').textContent = show(latency.objects);
  for (const node of $$("[data-latency-window]")) node.textContent = `${latency.windowSeconds} s`;

  const rows = snapshot.notifications.map((n) => {
    const row = element("tr");
    row.append(
      element("td", new Date(n.receivedAt).toLocaleTimeString()),
      element("td", n.kind),
      element("td", n.dataset),
      element("td", number.format(n.records)),
      element("td", number.format(n.bytes)),
    );
    const key = element("td", n.key, "key");
    key.title = n.key;
    row.append(key);
    return row;
  });
  $("#notification-rows").replaceChildren(...rows);
}

async function startPipeline() {
  const response = await fetch("/v1/pipeline");
  if (response.status === 404) {
    $("#pipeline-missing").hidden = false;
    return;
  }
  if (response.ok) renderSnapshot(await response.json());
  subscribe("pipeline", "/v1/pipeline/stream", { snapshot: renderSnapshot });
}

// --- markets ---------------------------------------------------------------------------------
// FX: the mid of every tick, as a line. Stocks: the API's 1-minute OHLC bars as candles, the
// newest one kept current by the live ticks between fetches.

const MINUTE_MS = 60_000;
const BARS_SHOWN = 60;
const BARS_REFRESH_MS = 10_000;

const series = new Map();
const decimalsSeen = new Map();
const charts = $$(".chart").map((figure) => ({
  figure,
  kind: figure.dataset.kind,
  select: $("select", figure),
  chart: createChart($("svg", figure)),
  last: $("output", figure),
  preferred: figure.dataset.kind === "fx" ? "EURUSD" : "AAPL",
}));
const stockChart = charts.find((c) => c.kind === "stock");
let candles = { symbol: undefined, bars: [] };
let drawPending = false;

const decimalsOf = (value) => (String(value).split(".")[1] ?? "").length;

function scheduleDraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(drawCharts);
}

function record(kind, symbol, at, value, decimals) {
  let points = series.get(symbol);
  if (!points) {
    points = [];
    series.set(symbol, points);
    const chart = charts.find((c) => c.kind === kind);
    const option = element("option", symbol);
    option.value = symbol;
    chart.select.append(option);
    if (symbol === chart.preferred || chart.select.options.length === 1) {
      chart.select.value = symbol;
      if (kind === "stock") loadBars();
    }
  }
  decimalsSeen.set(symbol, Math.max(decimalsSeen.get(symbol) ?? 0, decimals));
  points.push({ at, value });
  if (points.length > POINTS_KEPT) points.splice(0, points.length - POINTS_KEPT);
  if (kind === "stock" && symbol === candles.symbol) updateCandle(at, value);
  scheduleDraw();
}

/** The live tick moves the newest candle, or opens the next minute's. */
function updateCandle(at, price) {
  const minute = Math.floor(at / MINUTE_MS) * MINUTE_MS;
  const current = candles.bars.at(-1);
  if (current && current.at === minute) {
    current.high = Math.max(current.high, price);
    current.low = Math.min(current.low, price);
    current.close = price;
  } else if (!current || minute > current.at) {
    candles.bars.push({ at: minute, open: price, high: price, low: price, close: price });
    if (candles.bars.length > BARS_SHOWN) candles.bars.shift();
  }
}

async function loadBars() {
  const symbol = stockChart.select.value;
  if (!symbol) return;
  // Offline for a moment (a restart): the live ticks go on, the next refresh tries again.
  const response = await fetch(`/v1/stocks/${encodeURIComponent(symbol)}/bars?limit=${BARS_SHOWN}`).catch(
    () => undefined,
  );
  if (!response) return;
  if (!response.ok || stockChart.select.value !== symbol) return;
  const { bars } = await response.json();
  candles = {
    symbol,
    bars: bars.map((b) => ({
      at: Date.parse(b.minute),
      open: b.open,
      high: b.high,
      low: b.low,
      close: b.close,
    })),
  };
  scheduleDraw();
}

function drawCharts() {
  drawPending = false;
  for (const chart of charts) {
    const symbol = chart.select.value;
    const decimals = decimalsSeen.get(symbol) ?? 2;
    if (chart.kind === "stock") {
      if (candles.symbol !== symbol || candles.bars.length === 0) continue;
      chart.chart.draw({ kind: "candles", decimals, candles: candles.bars, spanMs: MINUTE_MS });
      chart.figure.dataset.symbol = symbol;
      chart.figure.dataset.points = String(candles.bars.length);
      chart.last.textContent = candles.bars.at(-1).close.toFixed(decimals);
      continue;
    }
    const points = series.get(symbol) ?? [];
    if (points.length === 0) continue;
    // The mid of a quote has a digit more than its bid and ask.
    chart.chart.draw({ kind: "line", decimals: decimals + 1, points });
    chart.figure.dataset.symbol = symbol;
    chart.figure.dataset.points = String(points.length);
    chart.last.textContent = points.at(-1).value.toFixed(decimals + 1);
  }
}

function renderArticle(article) {
  const item = element("li");
  const sentiment = Number(article.sentiment);
  item.append(
    element("span", sentiment.toFixed(2), `sentiment ${sentiment >= 0 ? "positive" : "negative"}`),
    element("span", article.headline, "headline"),
    document.createTextNode(" "),
    element("span", (article.symbols ?? []).join(" "), "symbols"),
  );
  item.title = article.summary ?? "";
  return item;
}

function addArticle(article) {
  const list = $("#news-list");
  list.prepend(renderArticle(article));
  while (list.children.length > NEWS_KEPT) list.lastElementChild.remove();
}

async function startMarkets() {
  for (const chart of charts) chart.select.addEventListener("change", scheduleDraw);
  stockChart.select.addEventListener("change", loadBars);
  setInterval(loadBars, BARS_REFRESH_MS);
  window.addEventListener("resize", scheduleDraw);
  const response = await fetch("/v1/news?limit=20");
  if (response.ok) {
    const { articles } = await response.json();
    for (const article of [...articles].reverse()) addArticle(article);
  }
  subscribe("market", "/v1/stream", {
    fx: (quote) => record("fx", quote.pair, quote.at, (quote.bid + quote.ask) / 2, decimalsOf(quote.bid)),
    stock: (quote) => record("stock", quote.symbol, quote.at, quote.last, 2),
    news: addArticle,
  });
}

// --- query -----------------------------------------------------------------------------------

function renderResult(result) {
  const head = element("tr");
  head.append(...result.columns.map((c) => element("th", c)));
  const rows = result.rows.map((row) => {
    const tr = element("tr");
    tr.append(
      ...row.map((cell) =>
        element("td", cell === null ? "NULL" : typeof cell === "object" ? JSON.stringify(cell) : cell),
      ),
    );
    return tr;
  });
  const thead = element("thead");
  thead.append(head);
  const tbody = element("tbody");
  tbody.append(...rows);
  $("#query-result").replaceChildren(thead, tbody);
}

async function startQuery() {
  const response = await fetch("/v1/query/examples");
  const { enabled, examples } = response.ok ? await response.json() : { enabled: false, examples: {} };
  if (!enabled) {
    $("#query-disabled").hidden = false;
    $("#query-form").hidden = true;
    return;
  }
  const select = $("#query-examples");
  for (const name of Object.keys(examples)) {
    const option = element("option", name);
    option.value = name;
    select.append(option);
  }
  select.addEventListener("change", () => {
    if (examples[select.value]) $("#query-sql").value = examples[select.value];
  });
  $("#query-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = $("#query-status");
    status.textContent = "running…";
    const started = performance.now();
    const answer = await fetch("/v1/query", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ sql: $("#query-sql").value }),
    });
    const body = await answer.json();
    if (!answer.ok) {
      status.textContent = body.error?.message ?? `failed (${answer.status})`;
      return;
    }
    renderResult(body);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    status.textContent = `${body.rows.length} rows${body.truncated ? " (first ones)" : ""} in ${seconds} s`;
  });
}

startPipeline();
startMarkets();
startQuery();
