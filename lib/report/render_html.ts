import type { Report, Stat, TransferStats } from "./stats.ts";
import { bucketName, bytes, duration, int, num, time } from "./format.ts";
import { barChart, esc, lineChart, scatterLogX } from "./svg.ts";

const UP = "#2563eb";
const DOWN = "#f59e0b";

const NUMERIC = /^(n\/a|[-+]?[\d,.]+( ?[A-Za-z/%]{1,4})?)$/;

function cell(text: string): string {
  return NUMERIC.test(text) ? `<td>${esc(text)}</td>` : `<td class="t">${esc(text)}</td>`;
}

function tableHtml(caption: string, headers: string[], rows: string[][], id: string): string {
  if (rows.length === 0) return `<p class="empty">${esc(caption)}: none</p>`;
  return `<table id="${id}"><caption>${esc(caption)}</caption><thead><tr>${
    headers.map((h) => `<th>${esc(h)}</th>`).join("")
  }</tr></thead><tbody>${
    rows.map((r) => `<tr>${r.map((c) => cell(c)).join("")}</tr>`).join("")
  }</tbody></table>`;
}

function statCells(s: Stat): string[] {
  return [int(s.count), num(s.mean), num(s.median), num(s.p95), num(s.min), num(s.max)];
}

function transferTable(name: string, t: TransferStats, id: string): string {
  return tableHtml(
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
  );
}

