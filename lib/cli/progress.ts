import { formatBytes, formatRate } from "./format.ts";

/** What a progress line shows. */
export interface ProgressState {
  /** What is moving: the remote path. */
  label: string;
  /** Bytes done. */
  done: number;
  /** Bytes in all. */
  total: number;
  /** Time since the transfer started. */
  elapsedMs: number;
  /** Terminal columns available. */
  columns: number;
}

/** `ETA 1.2 s`, `ETA 3m05s`, `done` or `ETA --` for bytes done of a total after some time. */
export function eta(state: Pick<ProgressState, "done" | "total" | "elapsedMs">): string {
  if (state.done <= 0 || state.elapsedMs <= 0) return "ETA --";
  if (state.done >= state.total) return "done";
  const s = ((state.total - state.done) * state.elapsedMs) / state.done / 1000;
  if (s < 60) return `ETA ${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `ETA ${m}m${String(Math.round(s % 60)).padStart(2, "0")}s`
    : `ETA ${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/**
 * The progress line as a pure function of the transfer state:
 * `a.bin  42% [########.........] 430 MiB/1.0 GiB  512 MB/s  ETA 1.2 s`, fitted to `columns`
 * (the bar shrinks first, then the label).
 */
export function renderProgress(state: ProgressState): string {
  const fraction = state.total > 0 ? Math.min(1, state.done / state.total) : 1;
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const tail = ` ${formatBytes(state.done)}/${formatBytes(state.total)}  ${
    state.elapsedMs > 0 ? formatRate(state.done, state.elapsedMs) : "-- MB/s"
  }  ${eta(state)}`;
  let label = state.label;
  const room = state.columns - 1;
  let barWidth = room - label.length - percent.length - tail.length - 5;
  if (barWidth < 10) {
    barWidth = Math.max(0, Math.min(10, room - percent.length - tail.length - 5 - 12));
    const labelRoom = Math.max(4, room - percent.length - tail.length - 5 - barWidth);
    if (label.length > labelRoom) label = "…" + label.slice(label.length - labelRoom + 1);
  }
  barWidth = Math.min(barWidth, 40);
  const filled = Math.round(fraction * barWidth);
  const bar = barWidth > 0 ? ` [${"#".repeat(filled)}${".".repeat(barWidth - filled)}]` : "";
  return `${label} ${percent}${bar}${tail}`.slice(0, Math.max(0, room));
}

/** Where progress goes: a terminal stream with a width. */
export interface ProgressOutput {
  /** Writes text as is (carriage returns and escapes included). */
  write(text: string): void;
  /** The terminal's width now. */
  columns(): number;
}

/**
 * Draws a progress line for one transfer at most every `intervalMs` (default 100 ms, so at most
 * ~10 redraws a second), and clears it when done.
 */
export class ProgressBar {
  #out: ProgressOutput;
  #label: string;
  #total: number;
  #started = performance.now();
  #last = -Infinity;
  #intervalMs: number;
  #drawn = false;

  /** Starts a bar for `total` bytes. */
  constructor(out: ProgressOutput, label: string, total: number, intervalMs = 100) {
    this.#out = out;
    this.#label = label;
    this.#total = total;
    this.#intervalMs = intervalMs;
  }

  /** Reports bytes done; redraws when the interval has passed. */
  update(done: number): void {
    const now = performance.now();
    if (now - this.#last < this.#intervalMs && done < this.#total) return;
    this.#last = now;
    this.#drawn = true;
    this.#out.write(
      "\r" + renderProgress({
        label: this.#label,
        done,
        total: this.#total,
        elapsedMs: now - this.#started,
        columns: this.#out.columns(),
      }) + "\x1b[K",
    );
  }

  /** Clears the line. */
  clear(): void {
    if (this.#drawn) this.#out.write("\r\x1b[K");
    this.#drawn = false;
  }
}

/** A ProgressOutput on stderr, or null when stderr is not a terminal. */
export function stderrProgressOutput(): ProgressOutput | null {
  if (!Deno.stderr.isTerminal()) return null;
  const enc = new TextEncoder();
  return {
    write: (text) => {
      Deno.stderr.writeSync(enc.encode(text));
    },
    columns: () => {
      try {
        // A terminal that reports no size (a pty nobody sized) gets the classic width.
        return Deno.consoleSize().columns || 80;
      } catch {
        return 80;
      }
    },
  };
}
