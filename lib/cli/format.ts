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

/** A rate in decimal megabytes per second (MB/s = 10^6 B/s, as disks and networks quote). */
export function formatRate(bytes: number, ms: number): string {
  if (ms <= 0) return "n/a";
  const mbps = bytes / 1e6 / (ms / 1000);
  return `${mbps >= 100 ? mbps.toFixed(0) : mbps >= 10 ? mbps.toFixed(1) : mbps.toFixed(2)} MB/s`;
}

/** Seconds with sensible precision. */
export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return s >= 10 ? `${s.toFixed(0)} s` : s >= 1 ? `${s.toFixed(1)} s` : `${s.toFixed(2)} s`;
}
