/** Upload and download figures: counts, bytes, rates by file size, durations. */
import type { LogEvent } from "./log_event.ts";
import type { TransferStats } from "./report.ts";
import { Numbers, summarizeInPlace, totalsOf } from "./summary.ts";

/** File-size buckets for "rate by file size". */
export const SIZE_BUCKETS: { label: string; min: number }[] = [
  { label: "< 64 KiB", min: 0 },
  { label: "64 KiB - 1 MiB", min: 64 * 1024 },
  { label: "1 - 16 MiB", min: 1024 * 1024 },
  { label: "16 - 256 MiB", min: 16 * 1024 * 1024 },
  { label: "256 MiB - 1 GiB", min: 256 * 1024 * 1024 },
  { label: ">= 1 GiB", min: 1024 * 1024 * 1024 },
];

function sizeBucket(bytes: number): number {
  let i = 0;
  while (i + 1 < SIZE_BUCKETS.length && bytes >= SIZE_BUCKETS[i + 1].min) i++;
  return i;
}

/**
 * Upload or download figures, one transfer at a time: counts, bytes, and per successful
 * transfer its duration and its rate (kept per file-size bucket; all rates are their union).
 */
export class TransferAggregate {
  count = 0;
  failed = 0;
  bytes = 0;
  #durations = new Numbers();
  #bucketRates = SIZE_BUCKETS.map(() => new Numbers());
  #bucketCounts = SIZE_BUCKETS.map(() => 0);

  /** Adds one transfer event; returns its rate in MB/s, or null (failed, or no duration). */
  add(e: LogEvent): number | null {
    if (!e.ok) {
      this.failed++;
      return null;
    }
    const bytes = e.bytes ?? 0;
    const ms = e.ms ?? 0;
    this.count++;
    this.bytes += bytes;
    this.#durations.push(ms);
    const b = sizeBucket(e.size ?? bytes);
    this.#bucketCounts[b]++;
    if (ms <= 0) return null;
    const rate = bytes / 1e6 / (ms / 1000);
    this.#bucketRates[b].push(rate);
    return rate;
  }

  /**
   * The figures, and every rate in MB/s in one array for the histogram (grouped by size
   * bucket, then reordered by the percentile selection). The rates are copied once: each
   * bucket's statistics are taken on its stretch of that array, then the overall ones.
   */
  finish(): { stats: TransferStats; rates: Float64Array } {
    const rates = new Float64Array(this.#bucketRates.reduce((n, r) => n + r.length, 0));
    let at = 0;
    for (const r of this.#bucketRates) at = r.copyTo(rates, at);
    // Before the buckets' selections reorder their stretches, so the mean is the same each run.
    const overall = totalsOf(rates);
    at = 0;
    const bySize = SIZE_BUCKETS.map((b, i) => {
      const from = at;
      at += this.#bucketRates[i].length;
      return {
        bucket: b.label,
        minBytes: b.min,
        count: this.#bucketCounts[i],
        rateMBps: summarizeInPlace(rates.subarray(from, at)),
      };
    });
    const stats = {
      count: this.count,
      failed: this.failed,
      bytes: this.bytes,
      rateMBps: summarizeInPlace(rates, overall),
      durationMs: summarizeInPlace(this.#durations.toArray()),
      bySize,
    };
    return { stats, rates };
  }
}
