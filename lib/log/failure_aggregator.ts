import type { ActivityEvent } from "./events.ts";

/** Options of {@link FailureAggregator}. */
export interface FailureAggregatorOptions {
  /** Length of a window in ms (default 60 s). */
  windowMs?: number;
  /** Lines of one kind from one address written per window before folding starts (default 10). */
  burst?: number;
}

interface Folded {
  count: number;
  last: ActivityEvent;
  timer: ReturnType<typeof setTimeout>;
}

interface Seen {
  windowStart: number;
  lines: number;
}

/** The address of `ip:port` or `[v6]:port`, without the port. */
export function addressOf(remote: string): string {
  const v6 = /^\[(.*)\]:\d+$/.exec(remote);
  if (v6) return v6[1];
  const i = remote.lastIndexOf(":");
  return i > 0 ? remote.slice(0, i) : remote;
}

/**
 * Folds floods of failures before login into one line per address and kind: the first
 * `burst` `auth_fail` and `error` lines of one kind from one address in a window are written,
 * the rest are counted and written once at the end of the window as the last of them with
 * `repeated: N` (the number of lines it stands for besides itself).
 */
export class FailureAggregator {
  #windowMs: number;
  #burst: number;
  #seen = new Map<string, Seen>();
  #folded = new Map<string, Folded>();
  #emit: (event: ActivityEvent) => void;

  /** Creates an aggregator that writes through `emit`. */
  constructor(emit: (event: ActivityEvent) => void, options: FailureAggregatorOptions = {}) {
    this.#emit = emit;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#burst = options.burst ?? 10;
  }

  /** Writes `event` now, or folds it into a later summary line. */
  push(event: ActivityEvent): void {
    if (event.ok || (event.event !== "auth_fail" && event.event !== "error") || !event.remote) {
      this.#emit(event);
      return;
    }
    const key = `${addressOf(event.remote)}\u0000${event.event}\u0000${event.code ?? ""}`;
    const now = Date.now();
    let seen = this.#seen.get(key);
    if (seen === undefined || now - seen.windowStart >= this.#windowMs) {
      seen = { windowStart: now, lines: 0 };
      this.#seen.set(key, seen);
      this.#pruneSeen(now);
    }
    if (seen.lines < this.#burst) {
      seen.lines++;
      this.#emit(event);
      return;
    }
    const folded = this.#folded.get(key);
    if (folded !== undefined) {
      folded.count++;
      folded.last = event;
      return;
    }
    const timer = setTimeout(() => this.#flush(key), seen.windowStart + this.#windowMs - now);
    this.#folded.set(key, { count: 1, last: event, timer });
  }

  #flush(key: string): void {
    const folded = this.#folded.get(key);
    if (folded === undefined) return;
    clearTimeout(folded.timer);
    this.#folded.delete(key);
    if (folded.count === 1) this.#emit(folded.last);
    else this.#emit({ ...folded.last, repeated: folded.count - 1 });
  }

  #pruneSeen(now: number): void {
    // Bounded memory under a flood from many addresses: forget windows that are over.
    if (this.#seen.size < 4096) return;
    for (const [k, s] of this.#seen) {
      if (now - s.windowStart >= this.#windowMs && !this.#folded.has(k)) this.#seen.delete(k);
    }
  }

  /** Writes every pending summary now (at close). */
  flushAll(): void {
    for (const key of [...this.#folded.keys()]) this.#flush(key);
  }
}
