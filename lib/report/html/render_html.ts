import type { Report, TransferStats } from "../report.ts";
import * as fmt from "../format.ts";
import { esc } from "./svg.ts";
import { histogramChart, scatterChart, throughputChart, userCharts } from "./charts.ts";
import { tableHtml } from "./table.ts";

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

function transferTable(name: string, t: TransferStats, id: string): string {
  return "<div>" + tableHtml(
    `${name}: ${fmt.int(t.count)} ok, ${fmt.int(t.failed)} failed, ${fmt.bytes(t.bytes)}`,
    ["", "count", "mean", "median", "p95", "min", "max"],
    [["rate MB/s", ...fmt.statCells(t.rateMBps, fmt.rate)], [
      "duration ms",
      ...fmt.statCells(t.durationMs),
    ]],
    id,
  ) + tableHtml(
    `${name} rate by file size (MB/s)`,
    ["file size", "count", "median", "p95", "min", "max"],
    t.bySize.filter((b) => b.count > 0).map((b) => [
      b.bucket,
      fmt.int(b.count),
      fmt.rate(b.rateMBps.median),
      fmt.rate(b.rateMBps.p95),
      fmt.rate(b.rateMBps.min),
      fmt.rate(b.rateMBps.max),
    ]),
    `${id}-size`,
  ) + "</div>";
}

