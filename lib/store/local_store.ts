import { FileshareError } from "../protocol/errors.ts";
import type { DirEntry } from "../protocol/messages.ts";
import { isInside, type RemotePath, TEMP_PREFIX } from "./paths.ts";
import type { ReadHandle, Store, WriteHandle, WriteOptions } from "./store.ts";

/** Options of {@link LocalStore}. */
export interface LocalStoreOptions {
  /** fsync files and folders before acknowledging a write (default true). */
  fsync?: boolean;
}

const LIST_BATCH = 64;

function quote(path: RemotePath): string {
  return `"${path.text || "/"}"`;
}

function randomName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return TEMP_PREFIX + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function mapFsError(err: unknown, what: string): FileshareError {
  if (err instanceof FileshareError) return err;
  if (err instanceof Deno.errors.NotFound) {
    return new FileshareError("NOT_FOUND", `${what}: not found`);
  }
  if (err instanceof Deno.errors.AlreadyExists) {
    return new FileshareError("EXISTS", `${what}: already exists`);
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return new FileshareError("DENIED", `${what}: permission denied on the server`);
  }
  if (err instanceof Deno.errors.NotADirectory) {
    return new FileshareError("NOT_FOUND", `${what}: a parent is not a folder`);
  }
  if (err instanceof Deno.errors.IsADirectory) {
    return new FileshareError("BAD_REQUEST", `${what}: is a folder`);
  }
  const msg = err instanceof Error ? err.message : String(err);
  if (/ENOSPC|No space left/i.test(msg)) {
    return new FileshareError("LIMIT", `${what}: no space left on the server`, { cause: err });
  }
  return new FileshareError("INTERNAL", `${what}: ${msg}`, { cause: err });
}

async function fsyncDir(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  using d = await Deno.open(dir, { read: true });
  await d.sync();
}

/**
 * The local-disk {@link Store}. Paths are joined under the real path of the root, and the real
 * path of what they reach is checked to stay inside it, so symlinks cannot lead out.
 */
export class LocalStore implements Store {
  #root: string;
  #fsync: boolean;
  #writes = new Set<LocalWrite>();

  private constructor(root: string, fsync: boolean) {
    this.#root = root;
    this.#fsync = fsync;
  }

  /** Opens (and creates if missing) the served root, and removes stale temporary files. */
  static async open(root: string, options: LocalStoreOptions = {}): Promise<LocalStore> {
    await Deno.mkdir(root, { recursive: true });
    const real = await Deno.realPath(root);
    const store = new LocalStore(real, options.fsync ?? true);
    await store.#removeStaleTemps(real);
    return store;
  }

  /** The real absolute path of the root. */
  get root(): string {
    return this.#root;
  }

