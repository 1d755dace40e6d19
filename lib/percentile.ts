/**
 * The one percentile definition of fileshare, used by the activity report and the load test.
 *
 * Linear interpolation between the closest ranks (Hyndman and Fan's type 7, the default of
 * numpy, R and spreadsheets): for `n` sorted values, the rank is `h = (n - 1) * p` and the
 * result lies between `sorted[floor(h)]` and the value after it. The median of an even count
 * is the mean of the two middle values, p0 is the minimum and p100 the maximum.
 *
 * @example
 * ```ts
 * import { percentile } from "./percentile.ts";
 * percentile([10, 20], 0.95); // 19.5
 * ```
 * @module
 */

/**
 * The `p` quantile (0..1) of `sorted` (ascending), interpolated between closest ranks; null
 * when there are no values.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}