/** The page's head and title block: sources, filters and, when there are events, the period. */
function header(r: Report, filters: string[]): string[] {
  const parts = [
    `<!doctype html><html lang="en"><head><meta charset="utf-8">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    // No scripts, no requests: the page only ever shows what is written into it.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    `<title>fileshare activity report</title><style>${STYLE}</style></head><body>`,
    `<h1>fileshare activity report</h1>`,
    `<p class="meta">Log: ${esc(r.sources.join(", "))}</p>`,
  ];
  if (filters.length > 0) parts.push(`<p class="meta">Filter: ${esc(filters.join(", "))}</p>`);
  if (r.period !== null) {
    parts.push(
      `<p class="meta">Period: ${esc(fmt.time(r.period.from))} to ${
        esc(fmt.time(r.period.to))
      } UTC (${esc(fmt.duration(r.period.ms))}) · ${fmt.int(r.lines.events)} events · ${
        fmt.int(r.lines.bad)
      } malformed lines</p>`,
    );
  }
  return parts;
}

/** The page of a log (or filter) without events: what was read and what was wrong with it. */
function emptyPage(r: Report, parts: string[], filtered: boolean): string {
  parts.push(
    `<p id="no-events">No events in the log${filtered ? " for this filter" : ""}${
      r.lines.bad ? `; ${fmt.int(r.lines.bad)} malformed lines` : ""
    }.</p>`,
  );
  if (r.lines.bad > 0) parts.push(badLinesTable(r));
  parts.push(`</body></html>\n`);
  return parts.join("\n");
}

/** The headline figures as cards. */
function cards(r: Report): string {
  const card = (value: string, what: string) =>
    `<div class="card"><b>${esc(value)}</b><span>${esc(what)}</span></div>`;
  return `<div class="cards">` +
    card(fmt.int(r.upload.count), `uploads · ${fmt.bytes(r.upload.bytes)}`) +
    card(fmt.rateWithUnit(r.upload.rateMBps.median), "median upload rate") +
    card(fmt.int(r.download.count), `downloads · ${fmt.bytes(r.download.bytes)}`) +
    card(fmt.rateWithUnit(r.download.rateMBps.median), "median download rate") +
    card(
      fmt.int(r.connections.count),
      `connections · peak ${fmt.int(r.connections.peakConcurrent)}`,
    ) +
    card(`${fmt.int(r.logins.ok)} / ${fmt.int(r.logins.failed)}`, "logins ok / failed") +
    card(fmt.int(r.errors.total), "errors") +
    card(fmt.int(r.users.length), "active users") + `</div>`;
}

function ratesSection(r: Report): string[] {
  return [
    `<h2>Transfer rates</h2>`,
    `<div class="two">`,
    histogramChart(r),
    scatterChart(r),
    `</div>`,
    `<div class="two">`,
    transferTable("Uploads", r.upload, "uploads"),
    transferTable("Downloads", r.download, "downloads"),
    `</div>`,
  ];
}

function usersSection(r: Report): string[] {
  return [
    `<h2>Users</h2>`,
    userCharts(r),
    tableHtml(
      "Per user",
      ["user", "ops", "uploads", "upload bytes", "downloads", "download bytes", "errors"],
      r.users.map((u) => [
        u.user,
        fmt.int(u.ops),
        fmt.int(u.uploads),
        fmt.bytes(u.uploadBytes),
        fmt.int(u.downloads),
        fmt.bytes(u.downloadBytes),
        fmt.int(u.errors),
      ]),
      "users",
      { wrap: [0] },
    ),
  ];
}

function connectionsSection(r: Report): string[] {
  return [
    `<h2>Connections and logins</h2>`,
    `<div class="two">`,
    tableHtml("Session length (s)", ["", "count", "mean", "median", "p95", "min", "max"], [[
      "sessions",
      ...fmt.statCells(fmt.inSeconds(r.connections.sessionMs)),
    ]], "sessions"),
    tableHtml(
      `Failed logins by address (${fmt.counted(r.logins.failedAddresses, "address", "addresses")})`,
      ["address", "failures"],
      r.logins.failedByRemote.slice(0, 10).map((f) => [f.remote, fmt.int(f.count)]),
      "failed-logins",
    ),
    `</div>`,
  ];
}

function errorsSection(r: Report): string[] {
  return [
    `<h2>Errors</h2>`,
    `<div class="two">`,
    tableHtml(
      "By code",
      ["code", "count"],
      r.errors.byCode.map((c) => [c.code, fmt.int(c.count)]),
      "errors-by-code",
    ),
    tableHtml(
      "By command",
      ["command", "count"],
      r.errors.byCommand.map((c) => [c.command, fmt.int(c.count)]),
      "errors-by-command",
    ),
    `</div>`,
    tableHtml(
      "Most recent",
      ["time (UTC)", "event", "code", "user", "path", "message"],
      r.errors.recent.map((e) => [
        fmt.time(e.ts),
        e.event,
        e.code,
        e.user ?? "",
        e.path ?? "",
        e.message,
      ]),
      "errors-recent",
      { noWrap: [0, 1, 2, 3], wrap: [4, 5] },
    ),
  ];
}

const BENCH_HEADERS = [
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
];

function benchSection(r: Report): string[] {
  if (r.benchRuns.length === 0) return [];
  const unknown = (v: number | null, f: (v: number) => string) => (v === null ? "?" : f(v));
  const rows = r.benchRuns.map((b) => [
    b.run,
    b.start ? fmt.time(b.start) : "?",
    b.op ?? "?",
    unknown(b.clients, fmt.int),
    unknown(b.files, fmt.int),
    unknown(b.size, fmt.bytes),
    unknown(b.ops, fmt.int),
    unknown(b.errors, fmt.int),
    fmt.rate(b.mbps),
    fmt.int(b.serverConnections),
    fmt.int(b.serverTransfers),
  ]);
  return [
    `<h2>Load-test runs</h2>`,
    tableHtml(
      "client bench runs (ops, errors and MB/s as the client measured them)",
      BENCH_HEADERS,
      rows,
      "bench-runs",
      { noWrap: [1], wrap: [0] },
    ),
  ];
}

function eventsSection(r: Report): string[] {
  return [
    `<h2>Events</h2>`,
    `<div class="two">`,
    tableHtml(
      "Events by kind",
      ["event", "count"],
      Object.entries(r.events).map(([k, v]) => [k, fmt.int(v)]),
      "events",
    ),
    r.lines.bad > 0 ? badLinesTable(r) : `<p class="empty">No malformed lines.</p>`,
    `</div>`,
  ];
}

/** The report as one self-contained HTML page: inline CSS and SVG charts, no scripts, no requests. */
export function renderHtml(r: Report): string {
  const filters = fmt.filterWords(r.filters);
  const parts = header(r, filters);
  if (r.period === null) return emptyPage(r, parts, filters.length > 0);
  parts.push(
    cards(r),
    `<h2>Throughput over time</h2>`,
    throughputChart(r),
    ...ratesSection(r),
    ...usersSection(r),
    ...connectionsSection(r),
    ...errorsSection(r),
    ...benchSection(r),
    ...eventsSection(r),
    `<p class="meta">Generated ${
      esc(fmt.time(r.generated))
    } UTC by fileshare analysis.</p></body></html>\n`,
  );
  return parts.join("\n");
}

function badLinesTable(r: Report): string {
  return tableHtml(
    `Malformed lines (${fmt.int(r.lines.bad)}, skipped; the first ${r.lines.badExamples.length})`,
    ["line", "reason", "text"],
    r.lines.badExamples.map((b) => [String(b.line), b.reason, b.text]),
    "bad-lines",
    { wrap: [1, 2], mono: [2] },
  );
}
