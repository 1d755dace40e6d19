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
  done.then(() => (finished = true), () => (finished = true));
  // Bounded by the awaited operation; the poll ends on its next tick after `done` settles.
  while (!finished) {
    const r = rssMiB(pid);
    if (r && r.hwm > peak) peak = r.hwm;
    await new Promise((res) => setTimeout(res, 20));
  }
  return Math.round(peak * 10) / 10;
}

// Linux reports utime/stime in clock ticks; USER_HZ is 100 on every mainstream architecture.
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system) a process has used so far, from `/proc/PID/stat`, or null when
 * unreadable. Pass `Deno.pid` for the current process.
 */
export function cpuSeconds(pid: number): { user: number; system: number } | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name (field 2) may hold spaces; the fields after its closing ")" are fixed.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
      user: Number(fields[11]) / TICKS_PER_SECOND,
      system: Number(fields[12]) / TICKS_PER_SECOND,
    };
  } catch {
    return null;
  }
}

/** Fields of `/proc/PID/stat` after the command name, or null when unreadable. */
function statFields(pid: number): string[] | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/**
 * CPU seconds of a whole process tree: `pid` and every live descendant, each with the time of
 * the children it has already reaped (cutime, cstime). The difference of two readings is what
 * the tree spent meanwhile, also in short-lived per-connection processes (sshd, rsync). NaN
 * when `pid` is unreadable.
 */
export function treeCpuSeconds(pid: number): number {
  const parents = new Map<number, number[]>();
  for (const e of Deno.readDirSync("/proc")) {
    const p = Number(e.name);
    if (!Number.isInteger(p)) continue;
    const f = statFields(p);
    if (f === null) continue;
    const ppid = Number(f[1]);
    const list = parents.get(ppid) ?? [];
    list.push(p);
    parents.set(ppid, list);
  }
  let total = 0;
  const stack = [pid];
  let found = false;
  while (stack.length > 0) {
    const p = stack.pop()!;
    const f = statFields(p);
    if (f === null) continue;
    if (p === pid) found = true;
    total += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS_PER_SECOND;
    stack.push(...(parents.get(p) ?? []));
  }
  return found ? total : NaN;
}

/** CPU seconds used by the reaped children of this process (cutime + cstime). */
export function reapedChildrenCpuSeconds(): number {
  const f = statFields(Deno.pid);
  return f === null ? NaN : (Number(f[13]) + Number(f[14])) / TICKS_PER_SECOND;
}
