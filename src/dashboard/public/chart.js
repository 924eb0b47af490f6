// Price charts as SVG, drawn by hand (docs/decisions.md says why): a time axis below, a price
// axis on the right, the last price marked on it, and either a line or 1-minute OHLC candles.
// Every part is an element with a class, so a test can read the axes and count the candles.

const SVG = "http://www.w3.org/2000/svg";
const MARGIN = { top: 10, right: 72, bottom: 24, left: 8 };
/** Room a label needs along its axis, in pixels: sets how many ticks fit. */
const PRICE_LABEL_PX = 36;
const TIME_LABEL_PX = 84;
const TIME_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];

function node(tag, attributes = {}, text) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** The next round step below `step` (1, 2 or 5 × 10^k): 5 → 2 → 1 → 0.5. */
function smallerStep(step) {
  const magnitude = 10 ** Math.floor(Math.log10(step) + 1e-9);
  const mantissa = Math.round(step / magnitude);
  return mantissa === 5 ? 2 * magnitude : mantissa === 2 ? magnitude : magnitude / 2;
}

/**
 * Round steps (1, 2 or 5 × 10^k) covering [low, high] with about `count` ticks, and at least
 * three: the last price's box may cover one, and an axis needs two labels to be read.
 */
export function priceTicks(low, high, count) {
  // A range that is not a number has no ticks (and would never reach three below).
  if (!Number.isFinite(low) || !Number.isFinite(high)) return [];
  const span = high - low || Math.abs(high) * 1e-3 || 1;
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  for (;;) {
    const ticks = [];
    for (let value = Math.ceil(low / step) * step; value <= high + step * 1e-9; value += step)
      ticks.push(value);
    if (ticks.length >= 3) return ticks;
    step = smallerStep(step);
  }
}

/** Whole-second, whole-minute or whole-hour instants in [fromMs, toMs], about `count` of them. */
export function timeTicks(fromMs, toMs, count) {
  const spanS = Math.max(1, (toMs - fromMs) / 1000);
  const stepS = TIME_STEPS_S.find((s) => spanS / s <= count) ?? TIME_STEPS_S.at(-1);
  const stepMs = stepS * 1000;
  const ticks = [];
  for (let at = Math.ceil(fromMs / stepMs) * stepMs; at <= toMs; at += stepMs) ticks.push(at);
  return { ticks, stepS };
}

const two = (n) => String(n).padStart(2, "0");
function timeLabel(atMs, withSeconds) {
  const at = new Date(atMs);
  const hm = `${two(at.getHours())}:${two(at.getMinutes())}`;
  return withSeconds ? `${hm}:${two(at.getSeconds())}` : hm;
}

/**
 * A chart in `svg`. `draw({ kind, decimals, points | candles, spanMs })` replaces what it
 * shows: points are `{ at, value }`, candles `{ at, open, high, low, close }` (at: the start of
 * the candle's `spanMs`, epoch ms), both oldest first. A line's time axis covers at least
 * `spanMs`.
 */
