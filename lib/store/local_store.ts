import { type RemotePath, TEMP_PREFIX } from "./paths.ts";
import {
  type Anchor,
  type DirHandle,
  dirKey,
  EscapeError,
  openChildDir,
  openRegularFile,
  openRoot,
  RACE_FREE,
  resolve,
  type Resolved,
} from "./_beneath.ts";
import { libc } from "./_libc.ts";
import {
  type RenameOptions,
  type Store,
  type StoreCapabilities,
  type StoreEntry,
  StoreError,
  type StoreReader,
  type StoreWriter,
  type WriteOptions,
} from "./store.ts";
import { writeAll } from "../write_all.ts";
import { randomHex } from "../random_hex.ts";
import { GroupSync } from "./group_sync.ts";
import { createHash } from "node:crypto";

/**
 * The folder at the top of the root that holds partial uploads kept for resume. Its name has
 * the temporary prefix, so no client path can name it and no listing shows it.
 */
export const PARTIALS_DIR = `${TEMP_PREFIX}partials`;

/** The file name of the partial upload of `owner` to `path` inside {@link PARTIALS_DIR}. */
export function partialName(owner: string, path: RemotePath): string {
  return createHash("sha256").update(`${owner}\0${path.text}`).digest("hex");
}

/** Options of {@link LocalStore}. */
export interface LocalStoreOptions {
  /**
   * fsync files and folders before acknowledging a write (default true). Concurrent writes
   * share their flushes (group commit, see {@link GroupSync}).
   */
  fsync?: boolean;
}

const LIST_BATCH = 64;

function randomName(): string {
  return TEMP_PREFIX + randomHex(12);
}

/** Maps a file-system error to a {@link StoreError}; anything unexpected is rethrown as is. */
export function mapFsError(err: unknown, path: RemotePath): unknown {
  if (err instanceof StoreError) return err;
  const p = path.text;
  if (err instanceof Deno.errors.NotFound) return new StoreError("not_found", p, "not found");
  if (err instanceof Deno.errors.AlreadyExists) {
    return new StoreError("exists_file", p, "already exists");
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return new StoreError("denied", p, "permission denied on the server", { cause: err });
  }
  if (err instanceof Deno.errors.NotADirectory) {
    return new StoreError("not_found", p, "a parent is not a folder");
  }
  if (err instanceof Deno.errors.IsADirectory) return new StoreError("not_file", p, "is a folder");
  const msg = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "ENOSPC" || code === "EDQUOT" || /ENOSPC|No space left|EDQUOT|quota/i.test(msg)) {
    return new StoreError("storage_full", p, "no space left on the server", { cause: err });
  }
  if (code === "EROFS") {
    return new StoreError("denied", p, "the server's storage is read-only", { cause: err });
  }
  return err;
}

function prefixOf(path: RemotePath, n: number): RemotePath {
  const segments = path.segments.slice(0, n);
  return { segments, text: segments.join("/") };
}

function describe(name: string, info: Deno.FileInfo): StoreEntry | null {
  // Only regular files and folders are served; FIFOs, sockets and devices are not listed.
  if (!info.isFile && !info.isDirectory) return null;
  return {
    name,
    kind: info.isDirectory ? "folder" : "file",
    size: info.isDirectory ? 0 : info.size,
    mtime: info.mtime ?? new Date(0),
  };
}

/**
 * The local-disk {@link Store}. Every path is resolved below the root one name at a time from
 * open folders (`_beneath.ts`): symlinks inside the root are followed by this code, never by
 * the kernel, a link leading out is refused, and the operation then acts on a name inside a
 * folder that stays pinned, so a folder swapped for a symlink meanwhile cannot redirect it.
 * Only regular files and folders are served.
 *
 * Uploads go to hidden temporary files next to their target. Each writer holds an exclusive
 * lock on its temporary file, so the clean-up at open removes only temporary files whose
 * writer is gone (a crashed server), never those of another server sharing the folder.
 */
export class LocalStore implements Store {
  #root: string;
  #sync: GroupSync | null;
  /** Shared by a store and its {@link LocalStore.within} views: abortAll reaches them all. */
  #writes: Set<LocalWriter>;

