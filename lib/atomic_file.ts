/**
 * Writing a file that must appear whole or not at all: write a temporary file in the target's
 * folder, flush it, then rename it into place (or hard-link it, which fails if the name
 * appeared meanwhile). Used by the users file and the client's downloads. (LocalStore keeps
 * its own variant: it holds a lock on the temporary file and renames relative to an open
 * folder handle, see lib/store/local_store.ts.)
 *
 * @module
 */
import { writeAll } from "./write_all.ts";

/** Options of {@link AtomicFile.create}. */
export interface AtomicFileOptions {
  /** Path of the temporary file: in the target's folder, so the final rename is atomic. */
  temp: string;
  /** Replace an existing target; without it the target must not exist at commit. */
  overwrite: boolean;
  /** Mode of the new file, before the umask (default 0o644). */
  mode?: number;
  /** How the data and the new name are made durable (default: not at all). */
  sync?: AtomicSync | null;
}

/** How an {@link AtomicFile} makes its data and its new name durable (e.g. a group commit). */
export interface AtomicSync {
  /** Flushes the file's data; runs before the file takes the target's name. */
  syncFile(file: Deno.FsFile): Promise<void>;
  /** Flushes a folder; runs after the rename, so the new name survives a crash. */
  syncDir(dir: string): Promise<void>;
}

/** fsync the file before the rename, but not its folder (the users file, downloads). */
export const SYNC_FILE: AtomicSync = {
  syncFile: (file) => file.sync(),
  syncDir: () => Promise.resolve(),
};

function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : path.slice(0, i) || "/";
}

/**
 * A file written under a temporary name and moved to its target by {@link commit}; until then
 * the target is untouched, and {@link abort} (or `await using`) removes every trace.
 *
 * @example
 * ```ts
 * import { AtomicFile } from "./atomic_file.ts";
 * const dir = await Deno.makeTempDir();
 * {
 *   await using file = await AtomicFile.create(`${dir}/notes.txt`, {
 *     temp: `${dir}/.notes.txt.part`,
 *     overwrite: true,
 *   });
 *   await file.write(new TextEncoder().encode("hello"));
 *   await file.commit();
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class AtomicFile implements AsyncDisposable {
  #file: Deno.FsFile | null;
  #temp: string;
  #target: string;
  #options: AtomicFileOptions;
  #finished = false;

  private constructor(
    file: Deno.FsFile,
    temp: string,
    target: string,
    options: AtomicFileOptions,
  ) {
    this.#file = file;
    this.#temp = temp;
    this.#target = target;
    this.#options = options;
  }

  /**
   * Creates the temporary file (never an existing one). Errors are the runtime's
   * (`Deno.errors.NotFound` for a missing folder, `PermissionDenied`...).
   */
  static async create(target: string, options: AtomicFileOptions): Promise<AtomicFile> {
    const file = await Deno.open(options.temp, {
      write: true,
      createNew: true,
      mode: options.mode ?? 0o644,
    });
    return new AtomicFile(file, options.temp, target, options);
  }

  /** Path of the temporary file. */
  get temp(): string {
    return this.#temp;
  }

  /** Writes some of `p` to the temporary file; returns how many bytes were written. */
  async write(p: Uint8Array): Promise<number> {
    if (this.#file === null) throw new Deno.errors.BadResource(`"${this.#temp}" is closed`);
    return await this.#file.write(p);
  }

  /**
   * Moves the file into place: flush (see `sync`), then rename (with `overwrite`) or hard-link and drop the
   * temporary name; the file is closed before the move.
   * Throws `Deno.errors.AlreadyExists` when the target exists and `overwrite` is off. On any
   * failure the temporary file is removed. With `mtime`, the file gets that modification time.
   */
  async commit(mtime?: Date): Promise<void> {
    const file = this.#file;
    if (file === null || this.#finished) {
      throw new Deno.errors.BadResource(`"${this.#temp}" is already committed or aborted`);
    }
    try {
      if (mtime !== undefined) await file.utime(new Date(), mtime);
      await this.#options.sync?.syncFile(file);
      this.#close();
      if (this.#options.overwrite) {
        await Deno.rename(this.#temp, this.#target);
      } else {
        await Deno.link(this.#temp, this.#target);
        await Deno.remove(this.#temp);
      }
      await this.#options.sync?.syncDir(parentOf(this.#target));
      this.#finished = true;
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  /** Closes and removes the temporary file; the target is left as it was. Safe to repeat. */
  async abort(): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    this.#close();
    await Deno.remove(this.#temp).catch(() => {});
  }

  #close(): void {
    try {
      this.#file?.close();
    } catch {
      // already closed
    }
    this.#file = null;
  }

  /** Same as {@link abort}: a file not committed by the end of its scope is dropped. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.abort();
  }
}

/** Writes `text` to `path` atomically (temporary file, fsync, rename) with exactly `mode`. */
export async function writeFileAtomic(path: string, text: string, mode: number): Promise<void> {
  await using file = await AtomicFile.create(path, {
    temp: `${path}.tmp-${crypto.randomUUID()}`,
    overwrite: true,
    mode,
    sync: SYNC_FILE,
  });
  await writeAll(file, new TextEncoder().encode(text));
  // The mode given to open() is narrowed by the umask; the users file must be exactly 0600.
  if (Deno.build.os !== "windows") await Deno.chmod(file.temp, mode);
  await file.commit();
}
