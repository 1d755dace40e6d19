/**
 * Sizes and rates as people read them, shared by the client's messages and the activity
 * report so that both tools print the same figure the same way.
 * @module
 */

/** Bytes in binary units: `0 B`, `1.5 KiB`, `1.0 GiB`, `512 MiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

/** A rate in decimal units per second: `512 MB/s`, `81.4 MB/s`, `2.20 kB/s` below 1 MB/s. */
export function formatRate(bytes: number, ms: number): string {
  if (ms <= 0) return "n/a";
  return formatBytesPerSecond(bytes / (ms / 1000));
}

/** Bytes per second in decimal units: `512 MB/s`, `81.4 MB/s`, `2.20 kB/s` below 1 MB/s. */
export function formatBytesPerSecond(bps: number): string {
  const [v, unit] = bps >= 1e6 ? [bps / 1e6, "MB/s"] : [bps / 1e3, "kB/s"];
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${unit}`;
}
