import type { Report, Stat, TransferStats } from "./report.ts";
import { bucketName, bytes, duration, inSeconds, int, num, time } from "./format.ts";
import { barChart, esc, lineChart, scatterLogX, shortNumber } from "./svg.ts";

const UP = "#2563eb";
const DOWN = "#f59e0b";
const OTHER = "#10b981";

const NUMERIC = /^(n\/a|\?|[-+]?[\d,.]+( ?[A-Za-z/%]{1,4})?)$/;

/** Column layout of a table: which columns stay on one line and which may break anywhere. */
interface Columns {
  noWrap?: number[];
  wrap?: number[];
  /** Columns of raw log text, in a monospace font. */
  mono?: number[];
}

/**
 * A table of already formatted cells. Columns whose cells are all numbers align right, the
 * others (header included) left.
 */
function tableHtml(
  caption: string,
  headers: string[],
  rows: string[][],
  id: string,
  columns: Columns = {},
): string {
  if (rows.length === 0) return `<p class="empty" id="${id}">${esc(caption)}: none</p>`;
  const classes = headers.map((_, i) => {
    const text = i === 0 || rows.some((r) => !NUMERIC.test(r[i]));
    const c = [
      text ? "t" : "",
      columns.noWrap?.includes(i) ? "nw" : "",
      columns.wrap?.includes(i) ? "wr" : "",
      columns.mono?.includes(i) ? "mono" : "",
    ].filter(Boolean).join(" ");
    return c ? ` class="${c}"` : "";
  });
  return `<table id="${id}"><caption>${esc(caption)}</caption><thead><tr>${
    headers.map((h, i) => `<th${classes[i]}>${esc(h)}</th>`).join("")
  }</tr></thead><tbody>${
    rows.map((r) => `<tr>${r.map((c, i) => `<td${classes[i]}>${esc(c)}</td>`).join("")}</tr>`)
      .join("")
  }</tbody></table>`;
}

function statCells(s: Stat): string[] {
  return [int(s.count), num(s.mean), num(s.median), num(s.p95), num(s.min), num(s.max)];
}

function transferTable(name: string, t: TransferStats, id: string): string {
  return "<div>" + tableHtml(
    `${name}: ${int(t.count)} ok, ${int(t.failed)} failed, ${bytes(t.bytes)}`,
    ["", "count", "mean", "median", "p95", "min", "max"],
    [["rate MB/s", ...statCells(t.rateMBps)], ["duration ms", ...statCells(t.durationMs)]],
    id,
  ) + tableHtml(
    `${name} rate by file size (MB/s)`,
    ["file size", "count", "median", "p95", "min", "max"],
    t.bySize.filter((b) => b.count > 0).map((b) => [
      b.bucket,
      int(b.count),
      num(b.rateMBps.median),
      num(b.rateMBps.p95),
      num(b.rateMBps.min),
      num(b.rateMBps.max),
    ]),
    `${id}-size`,
  ) + "</div>";
}

function histogram(r: Report): string {
  const h = r.rateHistogram;
  if (h.edgesMBps.length === 0) return `<p class="empty">No transfer rates to chart.</p>`;
  const edges = h.edgesMBps.map(shortNumber);
  return barChart(
    {
      title: "Transfer rate histogram (MB/s, logarithmic bins)",
      yTitle: "transfers",
      kind: "rate-histogram",
      width: 470,
    },
    h.upload.map((_, i) => `${edges[i]} - ${edges[i + 1]} MB/s`),
    [
      { name: "uploads", color: UP, values: h.upload },
      { name: "downloads", color: DOWN, values: h.download },
    ],
    edges,
  );
}

