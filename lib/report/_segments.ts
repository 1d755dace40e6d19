/**
 * Cuts logs into segments of about `size` bytes, each starting at a line's start, so that
 * several workers can parse one big log at once and the events still come out in log order.
 */
import type { LogSegment } from "./read_log.ts";

const NEWLINE = 0x0a;
/** How far past a cut point to look for the next line's start. */
const WINDOW = 64 * 1024;

/**
 * The segments of `paths` in order. A file is cut after the first newline within 64 KiB
 * past each multiple of `size` (no newline there: no cut); the last segment of a file runs to its end (null), so that a log
 * still being written is read as far as it goes. A file that cannot be opened gets one
 * segment, and reading it reports the error in order.
 */
export async function planSegments(paths: string[], size: number): Promise<LogSegment[]> {
  const segments: LogSegment[] = [];
  for (const path of paths) {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch {
      segments.push({ path, start: 0, end: null });
      continue;
    }
    try {
      segments.push(...await cut(file, path, size));
    } catch {
      segments.push({ path, start: 0, end: null });
    } finally {
      file.close();
    }
  }
  return segments;
}

async function cut(file: Deno.FsFile, path: string, size: number): Promise<LogSegment[]> {
  const segments: LogSegment[] = [];
  const total = (await file.stat()).size;
  const window = new Uint8Array(WINDOW);
  let start = 0;
  for (let at = size; at < total; at += size) {
    if (at < start) continue; // a line longer than a segment
    await file.seek(at, Deno.SeekMode.Start);
    const got = await file.read(window);
    if (got === null) break;
    const nl = window.subarray(0, got).indexOf(NEWLINE);
    if (nl < 0) continue;
    const end = at + nl + 1;
    segments.push({ path, start, end });
    start = end;
  }
  segments.push({ path, start, end: null });
  return segments;
}