export function createChart(svg) {
  function draw({ kind, decimals, points = [], candles = [], spanMs = 60_000 }) {
    const { width, height } = svg.getBoundingClientRect();
    const w = Math.max(200, Math.round(width || 600));
    const h = Math.max(120, Math.round(height || 240));
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    const plot = { x0: MARGIN.left, x1: w - MARGIN.right, y0: MARGIN.top, y1: h - MARGIN.bottom };

    const times = kind === "candles" ? candles.map((c) => c.at) : points.map((p) => p.at);
    const lows = kind === "candles" ? candles.map((c) => c.low) : points.map((p) => p.value);
    const highs = kind === "candles" ? candles.map((c) => c.high) : lows;
    if (times.length === 0) return;
    // Candles occupy their whole minute, so the axis runs to the end of the last one. A line
    // shows at least the last `spanMs`, so that a young series still has a time scale.
    const toMs = times.at(-1) + (kind === "candles" ? spanMs : 0);
    const fromMs = kind === "candles" ? times[0] : Math.min(times[0], toMs - spanMs);
    let low = Math.min(...lows);
    let high = Math.max(...highs);
    const pad = (high - low || Math.abs(high) * 1e-4 || 1) * 0.08;
    low -= pad;
    high += pad;
    const x = (at) => plot.x0 + ((at - fromMs) / (toMs - fromMs)) * (plot.x1 - plot.x0);
    const y = (value) => plot.y1 - ((value - low) / (high - low)) * (plot.y1 - plot.y0);

    const last = kind === "candles" ? candles.at(-1).close : points.at(-1).value;
    const grid = node("g", { class: "grid" });
    const priceAxis = node("g", { class: "axis price" });
    for (const value of priceTicks(
      low,
      high,
      Math.max(2, Math.floor((plot.y1 - plot.y0) / PRICE_LABEL_PX)),
    )) {
      grid.append(node("line", { x1: plot.x0, x2: plot.x1, y1: y(value), y2: y(value) }));
      // The last price's box covers the axis there.
      if (Math.abs(y(value) - y(last)) < 14) continue;
      priceAxis.append(
        node("text", { x: plot.x1 + 6, y: y(value), "dominant-baseline": "middle" }, value.toFixed(decimals)),
      );
    }
    const timeAxis = node("g", { class: "axis time" });
    const { ticks, stepS } = timeTicks(
      fromMs,
      toMs,
      Math.max(2, Math.floor((plot.x1 - plot.x0) / TIME_LABEL_PX)),
    );
    for (const at of ticks) {
      // A label centred on a tick at the very edge would be cut off: its grid line stays.
      grid.append(node("line", { x1: x(at), x2: x(at), y1: plot.y0, y2: plot.y1 }));
      if (x(at) < plot.x0 + TIME_LABEL_PX / 3 || x(at) > plot.x1 - TIME_LABEL_PX / 3) continue;
      timeAxis.append(
        node("text", { x: x(at), y: plot.y1 + 16, "text-anchor": "middle" }, timeLabel(at, stepS < 60)),
      );
    }
    const frame = node("rect", {
      class: "frame",
      x: plot.x0,
      y: plot.y0,
      width: plot.x1 - plot.x0,
      height: plot.y1 - plot.y0,
    });

    let series;
    if (kind === "candles") {
      series = node("g", { class: "candles" });
      const slot = ((plot.x1 - plot.x0) * spanMs) / (toMs - fromMs);
      const body = Math.max(1, Math.min(18, slot * 0.7));
      for (const c of candles) {
        const centre = x(c.at + spanMs / 2);
        const up = c.close >= c.open;
        const candle = node("g", {
          class: `candle ${up ? "up" : "down"}`,
          "data-minute": new Date(c.at).toISOString(),
          "data-open": c.open,
          "data-high": c.high,
          "data-low": c.low,
          "data-close": c.close,
        });
        candle.append(
          node("line", { class: "wick", x1: centre, x2: centre, y1: y(c.high), y2: y(c.low) }),
          node("rect", {
            class: "body",
            x: centre - body / 2,
            y: y(Math.max(c.open, c.close)),
            width: body,
            height: Math.max(1, Math.abs(y(c.open) - y(c.close))),
          }),
        );
        series.append(candle);
      }
    } else {
      series = node("polyline", {
        class: "series",
        points: points.map((p) => `${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`).join(" "),
      });
    }

    // The last price: a dashed line across, and its value boxed on the price axis.
    const marker = node("g", { class: "last" });
    marker.append(
      node("line", { x1: plot.x0, x2: plot.x1, y1: y(last), y2: y(last) }),
      node("rect", { x: plot.x1 + 2, y: y(last) - 9, width: MARGIN.right - 4, height: 18, rx: 3 }),
      node("text", { x: plot.x1 + 6, y: y(last), "dominant-baseline": "middle" }, last.toFixed(decimals)),
    );
    svg.replaceChildren(grid, frame, series, priceAxis, timeAxis, marker);
  }
  return { draw };
}
