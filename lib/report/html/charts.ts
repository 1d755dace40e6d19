/** The report page's charts, each from the report's figures. */
import type { Report } from "../report.ts";
import { bucketName, time } from "../format.ts";
import { barChart, lineChart, scatterLogX } from "./svg.ts";

const UP = "#2563eb";
const DOWN = "#f59e0b";
const OTHER = "#10b981";
const FAILED = "#dc2626";
const CANCELLED = "#6b7280";

/** A 1-2-5 bin edge in MB/s as a short label with its unit: `200 kB/s`, `1 MB/s`, `50 MB/s`. */
function edgeLabel(mbps: number): string {
  return mbps >= 1 ? `${+mbps.toPrecision(3)} MB/s` : `${+(mbps * 1000).toPrecision(3)} kB/s`;
}

/** Rates on logarithmic bins, labelled on the bin edges with their units (`500 kB/s`). */
export function histogramChart(r: Report): string {
  const h = r.rateHistogram;
  if (h.edgesMBps.length === 0) return `<p class="empty">No transfer rates to chart.</p>`;
  const edges = h.edgesMBps.map(edgeLabel);
  return barChart(
    {
      title: "Transfer rate histogram (logarithmic bins)",
      yTitle: "transfers",
      kind: "rate-histogram",
      width: 470,
    },
    h.upload.map((_, i) => `${edges[i]} - ${edges[i + 1]}`),
    [
      { name: "uploads", color: UP, values: h.upload },
      { name: "downloads", color: DOWN, values: h.download },
    ],
    edges,
  );
}

/** `1 kB`, `10 MB`: decimal sizes, for axes at powers of ten and byte counts. */
export function decimalSize(v: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${+v.toFixed(1)} ${units[i]}`;
}

/** The sampled transfers: rate against file size. */
export function scatterChart(r: Report): string {
  if (r.ratePoints.length === 0) return "";
  const points = (kind: "upload" | "download") =>
    r.ratePoints.filter((p) => p.kind === kind).map((p) => ({ x: p.size, y: p.mbps }));
  return scatterLogX(
    { title: "Rate against file size", yTitle: "MB/s", kind: "rate-vs-size", width: 470 },
    [
      { name: "uploads", color: UP, points: points("upload") },
      { name: "downloads", color: DOWN, points: points("download") },
    ],
    decimalSize,
  );
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

/** Upload and download throughput per bucket, failed and cancelled transfers marked on top. */
export function throughputChart(r: Report): string {
  const tp = r.throughput;
  if (tp.buckets.length === 0) return `<p class="empty">No transfers.</p>`;
  const secs = tp.bucketSeconds;
  const line = (bytes: (b: typeof tp.buckets[number]) => number) =>
    tp.buckets.map((b, i) => ({ x: i, y: bytes(b) / 1e6 / secs }));
  return lineChart(
    { title: `Throughput per ${bucketName(secs)} (MB/s, UTC)`, yTitle: "MB/s", kind: "throughput" },
    bucketLabels(tp),
    [
      { name: "uploads", color: UP, points: line((b) => b.uploadBytes) },
      { name: "downloads", color: DOWN, points: line((b) => b.downloadBytes) },
    ],
    [
      { name: "failed", color: FAILED, kind: "failed", counts: tp.buckets.map((b) => b.failed) },
      {
        name: "cancelled",
        color: CANCELLED,
        kind: "cancelled",
        counts: tp.buckets.map((b) => b.cancelled),
      },
    ],
  );
}

/** Operations and bytes per user, for the 15 most active users. */
export function userCharts(r: Report): string {
  const users = r.users.slice(0, 15);
  if (users.length === 0) return "";
  const which = users.length < r.users.length ? ` (the ${users.length} most active)` : "";
  const names = users.map((u) => u.user);
  const ops = barChart(
    { title: `Operations per user${which}`, yTitle: "operations", kind: "ops-per-user" },
    names,
    [
      { name: "uploads", color: UP, values: users.map((u) => u.uploads) },
      { name: "downloads", color: DOWN, values: users.map((u) => u.downloads) },
      {
        name: "other commands, failures",
        color: OTHER,
        values: users.map((u) => u.ops - u.uploads - u.downloads),
      },
    ],
  );
  const bytes = barChart(
    {
      title: `Bytes per user${which}`,
      yTitle: "bytes",
      kind: "bytes-per-user",
      yFormat: decimalSize,
    },
    names,
    [
      { name: "uploaded", color: UP, values: users.map((u) => u.uploadBytes) },
      { name: "downloaded", color: DOWN, values: users.map((u) => u.downloadBytes) },
    ],
  );
  return ops + bytes;
}
