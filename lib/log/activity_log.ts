import type { ActivityEvent } from "./events.ts";
import { writeAll } from "../write_all.ts";

const encoder = new TextEncoder();

/**
 * Appends activity events as JSON lines. Each line goes out in one write on a file opened
 * for appending, and writes are queued, so lines never interleave.
 */
export class ActivityLog implements AsyncDisposable {
  #file: Deno.FsFile | null;
  #queue: Promise<void> = Promise.resolve();
  #failed = false;

  private constructor(file: Deno.FsFile | null) {
    this.#file = file;
  }

  /** Opens (creating, mode 0600) the log at `path`; null path gives a log that drops events. */
  static async open(path: string | null): Promise<ActivityLog> {
    if (path === null) return new ActivityLog(null);
    const file = await Deno.open(path, { append: true, create: true, mode: 0o600 });
    return new ActivityLog(file);
  }

  /** Queues one event; `ts` is set to now. Never throws: a failing log is reported once. */
  write(event: ActivityEvent): void {
    const file = this.#file;
    if (file === null) return;
    const line = encoder.encode(JSON.stringify({ ts: new Date().toISOString(), ...event }) + "\n");
    this.#queue = this.#queue.then(async () => {
      try {
        await writeAll(file, line);
      } catch (err) {
        if (!this.#failed) {
          this.#failed = true;
          console.error(`Cannot write the activity log: ${(err as Error).message}`);
        }
      }
    });
  }

  /** Waits until every queued line is written. */
  async flush(): Promise<void> {
    await this.#queue;
  }

  /** Flushes and closes the file. */
  async close(): Promise<void> {
    await this.flush();
    this.#file?.close();
    this.#file = null;
  }

  /** Same as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
