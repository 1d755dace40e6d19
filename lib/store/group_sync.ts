/**
 * Group commit for fsync. An upload is answered only after its file and its folder are on disk;
 * with many uploads at once, each paying its own flushes would queue them one behind the other.
 * Here a flush asked for while a round is running waits for the next round, which flushes
 * everything that arrived meanwhile together, and a folder once however many uploads landed in
 * it. A lone upload starts a round at once, so it waits no longer than before.
 */

interface Job {
  run: () => Promise<void>;
  waiters: { resolve: () => void; reject: (err: unknown) => void }[];
}

/** Batches file and folder fsyncs into rounds; see the module comment. */
export class GroupSync {
  #queue = new Map<unknown, Job>();
  #running = false;

  /** Resolves once `file`'s data and metadata are on disk. */
  syncFile(file: Deno.FsFile): Promise<void> {
    return this.#add(file, () => file.sync());
  }

  /**
   * Resolves once the folder `path` (its entries) is on disk; one flush per round per folder.
   * `key` names the folder when several paths reach it (pinned `/proc/self/fd/N` paths).
   */
  syncDir(path: string, key = path): Promise<void> {
    return this.#add(`dir:${key}`, async () => {
      if (Deno.build.os === "windows") return;
      using d = await Deno.open(path, { read: true });
      await d.sync();
    });
  }

  #add(key: unknown, run: () => Promise<void>): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    let job = this.#queue.get(key);
    if (job === undefined) {
      job = { run, waiters: [] };
      this.#queue.set(key, job);
    }
    job.waiters.push({ resolve, reject });
    if (!this.#running) void this.#drain();
    return promise;
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      // Each round takes what is queued; what arrives during it forms the next. Bounded by
      // the callers: every job is run once and removed.
      while (this.#queue.size > 0) {
        const jobs = [...this.#queue.values()];
        this.#queue.clear();
        await Promise.all(jobs.map(async (job) => {
          try {
            await job.run();
            for (const w of job.waiters) w.resolve();
          } catch (err) {
            for (const w of job.waiters) w.reject(err);
          }
        }));
      }
    } finally {
      this.#running = false;
    }
  }
}
