/** The benchmark harness's result rows and their rendering. */

/** One line of the benchmark table. */
export interface Row {
  /** Case letter, a-f. */
  id: string;
  what: string;
  value: string;
  /** The target, `-` when none, or a note such as `ceiling`. */
  target: string;
  /** Whether the target was met; null when there is no target. */
  met: boolean | null;
}

/** A number with 0 decimals from 100 up, else 1. */
export function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

/** A size in binary units without trailing zeros: `1 GiB`, `1.5 MiB`, `512 B`. */
export function fmtSize(n: number): string {
  if (n >= 1024 ** 3) return `${+(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${+(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/** The rows as aligned columns under a title line; `met`/`MISSED` in the last column. */
export function renderTable(title: string, rows: readonly Row[]): string {
  const width = (pick: (r: Row) => string) => Math.max(0, ...rows.map((r) => pick(r).length));
  const w = [width((r) => r.what), width((r) => r.value), width((r) => r.target)];
  const lines = rows.map((r) => {
    const met = r.met === null ? "" : r.met ? "met" : "MISSED";
    return `(${r.id}) ${r.what.padEnd(w[0])}  ${r.value.padStart(w[1])}  ${
      r.target.padEnd(w[2])
    }  ${met}`.trimEnd();
  });
  return [title, ...lines].join("\n");
}
