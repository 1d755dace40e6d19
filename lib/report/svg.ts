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

const W = 720;
const H = 260;
const M = { left: 64, right: 16, top: 34, bottom: 44 };

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function label(v: number): string {
  if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toFixed(v < 10 ? 2 : 0)}`;
}

function frame(
  title: string,
  body: string,
  legend: { name: string; color: string }[],
  kind: string,
): string {
  const keys = legend.map((l, i) =>
    `<g transform="translate(${M.left + i * 140},${
      H - 10
    })"><rect width="12" height="12" y="-10" fill="${l.color}"/>` +
    `<text x="18" font-size="12">${esc(l.name)}</text></g>`
  ).join("");
  return `<svg class="chart" data-chart="${kind}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" ` +
    `aria-label="${
      esc(title)
    }" xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif">` +
    `<title>${
      esc(title)
    }</title><text x="${M.left}" y="18" font-size="14" font-weight="600" fill="#111827">` +
    `${esc(title)}</text>${body}${keys}</svg>`;
}

function axes(yMax: number, yTitle: string, xLabels: { x: number; text: string }[]): string {
  const ih = H - M.top - M.bottom;
  let s = "";
  for (let i = 0; i <= 4; i++) {
    const y = M.top + ih - (i / 4) * ih;
    s += `<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>` +
      `<text x="${M.left - 6}" y="${y + 4}" font-size="11" text-anchor="end" fill="#4b5563">${
        label((yMax * i) / 4)
      }</text>`;
  }
  for (const l of xLabels) {
    s += `<text x="${l.x}" y="${
      H - M.bottom + 16
    }" font-size="11" text-anchor="middle" fill="#4b5563">${esc(l.text)}</text>`;
  }
  s += `<text transform="translate(14,${
    M.top + ih / 2
  }) rotate(-90)" font-size="12" text-anchor="middle" fill="#374151">${esc(yTitle)}</text>`;
  s += `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ih}" stroke="#9ca3af"/>`;
  s += `<line x1="${M.left}" x2="${W - M.right}" y1="${M.top + ih}" y2="${
    M.top + ih
  }" stroke="#9ca3af"/>`;
  return s;
}

/** Grouped vertical bars: one group per category, one bar per series. */
export function barChart(
  title: string,
  categories: string[],
  series: { name: string; color: string; values: number[] }[],
  yTitle: string,
  kind: string,
): string {
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  const yMax = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const n = Math.max(1, categories.length);
  const gw = iw / n;
  const bw = Math.max(1, (gw * 0.8) / series.length);
  let bars = "";
  series.forEach((s, si) => {
    s.values.forEach((v, i) => {
      const h = (v / yMax) * ih;
      const x = M.left + i * gw + gw * 0.1 + si * bw;
      bars +=
        `<rect class="bar" x="${x.toFixed(1)}" y="${(M.top + ih - h).toFixed(1)}" width="${
          bw.toFixed(1)
        }" ` +
        `height="${h.toFixed(1)}" fill="${s.color}"><title>${
          esc(`${categories[i]}: ${s.name} ${label(v)}`)
        }</title></rect>`;
    });
  });
  const every = Math.ceil(n / 8);
  const xLabels = categories.map((c, i) => ({ x: M.left + i * gw + gw / 2, text: c })).filter((
    _,
    i,
  ) => i % every === 0);
  return frame(title, axes(yMax, yTitle, xLabels) + bars, series, kind);
}

/** Scatter plot with a logarithmic x axis (bytes). */
export function scatterLogX(
  title: string,
  series: Series[],
  xTitle: (v: number) => string,
  yTitle: string,
  kind: string,
): string {
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  const xs = series.flatMap((s) => s.points.map((p) => Math.max(1, p.x)));
  const lo = Math.floor(Math.log10(Math.min(...xs, 1024)));
  const hi = Math.ceil(Math.log10(Math.max(...xs, 1024 * 1024)));
  const yMax = niceMax(Math.max(0, ...series.flatMap((s) => s.points.map((p) => p.y))));
  const px = (x: number) =>
    M.left + ((Math.log10(Math.max(1, x)) - lo) / Math.max(1, hi - lo)) * iw;
  const py = (y: number) => M.top + ih - (y / yMax) * ih;
  let dots = "";
  for (const s of series) {
    for (const p of s.points) {
      dots += `<circle class="dot" cx="${px(p.x).toFixed(1)}" cy="${
        py(p.y).toFixed(1)
      }" r="2.5" fill="${s.color}" fill-opacity="0.6"/>`;
    }
  }
  const xLabels = [];
  for (let e = lo; e <= hi; e++) xLabels.push({ x: px(10 ** e), text: xTitle(10 ** e) });
  return frame(title, axes(yMax, yTitle, xLabels) + dots, series, kind);
}

/** Lines over time (x is an index into `labels`). */
export function lineChart(
  title: string,
  labels: string[],
  series: Series[],
  yTitle: string,
  kind: string,
): string {
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  const n = Math.max(2, labels.length);
  const yMax = niceMax(Math.max(0, ...series.flatMap((s) => s.points.map((p) => p.y))));
  const px = (i: number) => M.left + (i / (n - 1)) * iw;
  const py = (y: number) => M.top + ih - (y / yMax) * ih;
  let paths = "";
  for (const s of series) {
    if (s.points.length === 0) continue;
    const d = s.points.map((p, i) =>
      `${i === 0 ? "M" : "L"}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`
    ).join("");
    paths += `<path class="line" d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`;
    if (s.points.length < 60) {
      for (const p of s.points) {
        paths += `<circle cx="${px(p.x).toFixed(1)}" cy="${
          py(p.y).toFixed(1)
        }" r="2.5" fill="${s.color}"/>`;
      }
    }
  }
  const every = Math.ceil(labels.length / 6);
  const xLabels = labels.map((t, i) => ({ x: px(i), text: t })).filter((_, i) => i % every === 0);
  return frame(title, axes(yMax, yTitle, xLabels) + paths, series, kind);
}
