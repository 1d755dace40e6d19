/**
 * The report's data model: what analysis computes and every renderer shows.
 * @module
 */
import type { BadLine } from "./log_event.ts";

/** Summary statistics of a set of numbers; all null when there are none. */
export interface Stat {
  count: number;
  mean: number | null;
  median: number | null;
  p95: number | null;
  min: number | null;
  max: number | null;
}

/** Upload or download figures. */
export interface TransferStats {
  /** Successful transfers. */
  count: number;
  failed: number;
  /** Bytes of the successful transfers. */
  bytes: number;
  /** Per-transfer rate in MB/s (10^6 bytes per second), successful transfers with ms > 0. */
  rateMBps: Stat;
  /** Per-transfer duration in ms (server-measured), successful transfers. */
  durationMs: Stat;
  /** Rate by file size. */
  bySize: { bucket: string; minBytes: number; count: number; rateMBps: Stat }[];
}

/** One row per user. */
export interface UserStats {
  user: string;
  uploads: number;
  downloads: number;
  uploadBytes: number;
  downloadBytes: number;
  /** All commands (transfers, dir, delete, mkdir, rmdir). */
  ops: number;
  errors: number;
}

/** One load-test run of `client bench`. */
export interface BenchRun {
  run: string;
  start: string | null;
  end: string | null;
  op: string | null;
  clients: number | null;
  files: number | null;
  size: number | null;
  /** As the client measured them (bench_end). */
  ops: number | null;
  errors: number | null;
  bytes: number | null;
  ms: number | null;
  /** Aggregate rate from the client's figures. */
  mbps: number | null;
  /** Connections the server logged for the run. */
  serverConnections: number;
  /** Transfers the server logged for the run. */
  serverTransfers: number;
  serverBytes: number;
  serverErrors: number;
}

/** One throughput bucket. */
export interface ThroughputBucket {
  start: string;
  uploadBytes: number;
  downloadBytes: number;
  uploads: number;
  downloads: number;
  /** Bytes per second over the bucket, in MB/s. */
  mbps: number;
  /** Uploads and downloads that failed in the bucket, cancelled ones not counted. */
  failed: number;
  /** Uploads and downloads cancelled (code `CANCELLED`) in the bucket. */
  cancelled: number;
}

/**
 * Counts of successful transfers by rate, on logarithmic bins: bin i holds rates from
 * `edgesMBps[i]` up to (not including) `edgesMBps[i + 1]`. Edges follow 1-2-5 steps.
 */
export interface RateHistogram {
  edgesMBps: number[];
  upload: number[];
  download: number[];
}

/** A sample point for the rate-against-size chart. */
export interface RatePoint {
  kind: "upload" | "download";
  size: number;
  mbps: number;
}

/** The whole report (its JSON form is documented in docs/report-format.md). */
export interface Report {
  version: 1;
  generated: string;
  sources: string[];
  filters: { since: string | null; until: string | null; user: string | null };
  period: { from: string; to: string; ms: number } | null;
  lines: { events: number; bad: number; badExamples: BadLine[] };
  events: Record<string, number>;
  connections: { count: number; peakConcurrent: number; sessionMs: Stat };
  logins: {
    ok: number;
    failed: number;
    /** Distinct addresses with failed logins. */
    failedAddresses: number;
    /** The addresses with the most failures, at most 20. */
    failedByRemote: { remote: string; count: number }[];
  };
  upload: TransferStats;
  download: TransferStats;
  errors: {
    total: number;
    byCode: { code: string; count: number }[];
    byCommand: { command: string; count: number }[];
    recent: {
      ts: string;
      event: string;
      code: string;
      message: string;
      user: string | null;
      path: string | null;
    }[];
  };
  throughput: { bucketSeconds: number; buckets: ThroughputBucket[] };
  rateHistogram: RateHistogram;
  users: UserStats[];
  benchRuns: BenchRun[];
  /** Up to 2,000 sampled transfers for the rate-against-size chart. */
  ratePoints: RatePoint[];
}
