/**
 * A small SVG line chart for benchmark results: one x axis, one or more series, each with its
 * own y scale on its own panel. Plain SVG text, so results render on GitHub and in a browser.
 */

export interface Series {
  title: string;
  unit: string;
  points: Array<{ x: number; y: number }>;
  /** A horizontal reference line, e.g. a target. */
  reference?: { y: number; label: string };
  /** A second line on the same panel, e.g. the offered rate against the achieved one. */
  compare?: { label: string; points: Array<{ x: number; y: number }> };
}

const WIDTH = 640;
const PANEL = 220;
const MARGIN = { left: 70, right: 20, top: 30, bottom: 40 };
const escapeXml = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
const fmt = (n: number) =>
  Math.abs(n) >= 1000 ? `${Math.round(n / 100) / 10}k` : String(Math.round(n * 10) / 10);

export function lineChart(xLabel: string, series: Series[]): string {
  const height = series.length * PANEL;
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const xOf = (x: number) =>
    MARGIN.left + (xMax === xMin ? plotWidth / 2 : ((x - xMin) / (xMax - xMin)) * plotWidth);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="white"/>`,
  ];
  series.forEach((s, index) => {
    const top = index * PANEL + MARGIN.top;
    const plotHeight = PANEL - MARGIN.top - MARGIN.bottom;
    const ys = [
      ...s.points.map((p) => p.y),
      ...(s.compare?.points.map((p) => p.y) ?? []),
      s.reference?.y ?? 0,
      0,
    ];
    const yMax = Math.max(...ys) * 1.1 || 1;
    const yOf = (y: number) => top + plotHeight - (y / yMax) * plotHeight;
    const path = (points: Array<{ x: number; y: number }>) =>
      points.map((p) => `${xOf(p.x).toFixed(1)},${yOf(p.y).toFixed(1)}`).join(" ");
    parts.push(
      `<text x="${MARGIN.left}" y="${top - 10}" font-weight="bold">${escapeXml(`${s.title} (${s.unit})`)}</text>`,
    );
    parts.push(
      `<line x1="${MARGIN.left}" y1="${top + plotHeight}" x2="${WIDTH - MARGIN.right}" y2="${top + plotHeight}" stroke="#333"/>`,
      `<line x1="${MARGIN.left}" y1="${top}" x2="${MARGIN.left}" y2="${top + plotHeight}" stroke="#333"/>`,
    );
    for (const tick of [0, 0.5, 1]) {
      const y = yMax * tick;
      parts.push(`<text x="${MARGIN.left - 6}" y="${yOf(y) + 4}" text-anchor="end">${fmt(y)}</text>`);
    }
    for (const x of [...new Set(xs)]) {
      parts.push(`<text x="${xOf(x)}" y="${top + plotHeight + 16}" text-anchor="middle">${fmt(x)}</text>`);
    }
    parts.push(
      `<text x="${MARGIN.left + plotWidth / 2}" y="${top + plotHeight + 32}" text-anchor="middle">${escapeXml(xLabel)}</text>`,
    );
    if (s.reference) {
      const y = yOf(s.reference.y);
      parts.push(
        `<line x1="${MARGIN.left}" y1="${y}" x2="${WIDTH - MARGIN.right}" y2="${y}" stroke="#c33" stroke-dasharray="4 3"/>`,
        `<text x="${WIDTH - MARGIN.right}" y="${y - 4}" text-anchor="end" fill="#c33">${escapeXml(s.reference.label)}</text>`,
      );
    }
    if (s.compare) {
      parts.push(
        `<polyline points="${path(s.compare.points)}" fill="none" stroke="#999" stroke-dasharray="2 2"/>`,
      );
      parts.push(
        `<text x="${WIDTH - MARGIN.right}" y="${top + 12}" text-anchor="end" fill="#999">${escapeXml(`dashed: ${s.compare.label}`)}</text>`,
      );
    }
    parts.push(`<polyline points="${path(s.points)}" fill="none" stroke="#1f6feb" stroke-width="2"/>`);
    for (const p of s.points) parts.push(`<circle cx="${xOf(p.x)}" cy="${yOf(p.y)}" r="3" fill="#1f6feb"/>`);
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
