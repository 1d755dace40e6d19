import { percentile } from "../percentile.ts";

/** Latency summary in milliseconds. */
export interface Latency {
  /** Median. */
  p50: number | null;
  /** 95th percentile. */
  p95: number | null;
  /** 99th percentile. */
  p99: number | null;
  /** Arithmetic mean. */
  mean: number | null;
  /** Fastest. */
  min: number | null;
  /** Slowest. */
  max: number | null;
}

/**
 * p50/p95/p99, mean, min and max of a list of latencies; the percentiles are those of the
 * activity report ({@link percentile}: interpolated between closest ranks).
 */
export function latency(values: readonly number[]): Latency {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) {
    return { p50: null, p95: null, p99: null, mean: null, min: null, max: null };
  }
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    mean: sum / sorted.length,
    min: sorted[0],
    max: sorted[sorted.length - 1],
  };
}
