/** Summary statistics: a growable list of numbers and its count, mean, percentiles and range. */
import { percentilesOf } from "../percentile.ts";
import type { Stat } from "./report.ts";

const FIRST_BLOCK = 1024;
const MAX_BLOCK = 65536;

/**
 * A growable list of numbers in typed-array blocks: no per-item objects, and growing never
 * copies what is stored (8 bytes a number).
 */
export class Numbers {
  #full: Float64Array[] = [];
  #block = new Float64Array(FIRST_BLOCK);
  #fill = 0;
  #length = 0;

  /** Appends a number. */
  push(v: number): void {
    if (this.#fill === this.#block.length) {
      this.#full.push(this.#block);
      this.#block = new Float64Array(Math.min(MAX_BLOCK, this.#block.length * 2));
      this.#fill = 0;
    }
    this.#block[this.#fill++] = v;
    this.#length++;
  }

  /** How many numbers were pushed. */
  get length(): number {
    return this.#length;
  }

  /** Appends every number to `out` from index `at`; returns the index after the last. */
  copyTo(out: Float64Array, at = 0): number {
    for (const b of this.#full) {
      out.set(b, at);
      at += b.length;
    }
    out.set(this.#block.subarray(0, this.#fill), at);
    return at + this.#fill;
  }

  /** All numbers in one new array, in the order pushed. */
  toArray(): Float64Array {
    const out = new Float64Array(this.#length);
    this.copyTo(out);
    return out;
  }
}

/** Count, mean, median, p95, min and max of a list of numbers (the list is not changed). */
export function summarize(values: ArrayLike<number>): Stat {
  return summarizeInPlace(Float64Array.from(values));
}

/** Sum, minimum and maximum of a list of numbers. */
export interface Totals {
  sum: number;
  min: number;
  max: number;
}

/** The {@link Totals} of `values`, summed in their order (which fixes the sum's last bits). */
export function totalsOf(values: Float64Array): Totals {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { sum, min, max };
}

/**
 * Like {@link summarize}, but reorders `values` instead of copying them. Pass `totals` taken
 * before anything reordered `values` when they were reordered already (the percentile
 * selection's order is random, and a sum in another order can differ in its last bits).
 */
export function summarizeInPlace(values: Float64Array, totals = totalsOf(values)): Stat {
  const n = values.length;
  if (n === 0) return { count: 0, mean: null, median: null, p95: null, min: null, max: null };
  const [median, p95] = percentilesOf(values, [0.5, 0.95]);
  return { count: n, mean: totals.sum / n, median, p95, min: totals.min, max: totals.max };
}