/** `1 kB`, `10 MB`: labels for a logarithmic size axis at powers of ten. */
function decimalSize(v: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${+v.toFixed(1)} ${units[i]}`;
}

/** Throughput axis labels: times of day, with the date when the span crosses days. */
function bucketLabels(tp: Report["throughput"]): string[] {
  const first = tp.buckets[0]?.start ?? "";
  const last = tp.buckets.at(-1)?.start ?? "";
  const days = first.slice(0, 10) !== last.slice(0, 10);
  return tp.buckets.map((b) => {
    const t = time(b.start);
    if (tp.bucketSeconds >= 86400) return t.slice(5, 10);
    return days ? t.slice(5, 16) : t.slice(11, 16);
  });
}

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1000px;
color:#111827;padding:0 20px;background:#fff}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.meta{color:#4b5563;font-size:13px;margin:4px 0;overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px;margin:16px 0}
.card{border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;background:#f9fafb}
.card b{display:block;font-size:22px}.card span{color:#4b5563;font-size:12px}
.two{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:8px 40px;align-items:start}
table{border-collapse:collapse;margin:10px 0;font-size:13px;width:100%}
caption{text-align:left;font-weight:600;padding:4px 0}
th,td{border-bottom:1px solid #e5e7eb;padding:4px 8px;text-align:right;font-variant-numeric:tabular-nums}
th{background:#f3f4f6}
.t{text-align:left}.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}.nw{white-space:nowrap}.wr{overflow-wrap:anywhere}
.chart{max-width:100%;height:auto;display:block;margin:8px 0}.empty{color:#6b7280}
`;

/** The report as one self-contained HTML page: inline CSS and SVG charts, no scripts, no requests. */
export function renderHtml(r: Report): string {
  const parts: string[] = [
    `<!doctype html><html lang="en"><head><meta charset="utf-8">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    // No scripts, no requests: the page only ever shows what is written into it.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    `<title>fileshare activity report</title><style>${STYLE}</style></head><body>`,
    `<h1>fileshare activity report</h1>`,
    `<p class="meta">Log: ${esc(r.sources.join(", "))}</p>`,
  ];
  const filters = [
    r.filters.since ? `since ${time(r.filters.since)}` : "",
    r.filters.until ? `until ${time(r.filters.until)}` : "",
    r.filters.user ? `user ${r.filters.user}` : "",
  ].filter(Boolean);
  if (filters.length > 0) parts.push(`<p class="meta">Filter: ${esc(filters.join(", "))}</p>`);
  if (r.period === null) {
    parts.push(
      `<p id="no-events">No events in the log${filters.length ? " for this filter" : ""}${
        r.lines.bad ? `; ${int(r.lines.bad)} malformed lines` : ""
      }.</p>`,
    );
    if (r.lines.bad > 0) parts.push(badLinesTable(r));
    parts.push(`</body></html>\n`);
    return parts.join("\n");
  }
  parts.push(
    `<p class="meta">Period: ${esc(time(r.period.from))} to ${esc(time(r.period.to))} UTC (${
      esc(duration(r.period.ms))
    }) · ${int(r.lines.events)} events · ${int(r.lines.bad)} malformed lines</p>`,
  );
  const card = (value: string, what: string) =>
    `<div class="card"><b>${esc(value)}</b><span>${esc(what)}</span></div>`;
  parts.push(
    `<div class="cards">` +
      card(int(r.upload.count), `uploads · ${bytes(r.upload.bytes)}`) +
      card(`${num(r.upload.rateMBps.median)} MB/s`, "median upload rate") +
      card(int(r.download.count), `downloads · ${bytes(r.download.bytes)}`) +
      card(`${num(r.download.rateMBps.median)} MB/s`, "median download rate") +
      card(int(r.connections.count), `connections · peak ${int(r.connections.peakConcurrent)}`) +
      card(`${int(r.logins.ok)} / ${int(r.logins.failed)}`, "logins ok / failed") +
      card(int(r.errors.total), "errors") +
      card(int(r.users.length), "active users") + `</div>`,
  );

  parts.push(`<h2>Throughput over time</h2>`);
  const tp = r.throughput;
  if (tp.buckets.length > 0) {
    const secs = tp.bucketSeconds;
    parts.push(lineChart(
      {
        title: `Throughput per ${bucketName(secs)} (MB/s, UTC)`,
        yTitle: "MB/s",
        kind: "throughput",
      },
      bucketLabels(tp),
      [
        {
          name: "uploads",
          color: UP,
          points: tp.buckets.map((b, i) => ({ x: i, y: b.uploadBytes / 1e6 / secs })),
        },
        {
          name: "downloads",
          color: DOWN,
          points: tp.buckets.map((b, i) => ({ x: i, y: b.downloadBytes / 1e6 / secs })),
        },
      ],
    ));
  } else parts.push(`<p class="empty">No transfers.</p>`);

  parts.push(`<h2>Transfer rates</h2>`, `<div class="two">`, histogram(r));
  const points = (kind: "upload" | "download") =>
    r.ratePoints.filter((p) => p.kind === kind).map((p) => ({ x: p.size, y: p.mbps }));
  parts.push(
    r.ratePoints.length === 0 ? "" : scatterLogX(
      { title: "Rate against file size", yTitle: "MB/s", kind: "rate-vs-size", width: 470 },
      [
        { name: "uploads", color: UP, points: points("upload") },
        { name: "downloads", color: DOWN, points: points("download") },
      ],
      decimalSize,
    ),
    `</div>`,
  );
  parts.push(
    `<div class="two">`,
    transferTable("Uploads", r.upload, "uploads"),
    transferTable("Downloads", r.download, "downloads"),
    `</div>`,
  );

  parts.push(`<h2>Users</h2>`);
  const users = r.users.slice(0, 15);
  if (users.length > 0) {
    parts.push(barChart(
      {
        title: users.length < r.users.length
          ? `Operations per user (the ${users.length} most active)`
          : "Operations per user",
        yTitle: "operations",
        kind: "ops-per-user",
      },
      users.map((u) => u.user),
      [
        { name: "uploads", color: UP, values: users.map((u) => u.uploads) },
        { name: "downloads", color: DOWN, values: users.map((u) => u.downloads) },
        {
          name: "other commands, failures",
          color: OTHER,
          values: users.map((u) => u.ops - u.uploads - u.downloads),
        },
      ],
    ));
  }
  parts.push(
    tableHtml(
      "Per user",
      ["user", "ops", "uploads", "upload bytes", "downloads", "download bytes", "errors"],
      r.users.map((u) => [
        u.user,
        int(u.ops),
        int(u.uploads),
        bytes(u.uploadBytes),
        int(u.downloads),
        bytes(u.downloadBytes),
        int(u.errors),
      ]),
      "users",
      { wrap: [0] },
    ),
  );

  parts.push(`<h2>Connections and logins</h2>`, `<div class="two">`);
  parts.push(
    tableHtml("Session length (s)", ["", "count", "mean", "median", "p95", "min", "max"], [[
      "sessions",
      ...statCells(inSeconds(r.connections.sessionMs)),
    ]], "sessions"),
  );
  parts.push(
    tableHtml(
      `Failed logins by address (${int(r.logins.failedAddresses)} addresses)`,
      ["address", "failures"],
      r.logins.failedByRemote.slice(0, 10).map((f) => [f.remote, int(f.count)]),
      "failed-logins",
    ),
    `</div>`,
  );

  parts.push(`<h2>Errors</h2>`, `<div class="two">`);
  parts.push(
    tableHtml(
      "By code",
      ["code", "count"],
      r.errors.byCode.map((c) => [c.code, int(c.count)]),
      "errors-by-code",
    ),
    tableHtml(
      "By command",
      ["command", "count"],
      r.errors.byCommand.map((c) => [c.command, int(c.count)]),
      "errors-by-command",
    ),
    `</div>`,
  );
  parts.push(
    tableHtml(
      "Most recent",
      ["time (UTC)", "event", "code", "user", "path", "message"],
      r.errors.recent.map((e) => [
        time(e.ts),
        e.event,
        e.code,
        e.user ?? "",
        e.path ?? "",
        e.message,
      ]),
      "errors-recent",
      { noWrap: [0, 1, 2, 3], wrap: [4, 5] },
    ),
  );

  if (r.benchRuns.length > 0) {
    parts.push(`<h2>Load-test runs</h2>`);
    parts.push(
      tableHtml(
        "client bench runs (ops, errors and MB/s as the client measured them)",
        [
          "run",
          "start (UTC)",
          "op",
          "clients",
          "files",
          "size",
          "ops",
          "errors",
          "MB/s",
          "server conns",
          "server transfers",
        ],
        r.benchRuns.map((b) => [
          b.run,
          b.start ? time(b.start) : "?",
          b.op ?? "?",
          b.clients === null ? "?" : int(b.clients),
          b.files === null ? "?" : int(b.files),
          b.size === null ? "?" : bytes(b.size),
          b.ops === null ? "?" : int(b.ops),
          b.errors === null ? "?" : int(b.errors),
          num(b.mbps),
          int(b.serverConnections),
          int(b.serverTransfers),
        ]),
        "bench-runs",
        { noWrap: [1], wrap: [0] },
      ),
    );
  }

  parts.push(`<h2>Events</h2>`, `<div class="two">`);
  parts.push(
    tableHtml(
      "Events by kind",
      ["event", "count"],
      Object.entries(r.events).map(([k, v]) => [k, int(v)]),
      "events",
    ),
  );
  parts.push(r.lines.bad > 0 ? badLinesTable(r) : `<p class="empty">No malformed lines.</p>`);
  parts.push(`</div>`);
  parts.push(
    `<p class="meta">Generated ${
      esc(time(r.generated))
    } UTC by fileshare analysis.</p></body></html>\n`,
  );
  return parts.join("\n");
}

function badLinesTable(r: Report): string {
  return tableHtml(
    `Malformed lines (${int(r.lines.bad)}, skipped; the first ${r.lines.badExamples.length})`,
    ["line", "reason", "text"],
    r.lines.badExamples.map((b) => [String(b.line), b.reason, b.text]),
    "bad-lines",
    { wrap: [1, 2], mono: [2] },
  );
}