function histogram(r: Report): string {
  const rates = r.ratePoints.map((p) => p.mbps);
  if (rates.length === 0) return `<p class="empty">No transfer rates to chart.</p>`;
  const max = Math.max(...rates);
  const bins = 20;
  const width = max > 0 ? max / bins : 1;
  const up = new Array(bins).fill(0);
  const down = new Array(bins).fill(0);
  for (const p of r.ratePoints) {
    const i = Math.min(bins - 1, Math.floor(p.mbps / width));
    (p.kind === "upload" ? up : down)[i]++;
  }
  const labels = up.map((_, i) => num(i * width));
  return barChart(
    "Transfer rate histogram (MB/s)",
    labels,
    [
      { name: "uploads", color: UP, values: up },
      { name: "downloads", color: DOWN, values: down },
    ],
    "transfers",
    "rate-histogram",
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

/** The report as one self-contained HTML page: inline CSS and SVG charts, no scripts, no requests. */
export function renderHtml(r: Report): string {
  const head = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>fileshare activity report</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1000px;color:#111827;padding:0 16px}
h1{font-size:24px;margin-bottom:4px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.meta{color:#4b5563;font-size:14px}.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;min-width:140px}
.card b{display:block;font-size:22px}.card span{color:#4b5563;font-size:13px}
table{border-collapse:collapse;margin:12px 0;font-size:13px;min-width:50%}caption{text-align:left;font-weight:600;padding:4px 0}
th,td{border-bottom:1px solid #e5e7eb;padding:4px 10px;text-align:right}th:first-child,td:first-child,td.t{text-align:left}
.chart{max-width:100%;height:auto;display:block;margin:8px 0}.empty{color:#6b7280}
.grid{display:grid;grid-template-columns:1fr;gap:8px}
</style></head><body>`;
  const parts: string[] = [head, `<h1>fileshare activity report</h1>`];
  parts.push(`<p class="meta">Log: ${esc(r.sources.join(", "))}<br>`);
  if (r.period === null) {
    parts.push(
      `No events${r.lines.bad ? `; ${int(r.lines.bad)} malformed lines` : ""}.</p></body></html>\n`,
    );
    return parts.join("\n");
  }
  parts.push(
    `Period: ${esc(time(r.period.from))} to ${esc(time(r.period.to))} UTC (${
      esc(duration(r.period.ms))
    }) · ` +
      `${int(r.lines.events)} events · ${int(r.lines.bad)} malformed lines` +
      (r.filters.user ? ` · user ${esc(r.filters.user)}` : "") + `</p>`,
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
      card(int(r.errors.total), "errors") + `</div>`,
  );

  parts.push(`<h2>Throughput over time</h2>`);
  const tp = r.throughput;
  if (tp.buckets.length > 0) {
    const labels = tp.buckets.map((b) => time(b.start).slice(11, 16));
    const secs = tp.bucketSeconds;
    parts.push(lineChart(
      `Throughput per ${bucketName(secs)} (MB/s)`,
      labels,
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
      "MB/s",
      "throughput",
    ));
  } else parts.push(`<p class="empty">No transfers.</p>`);

  parts.push(`<h2>Transfer rates</h2>`, histogram(r));
  parts.push(
    scatterLogX(
      "Rate against file size",
      [
        {
          name: "uploads",
          color: UP,
          points: r.ratePoints.filter((p) => p.kind === "upload").map((p) => ({
            x: p.size,
            y: p.mbps,
          })),
        },
        {
          name: "downloads",
          color: DOWN,
          points: r.ratePoints.filter((p) => p.kind === "download").map((p) => ({
            x: p.size,
            y: p.mbps,
          })),
        },
      ],
      decimalSize,
      "MB/s",
      "rate-vs-size",
    ),
  );
  parts.push(
    transferTable("Uploads", r.upload, "uploads"),
    transferTable("Downloads", r.download, "downloads"),
  );

  parts.push(`<h2>Users</h2>`);
  const users = r.users.slice(0, 15);
  if (users.length > 0) {
    parts.push(barChart(
      "Operations per user",
      users.map((u) => u.user),
      [
        { name: "uploads", color: UP, values: users.map((u) => u.uploads) },
        { name: "downloads", color: DOWN, values: users.map((u) => u.downloads) },
        {
          name: "other commands",
          color: "#10b981",
          values: users.map((u) => u.ops - u.uploads - u.downloads),
        },
      ],
      "operations",
      "ops-per-user",
    ));
  }
  parts.push(
    tableHtml(
      "Per user",
      ["user", "ops", "uploads", "upload bytes", "downloads", "download bytes", "errors"],
      r.users.map((
        u,
      ) => [
        u.user,
        int(u.ops),
        int(u.uploads),
        bytes(u.uploadBytes),
        int(u.downloads),
        bytes(u.downloadBytes),
        int(u.errors),
      ]),
      "users",
    ),
  );

  parts.push(`<h2>Connections and logins</h2>`);
  parts.push(
    tableHtml("Sessions (ms)", ["", "count", "mean", "median", "p95", "min", "max"], [[
      "session length",
      ...statCells(r.connections.sessionMs),
    ]], "sessions"),
  );
  parts.push(
    tableHtml(
      "Failed logins by address",
      ["address", "failures"],
      r.logins.failedByRemote.slice(0, 10).map((f) => [f.remote, int(f.count)]),
      "failed-logins",
    ),
  );

  parts.push(`<h2>Errors</h2>`);
  parts.push(
    tableHtml(
      "By code",
      ["code", "count"],
      r.errors.byCode.map((c) => [c.code, int(c.count)]),
      "errors-by-code",
    ),
  );
  parts.push(
    tableHtml(
      "By command",
      ["command", "count"],
      r.errors.byCommand.map((c) => [c.command, int(c.count)]),
      "errors-by-command",
    ),
  );
  parts.push(
    tableHtml(
      "Most recent",
      ["time", "event", "code", "user", "path", "message"],
      r.errors.recent.map((
        e,
      ) => [time(e.ts), e.event, e.code, e.user ?? "", e.path ?? "", e.message]),
      "errors-recent",
    ),
  );

  if (r.benchRuns.length > 0) {
    parts.push(`<h2>Load-test runs</h2>`);
    parts.push(
      tableHtml(
        "client bench runs",
        [
          "run",
          "start",
          "op",
          "clients",
          "files",
          "size",
          "ops",
          "errors",
          "MB/s",
          "server transfers",
        ],
        r.benchRuns.map((
          b,
        ) => [
          b.run,
          b.start ? time(b.start) : "?",
          b.op ?? "?",
          b.clients === null ? "?" : int(b.clients),
          b.files === null ? "?" : int(b.files),
          b.size === null ? "?" : bytes(b.size),
          b.ops === null ? "?" : int(b.ops),
          b.errors === null ? "?" : int(b.errors),
          num(b.mbps),
          int(b.serverTransfers),
        ]),
        "bench-runs",
      ),
    );
  }

  parts.push(`<h2>Events</h2>`);
  parts.push(
    tableHtml(
      "Events by kind",
      ["event", "count"],
      Object.entries(r.events).map(([k, v]) => [k, int(v)]),
      "events",
    ),
  );
  if (r.lines.bad > 0) {
    parts.push(
      tableHtml(
        `Malformed lines (${int(r.lines.bad)}; first shown)`,
        ["line", "reason", "text"],
        r.lines.badExamples.map((b) => [String(b.line), b.reason, b.text]),
        "bad-lines",
      ),
    );
  }
  parts.push(
    `<p class="meta">Generated ${
      esc(time(r.generated))
    } UTC by fileshare analysis.</p></body></html>\n`,
  );
  return parts.join("\n");
}
