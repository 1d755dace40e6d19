/**
 * `--resume` of many files: files that already arrived whole in an earlier, interrupted run
 * are skipped rather than failing as existing. "Whole" is rsync's quick check: the same size
 * and the same modification time to the second (both ways carry the mtime unless
 * --no-times). Any other existing file fails as usual ("use --overwrite").
 * @module
 */
import type { FileshareClient } from "../client/client.ts";
import type { DirEntry } from "../protocol/messages.ts";
import { remoteJoin } from "./remote_path.ts";

/** Size and modification time of one file, as the quick check compares them. */
export interface FileStamp {
  size: number;
  mtime: Date | null;
}

/** Whether two files pass the quick check: same size, same mtime to the second. */
export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  if (a.size !== b.size || a.mtime === null || b.mtime === null) return false;
  return Math.floor(a.mtime.getTime() / 1000) === Math.floor(b.mtime.getTime() / 1000);
}

function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}

/**
 * The stamps of the remote files at `paths`, listing each parent folder once; a file that is
 * not there (or a folder that cannot be listed) has none.
 */
export async function remoteStamps(
  client: FileshareClient,
  paths: readonly string[],
): Promise<Map<string, FileStamp>> {
  const out = new Map<string, FileStamp>();
  const folders = new Set(paths.map(parentOf));
  for (const folder of folders) {
    let entries: DirEntry[];
    try {
      entries = await client.list(folder);
    } catch {
      continue;
    }
    for (const e of entries) {
      if (e.type !== "file") continue;
      const time = Date.parse(e.mtime);
      out.set(remoteJoin(folder, e.name), {
        size: e.size,
        mtime: Number.isFinite(time) ? new Date(time) : null,
      });
    }
  }
  return out;
}

/** The stamp of a local regular file; null if there is none. */
export async function localStamp(path: string): Promise<FileStamp | null> {
  const info = await Deno.stat(path).catch(() => null);
  return info?.isFile ? { size: info.size, mtime: info.mtime } : null;
}

/** The notice for `count` files skipped by the quick check. */
export function alreadyThereNotice(count: number): string {
  return `skipped ${count} ${count === 1 ? "file" : "files"} already there ` +
    "(same size and modification time)";
}

/** One file of a batch: its local path and its remote path. */
interface StampedJob {
  local: string;
  remote: string;
}

/**
 * The jobs whose files are not already there whole on the other side (the quick check of
 * `remote` against the local file), and the bytes and count of those left out. `remote` holds
 * the stamps of the remote files.
 */
export async function notAlreadyThere<J extends StampedJob>(
  jobs: readonly J[],
  remote: ReadonlyMap<string, FileStamp>,
): Promise<{ left: J[]; skipped: number; skippedBytes: number }> {
  const left: J[] = [];
  let skippedBytes = 0;
  for (const job of jobs) {
    const there = remote.get(job.remote);
    const local = there === undefined ? null : await localStamp(job.local);
    if (there === undefined || local === null || !sameStamp(local, there)) left.push(job);
    else skippedBytes += local.size;
  }
  return { left, skipped: jobs.length - left.length, skippedBytes };
}
