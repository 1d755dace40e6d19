import { UsageError } from "./errors.ts";

/** Bounds and default of {@link parseIntFlag}. */
export interface IntFlagOptions {
  /** Value when the flag is absent. */
  fallback: number;
  /** Smallest accepted value (default 0). */
  min?: number;
  /** Largest accepted value (default: the largest safe integer). */
  max?: number;
}

/**
 * Parses the value of `--name` as a whole number in `min..max` (digits only: no sign, no
 * exponent, no fraction); the fallback when the flag is absent. Throws UsageError otherwise.
 */
export function parseIntFlag(
  value: string | undefined,
  name: string,
  options: IntFlagOptions,
): number {
  if (value === undefined) return options.fallback;
  const min = options.min ?? 0;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
    const range = options.max === undefined ? `>= ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`Invalid --${name} "${value}": expected a whole number ${range}`);
  }
  return n;
}
