/**
 * Reads big logs with several parsing workers at once while this thread builds the report:
 * the logs are cut into segments at line starts, segment k goes to worker k mod N, and the
 * events come back in columns (no object cloned per event) and are handed on in log order.
 * Each worker runs at most a few batches ahead of this thread, so memory stays bounded.
 */
import { ColumnReader } from "./_event_columns.ts";
import { planSegments } from "./_segments.ts";
import type { FromWorker, ToWorker } from "./_worker_messages.ts";
import { type BadLine, type LogEvent, LogReadError } from "./read_log.ts";

/** How to split the work. */
export interface ParallelReadOptions {
  /** Parsing workers (default 2). */
  workers?: number;
  /** Bytes per segment (default 16 MiB). */
  segmentSize?: number;
}

/** Messages of one worker, taken in arrival order. */
class Inbox {
  #items: FromWorker[] = [];
  #waiting: ((m: FromWorker) => void) | null = null;
  #failure: Error | null = null;
  #failed: ((err: Error) => void) | null = null;

  put(m: FromWorker): void {
    if (this.#waiting) {
      const w = this.#waiting;
      this.#waiting = this.#failed = null;
      w(m);
    } else this.#items.push(m);
  }

  fail(err: Error): void {
    this.#failure = err;
    if (this.#failed) {
      const f = this.#failed;
      this.#waiting = this.#failed = null;
      f(err);
    }
  }

  take(): Promise<FromWorker> {
    const m = this.#items.shift();
    if (m !== undefined) return Promise.resolve(m);
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiting = resolve;
      this.#failed = reject;
    });
  }
}

/**
 * Calls `onEvent` with every event of the logs at `paths` in order, and `onBad` with every
 * unusable line (line numbers count from the file's start, as with readEvents). Events that
 * travelled in columns share one object that the next event overwrites: `onEvent` must copy
 * what it keeps of a successful event (failed events and bench marks are their own objects).
 * Throws a LogReadError for a log that cannot be read, after the events before it.
 */
export async function readEventsParallel(
  paths: string[],
  onEvent: (e: LogEvent) => void,
  onBad: (bad: BadLine) => void,
  options: ParallelReadOptions = {},
): Promise<void> {
  const segments = await planSegments(paths, options.segmentSize ?? 16 * 1024 * 1024);
  const count = Math.max(1, Math.min(options.workers ?? 2, segments.length));
  const workers: Worker[] = [];
  const inboxes: Inbox[] = [];
  try {
    for (let w = 0; w < count; w++) {
      const worker = new Worker(new URL("./_parse_worker.ts", import.meta.url), {
        type: "module",
      });
      const inbox = new Inbox();
      worker.onmessage = (e: MessageEvent<FromWorker>) => inbox.put(e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        inbox.fail(new Error(`Log parsing worker failed: ${e.message}`));
      };
      workers.push(worker);
      inboxes.push(inbox);
    }
    segments.forEach((segment, id) => {
      const m: ToWorker = { type: "parse", id, segment };
      workers[id % count].postMessage(m);
    });
    const readers = workers.map(() => new ColumnReader());
    let lineBase = 0;
    for (let id = 0; id < segments.length; id++) {
      const w = id % count;
      const lines = await takeSegment(inboxes[w], workers[w], readers[w], onEvent, (bad) => {
        onBad({ ...bad, line: bad.line + lineBase });
      });
      const next = segments[id + 1];
      lineBase = next !== undefined && next.path === segments[id].path ? lineBase + lines : 0;
    }
  } finally {
    for (const worker of workers) worker.terminate();
  }
}

/** Hands on one segment's events; returns its count of lines. */
async function takeSegment(
  inbox: Inbox,
  worker: Worker,
  reader: ColumnReader,
  onEvent: (e: LogEvent) => void,
  onBad: (bad: BadLine) => void,
): Promise<number> {
  const credit: ToWorker = { type: "credit" };
  for (;;) {
    const m = await inbox.take();
    switch (m.type) {
      case "batch":
        worker.postMessage(credit);
        reader.forEach(m.columns, onEvent);
        break;
      case "bad":
        onBad(m.bad);
        break;
      case "done":
        return m.lines;
      case "error":
        throw new LogReadError(m.message);
    }
  }
}
