/** Small inline-SVG charts for the HTML report: no scripts, no network, plain markup. */

/** Escapes text for HTML and SVG content and attribute values. */
export function esc(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

/** A named series of points. */
export interface Series {
  name: string;
  color: string;
  points: { x: number; y: number }[];
}

/** Options shared by the charts. */
export interface ChartOptions {
  /** Chart title, drawn at the top. */
  title: string;
  /** Label of the y axis. */
  yTitle: string;
  /** Value of the `data-chart` attribute, so tests and styles can find the chart. */
  kind: string;
  /** Width in px of the drawing (it scales down with the page); default 960. */
  width?: number;
  /** Labels of y values (default {@link shortNumber}). */
  yFormat?: (v: number) => string;
}

const H = 280;
const M = { left: 64, right: 20, top: 36, bottom: 48 };

interface Box {
  w: number;
  iw: number;
  ih: number;
}

function box(o: ChartOptions): Box {
  const w = o.width ?? 960;
  return { w, iw: w - M.left - M.right, ih: H - M.top - M.bottom };
}

/** A y scale: 0 to `max` in steps of `step`, both round (1, 2 or 5 times a power of ten). */
export interface Scale {
  max: number;
  step: number;
}

/**
 * The y scale for values up to `top`: the smallest 1-2-5 step that needs at most five steps,
 * so ticks read 0, 10, 20, 30, 40 and never 13, 25, 38. Counts get whole steps.
 */
export function niceScale(top: number, whole = false): Scale {
  if (!(top > 0)) return { max: whole ? 4 : 1, step: whole ? 1 : 0.25 };
  let p = 10 ** Math.floor(Math.log10(top / 5));
  for (;;) {
    for (const m of [1, 2, 5]) {
      const step = m * p;
      if (whole && step < 1) continue;
      const n = Math.ceil(top / step - 1e-9);
      if (n <= 5) return { max: n * step, step };
    }
    p *= 10;
  }
}

/** A short axis number: `0.002`, `0.25`, `40`, `1.5k`, `2M`. */
export function shortNumber(v: number): string {
  if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  if (v > 0 && v < 1) return `${+v.toPrecision(2)}`;
  return `${+v.toFixed(v < 10 ? 2 : 0)}`;
}

/** About how wide `text` is drawn at 11 px, in px. */
function textWidth(text: string): number {
  return text.length * 6.5;
}

function frame(o: ChartOptions, b: Box, body: string, legend: { name: string; color: string }[]) {
  const keys = legend.map((l, i) =>
    `<g transform="translate(${M.left + i * 150},${H - 10})">` +
    `<rect width="12" height="12" y="-10" rx="2" fill="${l.color}"/>` +
    `<text x="18" font-size="12" fill="#374151">${esc(l.name)}</text></g>`
  ).join("");
  return `<svg class="chart" data-chart="${esc(o.kind)}" viewBox="0 0 ${b.w} ${H}" ` +
    `width="${b.w}" height="${H}" role="img" aria-label="${esc(o.title)}" ` +
    `xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif">` +
    `<title>${esc(o.title)}</title>` +
    `<text x="${M.left}" y="20" font-size="14" font-weight="600" fill="#111827">` +
    `${esc(o.title)}</text>${body}${keys}</svg>`;
}

function axes(o: ChartOptions, b: Box, scale: Scale, xLabels: { x: number; text: string }[]) {
  const bottom = M.top + b.ih;
  const format = o.yFormat ?? shortNumber;
  let s = "";
  const ticks = Math.round(scale.max / scale.step);
  for (let i = 0; i <= ticks; i++) {
    const y = bottom - (i / ticks) * b.ih;
    s += `<line x1="${M.left}" x2="${b.w - M.right}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>` +
      `<text class="y-tick" x="${M.left - 6}" y="${y + 4}" font-size="11" text-anchor="end" ` +
      `fill="#4b5563">${esc(format(i * scale.step))}</text>`;
  }
  for (const l of xLabels) {
    s += `<text class="x-label" x="${l.x.toFixed(1)}" y="${bottom + 16}" font-size="11" ` +
      `text-anchor="middle" fill="#4b5563">${esc(l.text)}</text>`;
  }
  s += `<text transform="translate(16,${M.top + b.ih / 2}) rotate(-90)" font-size="12" ` +
    `text-anchor="middle" fill="#374151">${esc(o.yTitle)}</text>`;
  s += `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${bottom}" stroke="#9ca3af"/>`;
  s += `<line x1="${M.left}" x2="${b.w - M.right}" y1="${bottom}" y2="${bottom}" ` +
    `stroke="#9ca3af"/>`;
  return s;
}

/**
 * Every k-th label, with the smallest k that keeps neighbours from touching: labels are
 * centred on their x, so two fit when their distance exceeds half of each width plus a gap.
 */
export function thin<T extends { x: number; text: string }>(labels: T[]): T[] {
  if (labels.length < 2) return labels;
  const gap = Math.abs(labels[1].x - labels[0].x);
  const widest = Math.max(...labels.map((l) => textWidth(l.text)));
  const every = Math.max(1, Math.ceil((widest + 10) / Math.max(gap, 1e-9)));
  return labels.filter((_, i) => i % every === 0);
}

/**
 * Grouped vertical bars: one group per category, one bar per series. With `edges`, the
 * categories are ranges and the labels sit on the boundaries between the groups.
 */
export function barChart(
  o: ChartOptions,
  categories: string[],
  series: { name: string; color: string; values: number[] }[],
  edges?: string[],
): string {
  const b = box(o);
  let top = 0;
  for (const s of series) for (const v of s.values) top = Math.max(top, v);
  const scale = niceScale(top, o.yFormat === undefined);
  const format = o.yFormat ?? shortNumber;
  const n = Math.max(1, categories.length);
  const gw = b.iw / n;
  const bw = Math.max(1, (gw * 0.8) / series.length);
  let bars = "";
  series.forEach((s, si) => {
    s.values.forEach((v, i) => {
      const h = (v / scale.max) * b.ih;
      const x = M.left + i * gw + gw * 0.1 + si * bw;
      bars += `<rect class="bar" x="${x.toFixed(1)}" y="${(M.top + b.ih - h).toFixed(1)}" ` +
        `width="${bw.toFixed(1)}" height="${h.toFixed(1)}" fill="${s.color}">` +
        `<title>${esc(`${categories[i]}: ${s.name} ${format(v)}`)}</title></rect>`;
    });
  });
  const xLabels = edges
    ? thin(edges.map((text, i) => ({ x: M.left + i * gw, text })))
    : thin(categories.map((text, i) => ({ x: M.left + i * gw + gw / 2, text })));
  return frame(o, b, axes(o, b, scale, xLabels) + bars, series);
}

/** Scatter plot with a logarithmic x axis (`xLabel` names the powers of ten). */
export function scatterLogX(
  o: ChartOptions,
  series: Series[],
  xLabel: (v: number) => string,
): string {
  const b = box(o);
  let xMin = 1024;
  let xMax = 1024 * 1024;
  let top = 0;
  for (const s of series) {
    for (const p of s.points) {
      xMin = Math.min(xMin, Math.max(1, p.x));
      xMax = Math.max(xMax, p.x);
      top = Math.max(top, p.y);
    }
  }
  const lo = Math.floor(Math.log10(xMin));
  const hi = Math.ceil(Math.log10(xMax));
  const scale = niceScale(top);
  const px = (x: number) =>
    M.left + ((Math.log10(Math.max(1, x)) - lo) / Math.max(1, hi - lo)) * b.iw;
  const py = (y: number) => M.top + b.ih - (y / scale.max) * b.ih;
  // One group per series carries the colour, so each of up to 2,000 dots stays short.
  let dots = "";
  for (const s of series) {
    dots += `<g fill="${s.color}" fill-opacity="0.55">`;
    for (const p of s.points) {
      dots += `<circle class="dot" cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="2.5"/>`;
    }
    dots += "</g>";
  }
  const xLabels = [];
  for (let e = lo; e <= hi; e++) xLabels.push({ x: px(10 ** e), text: xLabel(10 ** e) });
  return frame(o, b, axes(o, b, scale, thin(xLabels)) + dots, series);
}

/** Counts drawn as marks along the top of a time chart (failed transfers, for example). */
export interface Marks {
  name: string;
  color: string;
  /** Value of the marks' `data-marks` attribute. */
  kind: string;
  /** One count per x position; a mark is drawn where it is above zero. */
  counts: number[];
}

function marksSvg(m: Marks, row: number, labels: string[], px: (i: number) => number): string {
  const y = M.top + 6 + row * 10;
  let s = `<g data-marks="${esc(m.kind)}" fill="${m.color}">`;
  m.counts.forEach((c, i) => {
    if (c <= 0) return;
    const x = px(i);
    s += `<path class="mark" d="M${(x - 4).toFixed(1)},${y - 4}L${(x + 4).toFixed(1)},${y - 4}` +
      `L${x.toFixed(1)},${y + 3}Z"><title>${esc(`${labels[i]}: ${c} ${m.name}`)}</title></path>`;
  });
  return s + "</g>";
}

/**
 * Lines over time: `labels` name the x positions, point x values index into them. `marks`
 * (counts per position) are drawn as small triangles along the top, one row each.
 */
export function lineChart(
  o: ChartOptions,
  labels: string[],
  series: Series[],
  marks: Marks[] = [],
): string {
  const b = box(o);
  const n = Math.max(2, labels.length);
  let top = 0;
  for (const s of series) for (const p of s.points) top = Math.max(top, p.y);
  const scale = niceScale(top);
  const px = (i: number) => M.left + (i / (n - 1)) * b.iw;
  const py = (y: number) => M.top + b.ih - (y / scale.max) * b.ih;
  let paths = "";
  for (const s of series) {
    if (s.points.length === 0) continue;
    const d = s.points.map((p, i) =>
      `${i === 0 ? "M" : "L"}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`
    ).join("");
    paths += `<path class="line" d="${d}" fill="none" stroke="${s.color}" stroke-width="2" ` +
      `stroke-linejoin="round"/>`;
    if (s.points.length < 60) {
      for (const p of s.points) {
        paths += `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="2.5" ` +
          `fill="${s.color}"/>`;
      }
    }
  }
  const shown = marks.filter((m) => m.counts.some((c) => c > 0));
  paths += shown.map((m, row) => marksSvg(m, row, labels, px)).join("");
  const xLabels = thin(labels.map((text, i) => ({ x: px(i), text })));
  return frame(o, b, axes(o, b, scale, xLabels) + paths, [...series, ...shown]);
}
