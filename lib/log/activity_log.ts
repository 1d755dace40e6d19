import type { ActivityEvent } from "./events.ts";
import { FailureAggregator, type FailureAggregatorOptions } from "./failure_aggregator.ts";
import { writeAll } from "../write_all.ts";

const encoder = new TextEncoder();

/** Options of {@link ActivityLog.open}. */
export interface ActivityLogOptions {
  /** Rotate when the file would grow past this many bytes (0: never). */
  maxBytes?: number;
  /** Rotated files kept: NAME.1 (newest) .. NAME.N (oldest). */
  keep?: number;
  /** Folding of failure floods (see {@link FailureAggregator}). */
  aggregate?: FailureAggregatorOptions;
}

/** Longest text kept in one field; `path` and `message` may be longer. */
const MAX_FIELD_CHARS = 256;
const MAX_LONG_FIELD_CHARS = 1024;
const LONG_FIELDS = new Set(["path", "message", "root"]);

/** Cuts over-long strings, so a 4,000-character user name costs the log a few hundred bytes. */
function clipFields(event: ActivityEvent): ActivityEvent {
  let out: ActivityEvent | null = null;
  for (const [k, v] of Object.entries(event)) {
    if (typeof v !== "string") continue;
    const max = LONG_FIELDS.has(k) ? MAX_LONG_FIELD_CHARS : MAX_FIELD_CHARS;
    if (v.length <= max) continue;
    out ??= { ...event };
    out[k] = `${v.slice(0, max)}… (${v.length - max} more characters)`;
  }
  return out ?? event;
}

function concat(parts: Uint8Array[], bytes: number): Uint8Array {
  const all = new Uint8Array(bytes);
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  return all;
}

/**
 * Appends activity events as JSON lines. Whole lines go out on a file opened for appending,
 * those queued while a write runs together in the next, and writes are queued, so lines never
 * interleave. Long fields are clipped,
 * floods of failures before login are folded (see {@link FailureAggregator}), and the file
 * is rotated by size: NAME.1 is the newest rotated file, NAME.N the oldest.
 */
export class ActivityLog implements AsyncDisposable {
  #path: string | null;
  #file: Deno.FsFile | null;
  #size: number;
  #maxBytes: number;
  #keep: number;
  #queue: Promise<void> = Promise.resolve();
  /** Lines not yet written; the write queued for them takes them all. */
  #pending: Uint8Array[] = [];
  #failed = false;
  #aggregator: FailureAggregator;

  private constructor(
    path: string | null,
    file: Deno.FsFile | null,
    size: number,
    options: ActivityLogOptions,
  ) {
    this.#path = path;
    this.#file = file;
    this.#size = size;
    this.#maxBytes = options.maxBytes ?? 0;
    this.#keep = Math.max(1, options.keep ?? 5);
    this.#aggregator = new FailureAggregator((e) => this.#append(e), options.aggregate);
  }

  /** Opens (creating, mode 0600) the log at `path`; null path gives a log that drops events. */
  static async open(path: string | null, options: ActivityLogOptions = {}): Promise<ActivityLog> {
    if (path === null) return new ActivityLog(null, null, 0, options);
    const file = await Deno.open(path, { append: true, create: true, mode: 0o600 });
    const size = (await file.stat()).size;
    return new ActivityLog(path, file, size, options);
  }

  /** Queues one event; `ts` is set to now. Never throws: a failing log is reported once. */
  write(event: ActivityEvent): void {
    if (this.#file === null) return;
    this.#aggregator.push(clipFields(event));
  }

  #append(event: ActivityEvent): void {
    const line = encoder.encode(JSON.stringify({ ts: new Date().toISOString(), ...event }) + "\n");
    this.#pending.push(line);
    // Lines that arrive while a write runs go out together in the next one (many requests
    // answered at once log many lines at once).
    if (this.#pending.length === 1) this.#queue = this.#queue.then(() => this.#writePending());
  }

  async #writePending(): Promise<void> {
    const lines = this.#pending;
    this.#pending = [];
    try {
      let run: Uint8Array[] = [];
      let runBytes = 0;
      const write = async () => {
        if (run.length === 0 || this.#file === null) return;
        await writeAll(this.#file, run.length === 1 ? run[0] : concat(run, runBytes));
        this.#size += runBytes;
        run = [];
        runBytes = 0;
      };
      for (const line of lines) {
        const size = this.#size + runBytes;
        if (this.#maxBytes > 0 && size > 0 && size + line.length > this.#maxBytes) {
          await write();
          await this.#rotate();
        }
        run.push(line);
        runBytes += line.length;
      }
      await write();
    } catch (err) {
      if (!this.#failed) {
        this.#failed = true;
        console.error(`Cannot write the activity log: ${(err as Error).message}`);
      }
    }
  }

  /** NAME.(N-1) → NAME.N, ..., NAME → NAME.1, then a new empty NAME. */
  async #rotate(): Promise<void> {
    const path = this.#path!;
    this.#file?.close();
    this.#file = null;
    for (let i = this.#keep - 1; i >= 1; i--) {
      await Deno.rename(`${path}.${i}`, `${path}.${i + 1}`).catch(() => {});
    }
    await Deno.rename(path, `${path}.1`);
    this.#file = await Deno.open(path, { append: true, create: true, mode: 0o600 });
    this.#size = 0;
  }

  /** Waits until every queued line is written. */
  async flush(): Promise<void> {
    await this.#queue;
  }

  /** Writes pending summaries, flushes and closes the file. */
  async close(): Promise<void> {
    this.#aggregator.flushAll();
    await this.flush();
    this.#file?.close();
    this.#file = null;
  }

  /** Same as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
