/** Throughput over time: transfers summed per minute, then into at most 120 buckets. */
import type { Report, ThroughputBucket } from "./report.ts";

const MINUTE = 60_000;
const BUCKET_CHOICES = [1, 5, 15, 60, 360, 1440, 10080].map((m) => m * MINUTE);
const MAX_BUCKETS = 120;

interface Minute {
  uploadBytes: number;
  downloadBytes: number;
  uploads: number;
  downloads: number;
  failed: number;
  cancelled: number;
}

/** Sums transfers per minute (one small record per busy minute, whatever the log size). */
export class ThroughputAggregate {
  #minutes = new Map<number, Minute>();

  #minute(t: number): Minute {
    const key = Math.floor(t / MINUTE);
    let m = this.#minutes.get(key);
    if (!m) {
      m = { uploadBytes: 0, downloadBytes: 0, uploads: 0, downloads: 0, failed: 0, cancelled: 0 };
      this.#minutes.set(key, m);
    }
    return m;
  }

  /** A successful transfer of `bytes` at time `t` (ms). */
  ok(t: number, upload: boolean, bytes: number): void {
    const m = this.#minute(t);
    if (upload) {
      m.uploadBytes += bytes;
      m.uploads++;
    } else {
      m.downloadBytes += bytes;
      m.downloads++;
    }
  }

  /** A failed transfer at time `t`; `cancelled` when the client stopped it. */
  failed(t: number, cancelled: boolean): void {
    const m = this.#minute(t);
    if (cancelled) m.cancelled++;
    else m.failed++;
  }

  /** The buckets: the smallest of 1 min .. 1 week that gives at most 120 over the span. */
  finish(): Report["throughput"] {
    if (this.#minutes.size === 0) return { bucketSeconds: 60, buckets: [] };
    // A loop, not Math.min(...keys): a long log has more minutes than a call has arguments.
    let first = Infinity;
    let last = -Infinity;
    for (const k of this.#minutes.keys()) {
      if (k < first) first = k;
      if (k > last) last = k;
    }
    const lo = first * MINUTE;
    const hi = (last + 1) * MINUTE;
    const bucket = BUCKET_CHOICES.find((b) => (hi - lo) / b <= MAX_BUCKETS) ??
      BUCKET_CHOICES.at(-1)!;
    const start = Math.floor(lo / bucket) * bucket;
    const buckets: ThroughputBucket[] = Array.from(
      { length: Math.ceil((hi - start) / bucket) },
      (_, i) => ({
        start: new Date(start + i * bucket).toISOString(),
        uploadBytes: 0,
        downloadBytes: 0,
        uploads: 0,
        downloads: 0,
        mbps: 0,
        failed: 0,
        cancelled: 0,
      }),
    );
    for (const [minute, m] of this.#minutes) {
      const b = buckets[Math.floor((minute * MINUTE - start) / bucket)];
      b.uploadBytes += m.uploadBytes;
      b.downloadBytes += m.downloadBytes;
      b.uploads += m.uploads;
      b.downloads += m.downloads;
      b.failed += m.failed;
      b.cancelled += m.cancelled;
    }
    for (const b of buckets) b.mbps = (b.uploadBytes + b.downloadBytes) / 1e6 / (bucket / 1000);
    return { bucketSeconds: bucket / 1000, buckets };
  }
}