  /**
   * Real folders; no-overwrite is decided atomically by link(2); rename(2) is atomic; partials
   * kept for resume.
   */
  readonly capabilities: StoreCapabilities = {
    realFolders: true,
    atomicNoOverwrite: true,
    shared: false,
    atomicRename: true,
    resume: true,
  };

  /** For a view inside another root: how its root is reached without links. */
  #anchor: Anchor | undefined;

  /** The served folder's own root (a view's too): partial uploads live at its top. */
  get #top(): string {
    return this.#anchor?.top ?? this.#root;
  }

  private constructor(
    root: string,
    sync: GroupSync | null,
    writes = new Set<LocalWriter>(),
    anchor?: Anchor,
  ) {
    this.#root = root;
    this.#sync = sync;
    this.#writes = writes;
    this.#anchor = anchor;
  }

  /**
   * Opens (and creates if missing) the served root, and removes temporary files left behind by
   * writers that are gone.
   */
  static async open(root: string, options: LocalStoreOptions = {}): Promise<LocalStore> {
    await Deno.mkdir(root, { recursive: true });
    const real = await Deno.realPath(root);
    const store = new LocalStore(real, (options.fsync ?? true) ? new GroupSync() : null);
    using dir = openRoot(real);
    await store.#removeStaleTemps(dir);
    return store;
  }

  /** The real absolute path of the root. */
  get root(): string {
    return this.#root;
  }

  /**
   * Whether paths are resolved race-free, by open folder descriptors (Linux, with the
   * permissions that needs: `--allow-all`); false when a local user who swaps a folder for a
   * symlink could race the path-string walk. See docs/security.md.
   */
  get raceFree(): boolean {
    return RACE_FREE;
  }

  /** The real absolute path of the root. */
  get location(): string {
    return this.#root;
  }

  async #removeStaleTemps(dir: DirHandle): Promise<void> {
    for await (const e of Deno.readDir(dir.path)) {
      const p = `${dir.path}/${e.name}`;
      // Kept partials outlive a restart; expirePartials() ends them.
      if (e.name === PARTIALS_DIR) continue;
      if (e.isFile && e.name.startsWith(TEMP_PREFIX)) await removeIfUnlocked(p);
      else if (e.isDirectory && !e.isSymlink) {
        using child = openChildDir(dir, e.name);
        if (child) await this.#removeStaleTemps(child);
      }
    }
  }

  /** Resolves `path` below the root; see {@link resolve}. */
  #resolve(path: RemotePath, followLast: boolean): Resolved {
    try {
      return resolve(this.#root, path.segments, followLast, this.#anchor);
    } catch (err) {
      if (err instanceof EscapeError) {
        throw new StoreError("denied", path.text, "leads outside the shared folder");
      }
      throw mapFsError(err, path);
    }
  }

  /** The parent folder of `path` (pinned) and its last name, which is not followed. */
  #inParent(path: RemotePath): Resolved & { name: string } {
    const r = this.#resolve(path, false);
    if (r.name === null) throw new StoreError("not_found", path.text, "not found");
    return r as Resolved & { name: string };
  }

  /** Describes `name` in `dir`, following a symlink that stays inside; null if not served. */
  async #describe(dir: DirHandle, folder: RemotePath, name: string): Promise<StoreEntry | null> {
    const info = await Deno.lstat(`${dir.path}/${name}`);
    if (!info.isSymlink) return describe(name, info);
    using r = resolve(this.#root, [...folder.segments, name], true, this.#anchor);
    const target = r.name === null
      ? await Deno.stat(r.dir.path)
      : await Deno.lstat(`${r.dir.path}/${r.name}`);
    return describe(name, target);
  }

  async *list(path: RemotePath): AsyncIterable<StoreEntry> {
    using r = this.#resolve(path, true);
    if (r.name !== null) {
      const info = await Deno.lstat(`${r.dir.path}/${r.name}`).catch(() => null);
      if (info === null) throw new StoreError("not_found", path.text, "not found");
      throw new StoreError("not_folder", path.text, "not a folder");
    }
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(r.dir.path)) {
        if (!e.name.startsWith(TEMP_PREFIX)) names.push(e.name);
      }
    } catch (err) {
      throw mapFsError(err, path);
    }
    const entry = async (name: string) => {
      try {
        return await this.#describe(r.dir, path, name);
      } catch {
        return null; // vanished meanwhile, a dangling link, or a link leading out: not listed
      }
    };
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    // Stat in batches: the runtime runs them on its blocking pool in parallel.
    for (let i = 0; i < names.length; i += LIST_BATCH) {
      for (const e of await Promise.all(names.slice(i, i + LIST_BATCH).map(entry))) {
        if (e) yield e;
      }
    }
  }

  async openRead(path: RemotePath): Promise<StoreReader> {
    using r = this.#resolve(path, true);
    if (r.name === null) throw new StoreError("not_file", path.text, "not a file");
    let opened: Deno.FsFile | "not_file" | "missing";
    try {
      opened = await openRegularFile(r.dir, r.name);
    } catch (err) {
      throw mapFsError(err, path);
    }
    if (opened === "missing") throw new StoreError("not_found", path.text, "not found");
    if (opened === "not_file") {
      throw new StoreError("not_file", path.text, "not a regular file (only files are served)");
    }
    const file = opened;
    try {
      const info = await file.stat();
      if (!info.isFile) throw new StoreError("not_file", path.text, "not a file");
      let open = true;
      const close = () => {
        if (open) file.close();
        open = false;
        return Promise.resolve();
      };
      return {
        size: info.size,
        mtime: info.mtime ?? new Date(0),
        read: async (p) => {
          try {
            return await file.read(p);
          } catch (err) {
            throw mapFsError(err, path);
          }
        },
        close,
        [Symbol.asyncDispose]: close,
      };
    } catch (err) {
      file.close();
      throw mapFsError(err, path);
    }
  }

  async createWrite(path: RemotePath, options: WriteOptions): Promise<StoreWriter> {
    if (path.segments.length === 0) throw new StoreError("not_file", "", "no file name");
    const parent = this.#inParent(path);
    // The writer owns the pinned folder from here on and releases it when it finishes.
    const dir = parent.dir.path;
    const target = `${dir}/${parent.name}`;
    // A small pipelined upload: a few microseconds per call, where a thread hand-off each
    // (about a dozen per upload) cost more than the work.
    const small = options.small === true && !options.resume;
    try {
      const info = small ? Deno.lstatSync(target) : await Deno.lstat(target);
      if (info.isDirectory) {
        throw new StoreError("exists_folder", path.text, "a folder has that name");
      }
      if (!options.overwrite) throw new StoreError("exists_file", path.text, "file already exists");
      if (!info.isFile && !info.isSymlink) {
        throw new StoreError("not_file", path.text, "not a regular file (only files are served)");
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        parent[Symbol.dispose]();
        throw mapFsError(err, path);
      }
    }
    if (options.resume && options.owner !== undefined) {
      const kept = await this.#takePartial(options.owner, path).catch((err) => {
        parent[Symbol.dispose]();
        throw mapFsError(err, path);
      });
      if (kept !== null) {
        const w = this.#writer(kept.file, kept.path, target, parent.dir, path, options, kept.size);
        w.holds(kept.dir);
        return w;
      }
    }
    let file: Deno.FsFile;
    let temp: string;
    for (;;) {
      temp = `${dir}/${randomName()}`;
      try {
        const mode = { write: true, createNew: true, mode: 0o644 };
        file = small ? Deno.openSync(temp, mode) : await Deno.open(temp, mode);
        // The lock tells a clean-up in another process that this writer is alive. A clean-up
        // that ran between create and lock unlinked the file: then start over.
        if (small) file.lockSync(true);
        else await file.lock(true);
        if (((small ? file.statSync() : await file.stat()).nlink ?? 1) > 0) break;
        file.close();
      } catch (err) {
        parent[Symbol.dispose]();
        throw mapFsError(err, path);
      }
    }
    return this.#writer(file, temp, target, parent.dir, path, options, 0);
  }

  #writer(
    file: Deno.FsFile,
    temp: string,
    target: string,
    dir: DirHandle,
    path: RemotePath,
    options: WriteOptions,
    offset: number,
  ): LocalWriter {
    const write: LocalWriter = new LocalWriter({
      file,
      temp,
      target,
      dir,
      path,
      overwrite: options.overwrite,
      mtime: options.mtime,
      sync: this.#sync,
      small: options.small === true && offset === 0,
      offset,
      keepAs: options.owner === undefined
        ? null
        : { root: this.#top, name: partialName(options.owner, path) },
      done: () => this.#writes.delete(write),
    });
    this.#writes.add(write);
    return write;
  }

  /**
   * Opens the partial upload of `owner` to `path`, locked for this writer and positioned at its
   * end; null if there is none or another writer holds it.
   */
  async #takePartial(
    owner: string,
    path: RemotePath,
  ): Promise<{ file: Deno.FsFile; path: string; size: number; dir: DirHandle } | null> {
    using root = openRoot(this.#top);
    const dir = openChildDir(root, PARTIALS_DIR);
    if (dir === null) return null;
    const name = partialName(owner, path);
    let file: Deno.FsFile | null = null;
    let taken = false;
    try {
      const opened = await openRegularFile(dir, name, true);
      if (typeof opened === "string") return null;
      file = opened;
      if (!(await file.tryLock(true))) return null;
      const size = await file.seek(0, Deno.SeekMode.End);
      // The writer owns the file and the pinned partials folder from here on.
      taken = true;
      return { file, path: `${dir.path}/${name}`, size, dir };
    } finally {
      if (!taken) {
        file?.close();
        dir[Symbol.dispose]();
      }
    }
  }

  async expirePartials(before: Date): Promise<number> {
    using root = openRoot(this.#top);
    using dir = openChildDir(root, PARTIALS_DIR);
    if (dir === null) return 0;
    let removed = 0;
    for await (const e of Deno.readDir(dir.path)) {
      if (!e.isFile) continue;
      const p = `${dir.path}/${e.name}`;
      const info = await Deno.lstat(p).catch(() => null);
      if (info === null || (info.mtime ?? new Date(0)) >= before) continue;
      if (await removeIfUnlocked(p)) removed++;
    }
    return removed;
  }

  async remove(path: RemotePath): Promise<void> {
    if (path.segments.length === 0) throw new StoreError("not_file", "", "not a file");
    using parent = this.#inParent(path);
    const abs = `${parent.dir.path}/${parent.name}`;
    try {
      const info = await Deno.lstat(abs);
      if (info.isDirectory) throw new StoreError("not_file", path.text, "is a folder");
      if (!info.isFile && !info.isSymlink) {
        throw new StoreError("not_file", path.text, "not a regular file (only files are served)");
      }
      // unlink(2) of a name in a pinned folder: a link is removed itself, never its target.
      await Deno.remove(abs);
    } catch (err) {
      throw mapFsError(err, path);
    }
  }

  async mkdir(path: RemotePath): Promise<void> {
    if (path.segments.length === 0) throw new StoreError("exists_folder", "", "already exists");
    // Create one level at a time so every existing level is checked for escaping links.
    for (let i = 1; i <= path.segments.length; i++) {
      const part = prefixOf(path, i);
      using parent = this.#inParent(part);
      const abs = `${parent.dir.path}/${parent.name}`;
      try {
        await Deno.mkdir(abs);
      } catch (err) {
        if (!(err instanceof Deno.errors.AlreadyExists)) throw mapFsError(err, path);
        // A link here is followed (or refused) by the next level's resolution.
        const info = await Deno.lstat(abs).catch(() => null);
        if (!info?.isDirectory && !info?.isSymlink) {
          throw new StoreError("exists_file", path.text, `"${part.text}" is a file`);
        }
        if (i === path.segments.length) {
          throw new StoreError("exists_folder", path.text, "already exists");
        }
      }
    }
  }

  async rmdir(path: RemotePath, recursive: boolean): Promise<void> {
    if (path.segments.length === 0) {
      throw new StoreError("denied", "", "the shared folder itself cannot be removed");
    }
    using parent = this.#inParent(path);
    const abs = `${parent.dir.path}/${parent.name}`;
    try {
      const info = await Deno.lstat(abs);
      if (!info.isDirectory) throw new StoreError("not_folder", path.text, "not a folder");
      // rmdir(2) and Rust's remove_dir_all never follow a link inside what they remove.
      if (!recursive) {
        for await (const _ of Deno.readDir(abs)) {
          throw new StoreError("not_empty", path.text, "not empty");
        }
      }
      await Deno.remove(abs, { recursive });
    } catch (err) {
      // A file created after the check above: the OS error's code says so, not its words.
      if (!(err instanceof StoreError) && (err as { code?: unknown }).code === "ENOTEMPTY") {
        throw new StoreError("not_empty", path.text, "not empty");
      }
      throw mapFsError(err, path);
    }
  }

  async usage(path: RemotePath): Promise<number> {
    let r: Resolved;
    try {
      // A final link is not followed: an upload over it replaces the link, not its target, so
      // the target's bytes must not be credited to the uploader's quota.
      r = this.#resolve(path, false);
    } catch (err) {
      if (err instanceof StoreError && err.kind === "not_found") return 0;
      throw err;
    }
    using _ = r;
    try {
      if (r.name === null) return await folderBytes(r.dir);
      const info = await Deno.lstat(`${r.dir.path}/${r.name}`);
      if (info.isFile) return info.size;
      if (!info.isDirectory) return 0;
      using child = openChildDir(r.dir, r.name);
      return child === null ? 0 : await folderBytes(child);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return 0;
      throw mapFsError(err, path);
    }
  }

  /**
   * A store rooted at the folder `home` (created if missing): the view resolves every path
   * below `home`'s real path, so a link inside it that leads out (to another home, or up to
   * the root) is refused as one leading out of the shared folder.
   */
  async within(home: RemotePath): Promise<LocalStore> {
    if (home.segments.length === 0) return this;
    try {
      await this.mkdir(home);
    } catch (err) {
      if (!(err instanceof StoreError && err.kind === "exists_folder")) throw err;
    }
    using r = this.#resolve(home, true);
    if (r.name !== null) throw new StoreError("not_folder", home.text, "not a folder");
    // The home's real path now; later operations walk down to it from the top without
    // following links, so swapping it (or a folder above it) for a link does not lead out.
    const real = dirKey(r.dir);
    const top = this.#anchor?.top ?? this.#root;
    const below = real === top ? [] : real.slice(top.length + 1).split("/");
    return new LocalStore(real, this.#sync, this.#writes, { top, below });
  }

  async rename(from: RemotePath, to: RemotePath, options: RenameOptions): Promise<void> {
    if (from.segments.length === 0 || to.segments.length === 0) {
      throw new StoreError("denied", "", "the shared folder itself cannot be moved");
    }
    using source = this.#inParent(from);
    const fromAbs = `${source.dir.path}/${source.name}`;
    const info = await Deno.lstat(fromAbs).catch((err) => {
      throw mapFsError(err, from);
    });
    if (!info.isFile && !info.isDirectory && !info.isSymlink) {
      throw new StoreError("not_file", from.text, "not a regular file (only files are served)");
    }
    if (
      info.isDirectory && to.segments.length > from.segments.length &&
      from.segments.every((s, i) => to.segments[i] === s)
    ) {
      throw new StoreError("denied", to.text, `cannot move "${from.text}" into itself`);
    }
    using target = this.#inParent(to);
    const toAbs = `${target.dir.path}/${target.name}`;
    const existing = await Deno.lstat(toAbs).catch(() => null);
    if (existing?.isDirectory) {
      throw new StoreError("exists_folder", to.text, "a folder has that name");
    }
    if (existing !== null && !options.overwrite) {
      throw new StoreError("exists_file", to.text, "file already exists");
    }
    if (existing !== null && info.isDirectory) {
      throw new StoreError("exists_file", to.text, "a file has that name");
    }
    try {
      if (libc !== null && source.dir.fd !== null && target.dir.fd !== null) {
        // Both names relative to pinned folders; without overwrite the kernel refuses to replace.
        libc.renameat(source.dir.fd, source.name, target.dir.fd, target.name, options.overwrite);
      } else if (!options.overwrite && !info.isDirectory) {
        // link(2) fails if the name appeared meanwhile, as for uploads.
        await Deno.link(fromAbs, toAbs);
        await Deno.remove(fromAbs);
      } else {
        await Deno.rename(fromAbs, toAbs);
      }
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists || err instanceof Deno.errors.IsADirectory) {
        const folder = (await Deno.lstat(toAbs).catch(() => null))?.isDirectory;
        throw folder
          ? new StoreError("exists_folder", to.text, "a folder has that name")
          : new StoreError("exists_file", to.text, "file already exists");
      }
      if (err instanceof Deno.errors.InvalidData) {
        throw new StoreError("denied", to.text, `cannot move "${from.text}" into itself`);
      }
      throw mapFsError(err, to);
    }
    await this.#sync?.syncDir(source.dir.path, dirKey(source.dir));
    if (dirKey(source.dir) !== dirKey(target.dir)) {
      await this.#sync?.syncDir(target.dir.path, dirKey(target.dir));
    }
  }

  async abortAll(): Promise<void> {
    await Promise.all([...this.#writes].map((w) => w.abort()));
  }

  async close(): Promise<void> {
    await this.abortAll();
  }
}

/**
 * Bytes of the regular files at any depth below `dir`: links are not followed (so nothing is
 * counted twice or outside), temporary files of uploads in progress are left out.
 */
async function folderBytes(dir: DirHandle): Promise<number> {
  let bytes = 0;
  const files: string[] = [];
  for await (const e of Deno.readDir(dir.path)) {
    // Temporary files and the folder of kept partial uploads count toward nothing.
    if (e.name.startsWith(TEMP_PREFIX)) continue;
    if (e.isFile) files.push(e.name);
    else if (e.isDirectory && !e.isSymlink) {
      using child = openChildDir(dir, e.name);
      if (child) bytes += await folderBytes(child);
    }
  }
  for (let i = 0; i < files.length; i += LIST_BATCH) {
    const sizes = await Promise.all(
      files.slice(i, i + LIST_BATCH).map((name) =>
        Deno.lstat(`${dir.path}/${name}`).then((info) => (info.isFile ? info.size : 0), () => 0)
      ),
    );
    for (const n of sizes) bytes += n;
  }
  return bytes;
}

/** Removes a temporary file unless a live writer (any process) holds its lock. */
async function removeIfUnlocked(path: string): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch {
    return false; // gone meanwhile
  }
  try {
    if (await file.tryLock(true)) return await Deno.remove(path).then(() => true, () => false);
  } catch {
    // not lockable here: leave it
  } finally {
    file.close();
  }
  return false;
}

/** Where a writer keeps its bytes for resume: the root and the partial's file name. */
interface KeepAs {
  root: string;
  name: string;
}

/** What a {@link LocalWriter} is made of. */
interface LocalWriterParts {
  file: Deno.FsFile;
  /** The file's current path: a temporary file in the target folder, or a resumed partial. */
  temp: string;
  target: string;
  dir: DirHandle;
  path: RemotePath;
  overwrite: boolean;
  /** Modification time the committed file gets (default: the time of the commit). */
  mtime?: Date;
  sync: GroupSync | null;
  /** Write, stamp and name the file with synchronous calls (see WriteOptions.small). */
  small: boolean;
  /** Bytes already in the file (a resumed partial). */
  offset: number;
  /** Where keep() moves the file; null: keep() aborts. */
  keepAs: KeepAs | null;
  done: () => void;
}

class LocalWriter implements StoreWriter {
  #file: Deno.FsFile | null;
  #temp: string;
  #target: string;
  #dir: DirHandle;
  #path: RemotePath;
  #overwrite: boolean;
  #mtime: Date | undefined;
  #sync: GroupSync | null;
  #small: boolean;
  #keepAs: KeepAs | null;
  #offset: number;
  #written = 0;
  #done: () => void;
  #finished = false;
  #held: DirHandle[] = [];

  constructor(p: LocalWriterParts) {
    this.#file = p.file;
    this.#temp = p.temp;
    this.#target = p.target;
    this.#dir = p.dir;
    this.#path = p.path;
    this.#overwrite = p.overwrite;
    this.#mtime = p.mtime;
    this.#sync = p.sync;
    this.#small = p.small;
    this.#offset = p.offset;
    this.#keepAs = p.keepAs;
    this.#done = p.done;
  }

  get offset(): number {
    return this.#offset;
  }

  /** Keeps `dir` pinned until the write finishes (the partials folder of a resumed write). */
  holds(dir: DirHandle): void {
    this.#held.push(dir);
  }

  /** Releases the pinned folders and tells the store this write is over. */
  #release(): void {
    this.#dir[Symbol.dispose]();
    for (const d of this.#held.splice(0)) d[Symbol.dispose]();
    this.#done();
  }

  readKept(): Promise<StoreReader> {
    const file = this.#file;
    if (file === null || this.#written > 0) return Promise.reject(this.#aborted());
    const size = this.#offset;
    let done = 0;
    let open = true;
    const close = async () => {
      if (!open) return;
      open = false;
      // Later writes append after the kept bytes.
      await file.seek(0, Deno.SeekMode.End).catch(() => {});
    };
    return file.seek(0, Deno.SeekMode.Start).then(() => ({
      size,
      mtime: new Date(),
      read: async (p: Uint8Array) => {
        if (done >= size) return null;
        const n = await file.read(p.subarray(0, Math.min(p.length, size - done)));
        if (n === null) return null;
        done += n;
        return n;
      },
      close,
      [Symbol.asyncDispose]: close,
    }));
  }

  async restart(): Promise<void> {
    const file = this.#file;
    if (file === null) throw this.#aborted();
    await file.truncate(0);
    await file.seek(0, Deno.SeekMode.Start);
    this.#offset = 0;
    this.#written = 0;
  }

  async keep(): Promise<void> {
    const file = this.#file;
    const keepAs = this.#keepAs;
    if (this.#finished || file === null || keepAs === null || this.#offset + this.#written === 0) {
      return await this.abort();
    }
    try {
      await this.#sync?.syncFile(file);
      const folder = `${keepAs.root}/${PARTIALS_DIR}`;
      const dest = `${folder}/${keepAs.name}`;
      if (this.#temp !== dest) {
        {
          // The partials folder is made here, and only ever used if it is a real folder.
          await Deno.mkdir(folder).catch((err) => {
            if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
          });
          using root = openRoot(keepAs.root);
          using pinned = openChildDir(root, PARTIALS_DIR);
          if (pinned === null) {
            throw new Deno.errors.NotADirectory(`${PARTIALS_DIR} is not a folder`);
          }
          await Deno.rename(this.#temp, `${pinned.path}/${keepAs.name}`);
        }
      } else {
        const now = new Date();
        await Deno.utime(dest, now, now); // the kept time counts from now
      }
      this.#finished = true;
      file.close();
      this.#file = null;
      this.#release();
    } catch {
      // A partial that cannot be kept is dropped like any aborted write.
      await this.abort();
    }
  }

  #aborted(): StoreError {
    return new StoreError("storage_unavailable", this.#path.text, "write aborted");
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#file === null) throw this.#aborted();
    try {
      if (this.#small) {
        for (let off = 0; off < chunk.length;) off += this.#file.writeSync(chunk.subarray(off));
      } else await writeAll(this.#file, chunk);
      this.#written += chunk.length;
    } catch (err) {
      throw mapFsError(err, this.#path);
    }
  }

  async commit(_sha256: string): Promise<void> {
    const file = this.#file;
    if (file === null || this.#finished) throw this.#aborted();
    try {
      if (this.#mtime !== undefined) {
        if (this.#small) file.utimeSync(new Date(), this.#mtime);
        else await file.utime(new Date(), this.#mtime);
      }
      await this.#sync?.syncFile(file);
      if (this.#small) this.#nameSync();
      else if (this.#overwrite) {
        await Deno.rename(this.#temp, this.#target);
      } else {
        // link() fails if the name appeared meanwhile: no upload replaces a file by surprise.
        await Deno.link(this.#temp, this.#target);
        await Deno.remove(this.#temp);
      }
      file.close();
      this.#file = null;
      await this.#sync?.syncDir(this.#dir.path, dirKey(this.#dir));
      this.#finished = true;
      this.#release();
    } catch (err) {
      // A folder or file that took the name meanwhile (asked while the folder is still pinned).
      const folder = (await Deno.lstat(this.#target).catch(() => null))?.isDirectory;
      await this.abort();
      if (folder) {
        throw new StoreError("exists_folder", this.#path.text, "a folder has that name");
      }
      if (err instanceof Deno.errors.AlreadyExists) {
        throw new StoreError("exists_file", this.#path.text, "file already exists");
      }
      throw mapFsError(err, this.#path);
    }
  }

  /** Gives the temporary file its name, as commit() does, with synchronous calls. */
  #nameSync(): void {
    if (this.#overwrite) Deno.renameSync(this.#temp, this.#target);
    else {
      Deno.linkSync(this.#temp, this.#target);
      Deno.removeSync(this.#temp);
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
    this.#release();
  }
}
