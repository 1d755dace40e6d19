// Sizes and rates live in lib/units.ts, shared with the activity report.
export { formatBytes, formatRate } from "../units.ts";

/** Seconds with sensible precision. */
export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return s >= 10 ? `${s.toFixed(0)} s` : s >= 1 ? `${s.toFixed(1)} s` : `${s.toFixed(2)} s`;
}
