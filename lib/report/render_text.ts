import type { Report, Stat, TransferStats } from "./stats.ts";
import { bucketName, bytes, duration, int, num, time } from "./format.ts";

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

function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}

function statRow(label: string, s: Stat, unit = ""): string[] {
  return [
    label,
    int(s.count),
    num(s.mean) + unit,
    num(s.median) + unit,
    num(s.p95) + unit,
    num(s.min) + unit,
    num(s.max) + unit,
  ];
}

function transferLines(name: string, t: TransferStats): string[] {
  return [
    `${name}: ${int(t.count)} ok, ${int(t.failed)} failed, ${bytes(t.bytes)}`,
    ...table(
      ["", "count", "mean", "median", "p95", "min", "max"],
      [statRow("rate MB/s", t.rateMBps), statRow("duration ms", t.durationMs)],
    ),
    "",
    ...table(
      ["file size", "count", "median MB/s", "p95 MB/s"],
      t.bySize.filter((b) => b.count > 0).map((
        b,
      ) => [b.bucket, int(b.count), num(b.rateMBps.median), num(b.rateMBps.p95)]),
    ),
  ];
}

/** The report as plain text: aligned tables within 80 columns, headline figures first. */
export function renderText(r: Report): string {
  const out: string[] = ["fileshare activity report", "=".repeat(25)];
  out.push(`Log:     ${clip(r.sources.join(", "), WIDTH - 9)}`);
  const filters = [
    r.filters.since ? `since ${r.filters.since}` : "",
    r.filters.until ? `until ${r.filters.until}` : "",
    r.filters.user ? `user ${r.filters.user}` : "",
  ].filter(Boolean);
  if (filters.length) out.push(`Filter:  ${filters.join(", ")}`);
  if (r.period === null) {
    out.push("", "No events in the log" + (filters.length ? " for this filter." : "."));
    if (r.lines.bad > 0) out.push(...badLines(r));
    return out.join("\n") + "\n";
  }
  out.push(
    `Period:  ${time(r.period.from)} to ${time(r.period.to)} UTC (${duration(r.period.ms)})`,
  );
  out.push(`Lines:   ${int(r.lines.events)} events, ${int(r.lines.bad)} malformed`);
  out.push("", "Headline");
  out.push(
    ...table(["", "count", "bytes", "median MB/s", "p95 MB/s"], [
      [
        "uploads",
        int(r.upload.count),
        bytes(r.upload.bytes),
        num(r.upload.rateMBps.median),
        num(r.upload.rateMBps.p95),
      ],
      [
        "downloads",
        int(r.download.count),
        bytes(r.download.bytes),
        num(r.download.rateMBps.median),
        num(r.download.rateMBps.p95),
      ],
    ]),
  );
  out.push(
    `  connections ${int(r.connections.count)} (peak ${
      int(r.connections.peakConcurrent)
    } at once), ` +
      `logins ${int(r.logins.ok)} ok / ${int(r.logins.failed)} failed, errors ${
        int(r.errors.total)
      }`,
  );
  out.push(
    "",
    ...transferLines("Uploads", r.upload),
    "",
    ...transferLines("Downloads", r.download),
  );

  out.push("", "Connections");
  out.push(
    ...table(["", "count", "mean", "median", "p95", "min", "max"], [
      statRow("session ms", r.connections.sessionMs),
    ]),
  );

  if (r.users.length > 0) {
    out.push("", "Users");
    out.push(
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
    );
    if (r.users.length > 20) out.push(`  ... and ${r.users.length - 20} more`);
  }

  out.push("", `Errors: ${int(r.errors.total)}`);
  if (r.errors.total > 0) {
    const codes = r.errors.byCode.map((c) => `${c.code} ${int(c.count)}`).join(", ");
    const cmds = r.errors.byCommand.map((c) => `${c.command} ${int(c.count)}`).join(", ");
    out.push(
      `  by code:    ${clip(codes, WIDTH - 14)}`,
      `  by command: ${clip(cmds, WIDTH - 14)}`,
      "  most recent:",
    );
    for (const e of r.errors.recent) {
      out.push(clip(`    ${time(e.ts)} ${e.event} ${e.code}: ${e.message}`, WIDTH));
    }
  }
  if (r.logins.failedByRemote.length > 0) {
    out.push("", "Failed logins by address");
    out.push(
      ...table(
        ["address", "failures"],
        r.logins.failedByRemote.slice(0, 10).map((f) => [clip(f.remote, 40), int(f.count)]),
      ),
    );
  }

  const tp = r.throughput;
  if (tp.buckets.length > 0) {
    const peak = Math.max(...tp.buckets.map((b) => b.mbps));
    out.push("", `Throughput over time (${bucketName(tp.bucketSeconds)} buckets, UTC)`);
    const shown = tp.buckets.length > 30
      ? tp.buckets.filter((b) => b.uploads + b.downloads > 0)
      : tp.buckets;
    for (const b of shown.slice(-30)) {
      const bar = peak > 0 ? "#".repeat(Math.round((b.mbps / peak) * 36)) : "";
      out.push(
        `  ${time(b.start).slice(5, 16)} ${num(b.mbps).padStart(8)} MB/s ${
          (int(b.uploads + b.downloads) + " ops").padStart(10)
        }  ${bar}`,
      );
    }
    if (shown.length > 30) {
      out.push(`  (last 30 of ${shown.length} busy buckets; the JSON and HTML formats have all)`);
    }
  }

  if (r.benchRuns.length > 0) {
    out.push("", "Load-test runs (client bench)");
    out.push(
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
          num(b.mbps),
        ]),
      ),
    );
  }

  out.push("", "Events by kind");
  const kinds = Object.entries(r.events).map(([k, v]) => `${k} ${int(v)}`);
  let line = " ";
  for (const k of kinds) {
    if (line.length + k.length + 2 > WIDTH) {
      out.push(line);
      line = " ";
    }
    line += ` ${k},`;
  }
  out.push(line.replace(/,$/, ""));
  if (r.lines.bad > 0) out.push(...badLines(r));
  return out.join("\n") + "\n";
}

function badLines(r: Report): string[] {
  const out = [
    "",
    `Malformed lines: ${int(r.lines.bad)} (skipped; first ${r.lines.badExamples.length} shown)`,
  ];
  for (const b of r.lines.badExamples) {
    out.push(clip(`  line ${b.line}: ${b.reason}: ${JSON.stringify(b.text)}`, WIDTH));
  }
  return out;
}
