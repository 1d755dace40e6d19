/** Linux /proc readings for the benchmarks. */

/** Current and peak resident set size of a process in MiB, or null when unreadable. */
export function rssMiB(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
    return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
  } catch {
    return null;
  }
}

/** Polls a process's VmHWM every 20 ms until `done` settles; returns the highest seen (MiB). */
export async function peakRssMiB(pid: number, done: Promise<unknown>): Promise<number> {
  let peak = 0;
  let finished = false;
  done.finally(() => (finished = true));
  while (!finished) {
    const r = rssMiB(pid);
    if (r && r.hwm > peak) peak = r.hwm;
    await new Promise((res) => setTimeout(res, 20));
  }
  return Math.round(peak * 10) / 10;
}
