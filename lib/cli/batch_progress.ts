import { formatBytes, formatRate, formatSeconds } from "./format.ts";
import { eta, type ProgressOutput } from "./progress.ts";

/** What the one progress line of a many-file transfer shows. */
export interface BatchState {
  /** Files finished (done, failed or skipped). */
  filesDone: number;
  /** Files in all. */
  files: number;
  /** Body bytes moved. */
  done: number;
  /** Body bytes in all. */
  total: number;
  /** Time since the batch started. */
  elapsedMs: number;
  /** Terminal columns available. */
  columns: number;
}

/**
 * The line as a pure function of the state:
 * `12/40 files  3.1 MiB/10 MiB  5.2 MB/s  ETA 2.1 s`, cut to `columns`.
 */
export function renderBatchProgress(s: BatchState): string {
  const rate = s.elapsedMs > 0 ? formatRate(s.done, s.elapsedMs) : "-- MB/s";
  const line = `${s.filesDone}/${s.files} files  ${formatBytes(s.done)}/${
    formatBytes(s.total)
  }  ${rate}  ${eta(s)}`;
  return line.slice(0, Math.max(0, s.columns - 1));
}

/** Counts of a finished many-file transfer. */
export interface BatchTotals {
  /** Files transferred. */
  files: number;
  /** Their bytes. */
  bytes: number;
  /** Wall time in ms. */
  ms: number;
  /** Entries left out (symlinks, special files). */
  skipped: number;
  /** Files that failed. */
  failed: number;
}

/** `uploaded 40 files (10 MiB) in 2.1 s, 4.8 MB/s; 2 skipped, 1 failed` */
export function batchSummary(verb: string, t: BatchTotals): string {
  return `${verb} ${t.files} file${t.files === 1 ? "" : "s"} (${formatBytes(t.bytes)}) in ${
    formatSeconds(t.ms)
  }, ${formatRate(t.bytes, t.ms)}; ${t.skipped} skipped, ${t.failed} failed`;
}

/** One progress line for a many-file transfer, redrawn at most every 100 ms. */
export class BatchProgress {
  #out: ProgressOutput | null;
  #state: BatchState;
  #started = performance.now();
  #last = -Infinity;
  #drawn = false;

  /** Starts the line for `files` files of `total` bytes (drawn only when `out` is given). */
  constructor(out: ProgressOutput | null, files: number, total: number) {
    this.#out = out;
    this.#state = { filesDone: 0, files, done: 0, total, elapsedMs: 0, columns: 80 };
  }

  /** Body bytes moved since the last call. */
  bytes(delta: number): void {
    this.#state.done += delta;
    this.#draw(false);
  }

  /** One more file finished. */
  fileDone(): void {
    this.#state.filesDone++;
    this.#draw(this.#state.filesDone === this.#state.files);
  }

  /** Writes a line above the progress line (a failure), which is redrawn after it. */
  above(line: string, write: (line: string) => void): void {
    this.clear();
    write(line);
  }

  #draw(force: boolean): void {
    if (this.#out === null) return;
    const now = performance.now();
    if (!force && now - this.#last < 100) return;
    this.#last = now;
    this.#drawn = true;
    this.#state.elapsedMs = now - this.#started;
    this.#state.columns = this.#out.columns();
    this.#out.write(`\r${renderBatchProgress(this.#state)}\x1b[K`);
  }

  /** Clears the line. */
  clear(): void {
    if (this.#drawn) this.#out?.write("\r\x1b[K");
    this.#drawn = false;
  }
}
