/** The rate histogram: transfers counted on logarithmic 1-2-5 bins. */
import type { RateHistogram } from "./report.ts";

/** The 1-2-5 step at or below `v` (v > 0). */
function stepBelow(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [5, 2, 1]) if (m * p <= v * (1 + 1e-12)) return m * p;
  return p;
}

/** The 1-2-5 step after `v` (itself a step). */
function stepAfter(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v) + 1e-9);
  const m = Math.round(v / p);
  return m === 1 ? 2 * p : m === 2 ? 5 * p : 10 * p;
}

/** Bins the rates of uploads and downloads on shared 1-2-5 logarithmic edges. */
export function rateHistogram(up: ArrayLike<number>, down: ArrayLike<number>): RateHistogram {
  let lo = Infinity;
  let hi = -Infinity;
  for (const a of [up, down]) {
    for (let i = 0; i < a.length; i++) {
      if (a[i] > 0 && a[i] < lo) lo = a[i];
      if (a[i] > hi) hi = a[i];
    }
  }
  if (!(hi > 0)) return { edgesMBps: [], upload: [], download: [] };
  const edges = [stepBelow(lo)];
  while (edges[edges.length - 1] <= hi) edges.push(stepAfter(edges[edges.length - 1]));
  const count = (a: ArrayLike<number>) => {
    const bins = new Array<number>(edges.length - 1).fill(0);
    for (let i = 0; i < a.length; i++) {
      let b = 0;
      while (b + 1 < bins.length && a[i] >= edges[b + 1]) b++;
      bins[b]++;
    }
    return bins;
  };
  return { edgesMBps: edges, upload: count(up), download: count(down) };
}
