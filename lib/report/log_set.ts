/**
 * Rotated logs: the server's size-based rotation renames `NAME` to `NAME.1`, shifting
 * `NAME.1` to `NAME.2` and so on up to `NAME.N`, the oldest (docs/log-format.md). A report
 * of `NAME` covers the whole set, oldest first.
 * @module
 */

const ROTATED = /^(.*)\.(\d+)$/;

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** `NAME.1`, `NAME.2`, ... that exist next to `path`, up to the first missing number. */
async function rotatedOf(path: string): Promise<string[]> {
  const found: string[] = [];
  for (let n = 1; n <= 10_000 && await exists(`${path}.${n}`); n++) found.push(`${path}.${n}`);
  return found;
}

/** The base name and rotation number of a path (`x.jsonl.3` is 3 of `x.jsonl`; `x.jsonl` is 0). */
function rotation(path: string): { base: string; n: number } {
  const m = ROTATED.exec(path);
  return m ? { base: m[1], n: Number(m[2]) } : { base: path, n: 0 };
}

/**
 * The files to read for the logs named on the command line, in time order: each log that is
 * not itself a rotated file (`NAME.3`) brings its rotated files, oldest first; files of one
 * set, however given (a shell glob lists `NAME.10` before `NAME.2`), are read oldest first
 * and once; sets stay in the order they were named.
 *
 * @example
 * ```ts
 * import { logSet } from "./log_set.ts";
 * // With fileshare.jsonl.1 and fileshare.jsonl.2 beside it:
 * await logSet(["fileshare.jsonl"]);
 * // ["fileshare.jsonl.2", "fileshare.jsonl.1", "fileshare.jsonl"]
 * ```
 */
export async function logSet(paths: string[]): Promise<string[]> {
  const sets = new Map<string, Map<string, number>>();
  const add = (path: string) => {
    const { base, n } = rotation(path);
    // A name like "x.2" whose "x" was not named is a log of its own, not part of a set.
    const key = n > 0 && !paths.some((p) => rotation(p).base === base && rotation(p).n === 0) &&
        !sets.has(base)
      ? path
      : base;
    const set = sets.get(key) ?? new Map<string, number>();
    set.set(path, key === path ? 0 : n);
    sets.set(key, set);
  };
  for (const path of paths) {
    add(path);
    if (rotation(path).n === 0) { for (const r of await rotatedOf(path)) add(r); }
  }
  return [...sets.values()].flatMap((set) =>
    [...set].sort((a, b) => b[1] - a[1]).map(([path]) => path)
  );
}