  async #removeStaleTemps(dir: string): Promise<void> {
    for await (const e of Deno.readDir(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isFile && e.name.startsWith(TEMP_PREFIX)) await Deno.remove(p).catch(() => {});
      else if (e.isDirectory && !e.isSymlink) await this.#removeStaleTemps(p);
    }
  }

  #join(path: RemotePath): string {
    return path.segments.length === 0 ? this.#root : `${this.#root}/${path.segments.join("/")}`;
  }

  /** Absolute path of an existing entry, following symlinks, checked to be inside the root. */
  async #existing(path: RemotePath, what: string): Promise<string> {
    let real: string;
    try {
      real = await Deno.realPath(this.#join(path));
    } catch (err) {
      throw mapFsError(err, what);
    }
    if (!isInside(this.#root, real)) {
      throw new FileshareError("DENIED", `${what}: leads outside the shared folder`);
    }
    return real;
  }

  /** Absolute path of `path` whose parent folder exists inside the root (the entry may not). */
  async #inParent(path: RemotePath, what: string): Promise<string> {
    const parent: RemotePath = {
      segments: path.segments.slice(0, -1),
      text: path.segments.slice(0, -1).join("/"),
    };
    // A parent that is not a folder makes the next operation fail with ENOTDIR (NOT_FOUND).
    const dir = await this.#existing(parent, what);
    return `${dir}/${path.segments[path.segments.length - 1]}`;
  }

  async #entry(name: string, abs: string): Promise<DirEntry | null> {
    const info = await Deno.stat(abs);
    if (!info.isFile && !info.isDirectory) return null;
    return {
      name,
      type: info.isDirectory ? "dir" : "file",
      size: info.isDirectory ? 0 : info.size,
      mtime: (info.mtime ?? new Date(0)).toISOString(),
    };
  }

  async list(path: RemotePath): Promise<DirEntry[]> {
    const what = `Cannot list ${quote(path)}`;
    const dir = await this.#existing(path, what);
    const names: { name: string; link: boolean }[] = [];
    try {
      for await (const e of Deno.readDir(dir)) {
        if (!e.name.startsWith(TEMP_PREFIX)) names.push({ name: e.name, link: e.isSymlink });
      }
    } catch (err) {
      if (err instanceof Deno.errors.NotADirectory) {
        throw new FileshareError("BAD_REQUEST", `${what}: not a folder`);
      }
      throw mapFsError(err, what);
    }
    const describe = async ({ name, link }: { name: string; link: boolean }) => {
      const abs = `${dir}/${name}`;
      try {
        if (link && !isInside(this.#root, await Deno.realPath(abs))) return null;
        return await this.#entry(name, abs);
      } catch {
        return null; // vanished meanwhile, or a dangling link: not listed
      }
    };
    // Stat in batches: the runtime runs them on its blocking pool in parallel.
    const out: DirEntry[] = [];
    for (let i = 0; i < names.length; i += LIST_BATCH) {
      for (const e of await Promise.all(names.slice(i, i + LIST_BATCH).map(describe))) {
        if (e) out.push(e);
      }
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async stat(path: RemotePath): Promise<DirEntry> {
    const what = `Cannot stat ${quote(path)}`;
    const abs = await this.#existing(path, what);
    const entry = await this.#entry(path.segments.at(-1) ?? "", abs);
    if (!entry) throw new FileshareError("NOT_FOUND", `${what}: not a file or folder`);
    return entry;
  }

  async openRead(path: RemotePath): Promise<ReadHandle> {
    const what = `Cannot download ${quote(path)}`;
    const abs = await this.#existing(path, what);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(abs, { read: true });
    } catch (err) {
      throw mapFsError(err, what);
    }
    try {
      const info = await file.stat();
      if (!info.isFile) throw new FileshareError("BAD_REQUEST", `${what}: not a file`);
      return {
        size: info.size,
        mtime: info.mtime ?? new Date(0),
        read: (p) => file.read(p),
        [Symbol.dispose]: () => file.close(),
      };
    } catch (err) {
      file.close();
      throw mapFsError(err, what);
    }
  }

  async createWrite(path: RemotePath, options: WriteOptions): Promise<WriteHandle> {
    const what = `Cannot upload ${quote(path)}`;
    if (path.segments.length === 0) {
      throw new FileshareError("BAD_REQUEST", `${what}: no file name`);
    }
    const target = await this.#inParent(path, what);
    try {
      const info = await Deno.lstat(target);
      if (info.isDirectory) {
        throw new FileshareError(
          "EXISTS",
          `${what}: a folder has that name (end the path with "/" to upload into it)`,
        );
      }
      if (!options.overwrite) {
        throw new FileshareError("EXISTS", `${what}: file already exists (use --overwrite)`);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw mapFsError(err, what);
    }
    const dir = target.slice(0, target.lastIndexOf("/"));
    const temp = `${dir}/${randomName()}`;
    let file: Deno.FsFile;
    try {
      file = await Deno.open(temp, { write: true, createNew: true, mode: 0o644 });
    } catch (err) {
      throw mapFsError(err, what);
    }
    const write = new LocalWrite(
      file,
      temp,
      target,
      dir,
      options.overwrite,
      this.#fsync,
      what,
      () => this.#writes.delete(write),
    );
    this.#writes.add(write);
    return write;
  }

  async remove(path: RemotePath): Promise<void> {
    const what = `Cannot delete ${quote(path)}`;
    if (path.segments.length === 0) throw new FileshareError("BAD_REQUEST", `${what}: not a file`);
    const abs = await this.#inParent(path, what);
    try {
      const info = await Deno.lstat(abs);
      if (info.isDirectory) {
        throw new FileshareError("BAD_REQUEST", `${what}: is a folder (use rmdir)`);
      }
      await Deno.remove(abs);
    } catch (err) {
      throw mapFsError(err, what);
    }
  }

  async mkdir(path: RemotePath): Promise<void> {
    const what = `Cannot create folder ${quote(path)}`;
    if (path.segments.length === 0) throw new FileshareError("EXISTS", `${what}: already exists`);
    // Create one level at a time so every existing level is checked for escaping links.
    for (let i = 1; i <= path.segments.length; i++) {
      const part: RemotePath = {
        segments: path.segments.slice(0, i),
        text: path.segments.slice(0, i).join("/"),
      };
      const abs = await this.#inParent(part, what);
      try {
        await Deno.mkdir(abs);
      } catch (err) {
        if (!(err instanceof Deno.errors.AlreadyExists)) throw mapFsError(err, what);
        const info = await Deno.stat(abs).catch(() => null);
        if (i === path.segments.length) {
          throw new FileshareError("EXISTS", `${what}: already exists`);
        }
        if (!info?.isDirectory) {
          throw new FileshareError("EXISTS", `${what}: "${part.text}" is a file`);
        }
      }
    }
  }

  async rmdir(path: RemotePath, recursive: boolean): Promise<void> {
    const what = `Cannot remove folder ${quote(path)}`;
    if (path.segments.length === 0) {
      throw new FileshareError("DENIED", `${what}: the shared folder itself cannot be removed`);
    }
    const abs = await this.#inParent(path, what);
    try {
      const info = await Deno.lstat(abs);
      if (!info.isDirectory) throw new FileshareError("BAD_REQUEST", `${what}: not a folder`);
      if (!recursive) {
        for await (const _ of Deno.readDir(abs)) {
          throw new FileshareError("NOT_EMPTY", `${what}: not empty (use --recursive)`);
        }
      }
      await Deno.remove(abs, { recursive });
    } catch (err) {
      if (
        err instanceof Error && /ENOTEMPTY|not empty/i.test(err.message) &&
        !(err instanceof FileshareError)
      ) {
        throw new FileshareError("NOT_EMPTY", `${what}: not empty (use --recursive)`);
      }
      throw mapFsError(err, what);
    }
  }

  async abortAll(): Promise<void> {
    await Promise.all([...this.#writes].map((w) => w.abort()));
  }
}

class LocalWrite implements WriteHandle {
  #file: Deno.FsFile | null;
  #temp: string;
  #target: string;
  #dir: string;
  #overwrite: boolean;
  #fsync: boolean;
  #what: string;
  #done: () => void;
  #finished = false;

  constructor(
    file: Deno.FsFile,
    temp: string,
    target: string,
    dir: string,
    overwrite: boolean,
    fsync: boolean,
    what: string,
    done: () => void,
  ) {
    this.#file = file;
    this.#temp = temp;
    this.#target = target;
    this.#dir = dir;
    this.#overwrite = overwrite;
    this.#fsync = fsync;
    this.#what = what;
    this.#done = done;
  }

  async write(p: Uint8Array): Promise<number> {
    if (this.#file === null) throw new FileshareError("CANCELLED", `${this.#what}: write aborted`);
    try {
      return await this.#file.write(p);
    } catch (err) {
      throw mapFsError(err, this.#what);
    }
  }

  async commit(): Promise<void> {
    const file = this.#file;
    if (file === null || this.#finished) {
      throw new FileshareError("CANCELLED", `${this.#what}: write aborted`);
    }
    try {
      if (this.#fsync) await file.sync();
      file.close();
      this.#file = null;
      if (this.#overwrite) {
        await Deno.rename(this.#temp, this.#target);
      } else {
        // link() fails if the name appeared meanwhile: no upload replaces a file by surprise.
        await Deno.link(this.#temp, this.#target);
        await Deno.remove(this.#temp);
      }
      if (this.#fsync) await fsyncDir(this.#dir);
      this.#finished = true;
      this.#done();
    } catch (err) {
      await this.abort();
      if (err instanceof Deno.errors.AlreadyExists) {
        throw new FileshareError("EXISTS", `${this.#what}: file already exists (use --overwrite)`);
      }
      throw mapFsError(err, this.#what);
    }
  }

  async abort(): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    try {
      this.#file?.close();
    } catch {
      // already closed
    }
    this.#file = null;
    await Deno.remove(this.#temp).catch(() => {});
    this.#done();
  }
}
