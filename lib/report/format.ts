/** Number formatting shared by the report renderers. */
import type { Report, Stat } from "./report.ts";
import { formatBytesPerSecond } from "../units.ts";

/** `1,234,567` */
export function int(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** Bytes in binary units (the client's formatting, so both tools print sizes alike). */
export { formatBytes as bytes } from "../units.ts";

/**
 * A rate given in MB/s for a column headed "MB/s": the number from 1 MB/s up, and below that
 * the rate with its unit in kB/s, as the client prints it (`850 kB/s`, never `0.00`).
 */
export function rate(mbps: number | null): string {
  if (mbps === null || !Number.isFinite(mbps)) return "n/a";
  return mbps >= 1 ? num(mbps) : formatBytesPerSecond(mbps * 1e6);
}

/** A rate given in MB/s with its unit: `30.8 MB/s`, `850 kB/s`. */
export function rateWithUnit(mbps: number | null): string {
  if (mbps === null || !Number.isFinite(mbps)) return "n/a";
  return formatBytesPerSecond(mbps * 1e6);
}

/** `1 address`, `2 addresses`: a count with its noun, singular for one. */
export function counted(n: number, one: string, many = `${one}s`): string {
  return `${int(n)} ${n === 1 ? one : many}`;
}

/** A number with a sensible count of digits, or "n/a" for null. */
export function num(n: number | null, digits = 1): string {
  if (n === null || !Number.isFinite(n)) return "n/a";
  if (Math.abs(n) >= 1000) return int(n);
  // Two significant digits below 0.01, so a small value never shows as 0.00, and never in
  // exponent form (JavaScript writes 1e-7 for anything below 1e-6).
  if (n !== 0 && Math.abs(n) < 0.01) {
    if (Math.abs(n) < 1e-19) return n > 0 ? "~0" : "-~0";
    const decimals = 1 - Math.floor(Math.log10(Math.abs(n)));
    return n.toFixed(decimals).replace(/(\.\d*?[1-9])0+$/, "$1");
  }
  if (Math.abs(n) >= 100) return n.toFixed(0);
  return n.toFixed(n !== 0 && Math.abs(n) < 1 ? Math.max(digits, 2) : digits);
}

/** A duration in ms as `850 ms`, `12.3 s`, `4 min 10 s`, `2 h 5 min`. */
export function duration(ms: number | null): string {
  if (ms === null) return "n/a";
  if (ms < 1000) return `${num(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** The report's filters in words (`since 2026-11-24 16:00:00 UTC`, `user alice`); `zone` follows times. */
export function filterWords(filters: Report["filters"], zone = ""): string[] {
  return [
    filters.since ? `since ${time(filters.since)}${zone}` : "",
    filters.until ? `until ${time(filters.until)}${zone}` : "",
    filters.user ? `user ${filters.user}` : "",
  ].filter(Boolean);
}

/** `2026-11-24 16:06:31` (UTC). */
export function time(iso: string): string {
  return iso.slice(0, 19).replace("T", " ");
}

/** `1 min`, `15 min`, `1 h`, `1 d`, `1 week` for a bucket length in seconds. */
export function bucketName(seconds: number): string {
  if (seconds === 604800) return "1 week";
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  return `${seconds / 60} min`;
}

/** The cells of a statistic's table row: count, mean, median, p95, min, max (`cell` formats). */
export function statCells(s: Stat, cell: (v: number | null) => string = num): string[] {
  return [int(s.count), cell(s.mean), cell(s.median), cell(s.p95), cell(s.min), cell(s.max)];
}

/** A statistic of milliseconds, in seconds. */
export function inSeconds(s: Stat): Stat {
  const f = (v: number | null) => (v === null ? null : v / 1000);
  return {
    count: s.count,
    mean: f(s.mean),
    median: f(s.median),
    p95: f(s.p95),
    min: f(s.min),
    max: f(s.max),
  };
}
