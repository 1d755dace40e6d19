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

/**
 * Reorders `a[left..right]` so that `a[k]` holds the value it would have if that range were
 * sorted, smaller or equal values before it and greater or equal after (quickselect, Hoare
 * partition with a randomised median-of-three pivot): linear time on average, no allocation.
 */
function select(a: Float64Array, k: number, left: number, right: number): void {
  while (right > left) {
    const mid = (left + right) >>> 1;
    // A random element into the middle, then the median of three: no input order (the log is
    // untrusted) can make the selection quadratic on purpose; the result never depends on it.
    swap(a, mid, left + Math.floor(Math.random() * (right - left + 1)));
    if (a[mid] < a[left]) swap(a, mid, left);
    if (a[right] < a[left]) swap(a, right, left);
    if (a[right] < a[mid]) swap(a, right, mid);
    const pivot = a[mid];
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) swap(a, i++, j--);
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return;
  }
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/**
 * The {@link percentile}s `ps` (ascending, 0..1) of unsorted `values`, without sorting them:
 * each needs the values at two neighbouring ranks, found by selection in linear time. The
 * order of `values` is changed; the results equal `percentile(sorted, p)` exactly.
 *
 * @example
 * ```ts
 * import { percentilesOf } from "./percentile.ts";
 * percentilesOf(Float64Array.of(30, 10, 20), [0.5, 0.95]); // [20, 29]
 * ```
 */
export function percentilesOf(values: Float64Array, ps: readonly number[]): (number | null)[] {
  const n = values.length;
  if (n === 0) return ps.map(() => null);
  let from = 0;
  return ps.map((p) => {
    const h = (n - 1) * p;
    const lo = Math.floor(h);
    if (lo >= from) select(values, lo, from, n - 1);
    // Everything after `lo` is >= values[lo]: the next rank is the smallest of them.
    let next = values[lo];
    if (lo + 1 < n) {
      next = values[lo + 1];
      for (let i = lo + 2; i < n; i++) if (values[i] < next) next = values[i];
    }
    from = lo + 1;
    return values[lo] + (h - lo) * (next - values[lo]);
  });
}
