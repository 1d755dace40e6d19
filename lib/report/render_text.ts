import type { Report, Stat, TransferStats } from "./report.ts";
import {
  bucketName,
  bytes,
  counted,
  duration,
  filterWords,
  inSeconds,
  int,
  num,
  rate,
  statCells,
  time,
} from "./format.ts";

const WIDTH = 80;

function table(headers: string[], rows: string[][], alignLeft = 1): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells: string[]) =>
    "  " +
    cells.map((c, i) => (i < alignLeft ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ")
      .trimEnd();
  return [fmt(headers), ...rows.map(fmt)].map((
    l,
  ) => (l.length > WIDTH ? l.slice(0, WIDTH - 1) + "…" : l));
}

/**
 * Characters a terminal could act on (C0 and C1 controls, including ESC, and bidirectional
 * overrides): log content is untrusted, so each becomes U+FFFD, keeping the line's length.
 */
// deno-lint-ignore no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}

/** `items` joined by ", " and wrapped to 80 columns, the first line after `label`. */
function wrapList(label: string, items: string[]): string[] {
  const out: string[] = [];
  const indent = " ".repeat(label.length);
  let line = label;
  items.forEach((item, i) => {
    const text = clip(item, WIDTH - indent.length - 1) + (i < items.length - 1 ? "," : "");
    if (line.length > indent.length && line.length + 1 + text.length > WIDTH) {
      out.push(line);
      line = indent;
    }
    line += (line.length > indent.length ? " " : "") + text;
  });
  out.push(line);
  return out;
}

/** Merges adjacent buckets so that at most `max` rows remain. */
function mergeBuckets(tp: Report["throughput"], max: number): Report["throughput"] {
  const k = Math.ceil(tp.buckets.length / max);
  if (k <= 1) return tp;
  const seconds = tp.bucketSeconds * k;
  const buckets = [];
  for (let i = 0; i < tp.buckets.length; i += k) {
    const group = tp.buckets.slice(i, i + k);
    const sum = (f: (b: typeof group[number]) => number) => group.reduce((s, b) => s + f(b), 0);
    const upBytes = sum((b) => b.uploadBytes);
    const downBytes = sum((b) => b.downloadBytes);
    buckets.push({
      start: group[0].start,
      uploadBytes: upBytes,
      downloadBytes: downBytes,
      uploads: sum((b) => b.uploads),
      downloads: sum((b) => b.downloads),
      // The last group may be short: its rate is over the time it covers.
      mbps: (upBytes + downBytes) / 1e6 / (tp.bucketSeconds * group.length),
      failed: sum((b) => b.failed),
      cancelled: sum((b) => b.cancelled),
    });
  }
  return { bucketSeconds: seconds, buckets };
}

function statRow(label: string, s: Stat, cell?: (v: number | null) => string): string[] {
  return [label, ...statCells(s, cell)];
}

function transferLines(name: string, t: TransferStats): string[] {
  return [
    `${name}: ${int(t.count)} ok, ${int(t.failed)} failed, ${bytes(t.bytes)}`,
    ...table(
      ["", "count", "mean", "median", "p95", "min", "max"],
      [statRow("rate MB/s", t.rateMBps, rate), statRow("duration ms", t.durationMs)],
    ),
    "",
    ...table(
      ["file size", "count", "median MB/s", "p95 MB/s"],
      t.bySize.filter((b) => b.count > 0).map((
        b,
      ) => [b.bucket, int(b.count), rate(b.rateMBps.median), rate(b.rateMBps.p95)]),
    ),
  ];
}

/** The title block: sources, filters, and the period when there are events. */
function header(r: Report, filters: string[]): string[] {
  const out: string[] = ["fileshare activity report", "=".repeat(25)];
  out.push(`Log:     ${clip(r.sources.join(", "), WIDTH - 9)}`);
  if (filters.length) out.push(`Filter:  ${filters.join(", ")}`);
  if (r.period === null) return out;
  out.push(
    `Period:  ${time(r.period.from)} to ${time(r.period.to)} UTC (${duration(r.period.ms)})`,
    `Lines:   ${int(r.lines.events)} events, ${int(r.lines.bad)} malformed`,
  );
  return out;
}

function headline(r: Report): string[] {
  const row = (name: string, t: TransferStats) => [
    name,
    int(t.count),
    bytes(t.bytes),
    rate(t.rateMBps.median),
    rate(t.rateMBps.p95),
  ];
  return [
    "",
    "Headline",
    ...table(["", "count", "bytes", "median MB/s", "p95 MB/s"], [
      row("uploads", r.upload),
      row("downloads", r.download),
    ]),
    ...wrapList("  ", [
      `connections ${int(r.connections.count)} (peak ${int(r.connections.peakConcurrent)} at once)`,
      `logins ${int(r.logins.ok)} ok / ${int(r.logins.failed)} failed`,
      `errors ${int(r.errors.total)}`,
    ]),
  ];
}

function transfersAndSessions(r: Report): string[] {
  return [
    "",
    ...transferLines("Uploads", r.upload),
    "",
    ...transferLines("Downloads", r.download),
    "",
    "Connections",
    ...table(["", "count", "mean", "median", "p95", "min", "max"], [
      statRow("session s", inSeconds(r.connections.sessionMs)),
    ]),
  ];
}

function usersLines(r: Report): string[] {
  if (r.users.length === 0) return [];
  const out = [
    "",
    "Users",
    ...table(
      ["user", "ops", "uploads", "up bytes", "downloads", "down bytes", "errors"],
      r.users.slice(0, 20).map((u) => [
        clip(u.user, 20),
        int(u.ops),
        int(u.uploads),
        bytes(u.uploadBytes),
        int(u.downloads),
        bytes(u.downloadBytes),
        int(u.errors),
      ]),
    ),
  ];
  if (r.users.length > 20) out.push(`  ... and ${r.users.length - 20} more`);
  return out;
}

function errorLines(r: Report): string[] {
  const out = ["", `Errors: ${int(r.errors.total)}`];
  if (r.errors.total > 0) {
    out.push(
      ...wrapList("  by code:    ", r.errors.byCode.map((c) => `${c.code} ${int(c.count)}`)),
      ...wrapList("  by command: ", r.errors.byCommand.map((c) => `${c.command} ${int(c.count)}`)),
      "  most recent:",
    );
    for (const e of r.errors.recent) {
      const who = [e.user ?? "", e.path === null ? "" : JSON.stringify(e.path)].join(" ").trim();
      out.push(clip(`    ${time(e.ts)}  ${e.event} ${e.code}  ${who}`.trimEnd(), WIDTH));
      if (e.message) out.push(clip(`      ${e.message}`, WIDTH));
    }
  }
  if (r.logins.failedByRemote.length > 0) {
    const more = r.logins.failedAddresses - Math.min(10, r.logins.failedByRemote.length);
    const addresses = counted(r.logins.failedAddresses, "address", "addresses");
    out.push(
      "",
      `Failed logins by address (${addresses})`,
      ...table(
        ["address", "failures"],
        r.logins.failedByRemote.slice(0, 10).map((f) => [clip(f.remote, 40), int(f.count)]),
      ),
    );
    if (more > 0) out.push(`  ... and ${int(more)} more`);
  }
  return out;
}

/**
 * Throughput in at most 30 rows (adjacent buckets merged; the JSON and HTML formats have them
 * all), with a bar per row. When any transfer failed or was cancelled in the period, two more
 * columns count them and the bar gets shorter, to stay within 80 columns.
 */
function throughputLines(r: Report): string[] {
  const tp = mergeBuckets(r.throughput, 30);
  if (tp.buckets.length === 0) return [];
  let peak = 0;
  for (const b of tp.buckets) peak = Math.max(peak, b.mbps);
  const failures = tp.buckets.some((b) => b.failed > 0 || b.cancelled > 0);
  const width = failures ? 25 : 36;
  const out = [
    "",
    `Throughput over time (${bucketName(tp.bucketSeconds)} buckets, UTC)`,
    failures
      ? "  start            MB/s   transfers  failed  cancelled"
      : "  start            MB/s   transfers",
  ];
  for (const b of tp.buckets) {
    const bar = peak > 0 ? "#".repeat(Math.round((b.mbps / peak) * width)) : "";
    const counts = failures ? `${int(b.failed).padStart(8)}${int(b.cancelled).padStart(11)}` : "";
    out.push(
      `  ${time(b.start).slice(5, 16)} ${mbpsCell(b.mbps).padStart(8)} ${
        int(b.uploads + b.downloads).padStart(11)
      }${counts}  ${bar}`.trimEnd(),
    );
  }
  return out;
}

/** A throughput bucket's MB/s in its 8-character column: `<0.01` for a trickle. */
function mbpsCell(mbps: number): string {
  return mbps > 0 && mbps < 0.01 ? "<0.01" : num(mbps);
}

function benchLines(r: Report): string[] {
  if (r.benchRuns.length === 0) return [];
  return [
    "",
    "Load-test runs (client bench)",
    ...table(
      ["run", "op", "clients", "files", "size", "ops", "errors", "MB/s"],
      r.benchRuns.map((b) => [
        clip(b.run, 14),
        b.op ?? "?",
        b.clients === null ? "?" : int(b.clients),
        b.files === null ? "?" : int(b.files),
        b.size === null ? "?" : bytes(b.size),
        b.ops === null ? int(b.serverTransfers) : int(b.ops),
        b.errors === null ? int(b.serverErrors) : int(b.errors),
        rate(b.mbps),
      ]),
    ),
  ];
}

/** The report as plain text: aligned tables within 80 columns, headline figures first. */
export function renderText(r: Report): string {
  const filters = filterWords(r.filters, " UTC");
  const out = header(r, filters);
  if (r.period === null) {
    out.push("", "No events in the log" + (filters.length ? " for this filter." : "."));
    if (r.lines.bad > 0) out.push(...badLines(r));
    return safe(out);
  }
  out.push(
    ...headline(r),
    ...transfersAndSessions(r),
    ...usersLines(r),
    ...errorLines(r),
    ...throughputLines(r),
    ...benchLines(r),
    "",
    "Events by kind",
    ...wrapList("  ", Object.entries(r.events).map(([k, v]) => `${k} ${int(v)}`)),
  );
  if (r.lines.bad > 0) out.push(...badLines(r));
  return safe(out);
}

function badLines(r: Report): string[] {
  const out = [
    "",
    `Malformed lines: ${int(r.lines.bad)} (skipped; first ${r.lines.badExamples.length} shown)`,
  ];
  for (const b of r.lines.badExamples) {
    out.push(clip(`  line ${b.line}: ${b.reason}: ${b.text}`, WIDTH));
  }
  return out;
}

/** The lines as one text within 80 columns, with nothing a terminal could take for a command. */
function safe(lines: string[]): string {
  return lines.map((l) => clip(l.replace(UNSAFE, "\uFFFD"), WIDTH)).join("\n") + "\n";
}
