/**
 * Race-free path resolution below the served root. On Linux (with `--allow-all`, which Deno
 * requires for `/proc/self/fd` and the server's task runs with) every step opens one name
 * relative to an already open folder with O_NOFOLLOW, symlinks are read and resolved here
 * (never by the kernel), `..` pops a stack of open folders, and the result is an open folder
 * descriptor that later operations address as `/proc/self/fd/N/name`: a folder swapped for a
 * symlink after resolution changes nothing, because no path string is looked up twice.
 * Elsewhere the same walk runs on path strings with lstat/readLink, which a concurrent local
 * user can race.
 */
import { type Fd, libc } from "./_libc.ts";
import { isInside } from "./paths.ts";

/** A folder inside the root, pinned while the handle is open. */
export interface DirHandle extends Disposable {
  /** A path naming exactly this folder: `/proc/self/fd/N` on Linux, else its absolute path. */
  readonly path: string;
  /** The open descriptor (Linux) or null. */
  readonly fd: Fd | null;
}

/** What {@link resolve} reached: a folder, or an entry (maybe missing) in a folder. */
export interface Resolved extends Disposable {
  /** The folder reached, or the folder holding {@link Resolved.name}. */
  readonly dir: DirHandle;
  /** The final name inside `dir` (maybe missing; not a symlink when followed), or null if
   * `dir` itself is the end. */
  readonly name: string | null;
}

/** A path led outside the root (through a symlink). */
export class EscapeError extends Error {
  /** Creates an escape error. */
  constructor() {
    super("leads outside the shared folder");
    this.name = "EscapeError";
  }
}

/** Most symlinks followed in one resolution, as the kernel's own limit. */
const MAX_LINKS = 40;

type Child =
  | { kind: "dir"; dir: DirHandle }
  | { kind: "link"; target: string }
  | { kind: "other" }
  | { kind: "missing" };

interface WalkOps {
  root(root: string): DirHandle;
  child(dir: DirHandle, name: string): Child;
}

function fdHandle(fd: Fd): DirHandle {
  let open = true;
  return {
    path: `/proc/self/fd/${fd}`,
    fd,
    [Symbol.dispose]() {
      if (open) libc!.close(fd);
      open = false;
    },
  };
}

const fdOps: WalkOps = {
  root: (root) => fdHandle(libc!.openDir(root)),
  child(dir, name) {
    const { directory, noFollow } = libc!.flags;
    try {
      return { kind: "dir", dir: fdHandle(libc!.openat(dir.fd!, name, directory | noFollow)) };
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return { kind: "missing" };
      if (
        !(err instanceof Deno.errors.NotADirectory || err instanceof Deno.errors.FilesystemLoop)
      ) {
        throw err;
      }
    }
    try {
      return { kind: "link", target: libc!.readlinkat(dir.fd!, name) };
    } catch (err) {
      if (err instanceof Deno.errors.InvalidData) return { kind: "other" };
      if (err instanceof Deno.errors.NotFound) return { kind: "missing" };
      throw err;
    }
  },
};

function pathHandle(path: string): DirHandle {
  return { path, fd: null, [Symbol.dispose]() {} };
}

const pathOps: WalkOps = {
  root: (root) => pathHandle(root),
  child(dir, name) {
    const p = `${dir.path}/${name}`;
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(p);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return { kind: "missing" };
      throw err;
    }
    if (info.isSymlink) return { kind: "link", target: Deno.readLinkSync(p) };
    if (info.isDirectory) return { kind: "dir", dir: pathHandle(p) };
    return { kind: "other" };
  },
};

/**
 * Whether `/proc/self/fd/N` paths may be used: Deno lets only a process with all permissions
 * (`--allow-all`) touch them, because they can reach any file.
 */
function procFdUsable(): boolean {
  if (libc === null) return false;
  let fd: Fd;
  try {
    fd = libc.openDir("/");
  } catch {
    return false;
  }
  try {
    return Deno.statSync(`/proc/self/fd/${fd}`).isDirectory;
  } catch {
    return false;
  } finally {
    libc.close(fd);
  }
}

/**
 * Whether resolution pins folders by descriptor (Linux, with `--allow-all`) rather than by
 * path string. See docs/security.md.
 */
export const RACE_FREE: boolean = procFdUsable();

const ops: WalkOps = RACE_FREE ? fdOps : pathOps;

/**
 * Where a root below another one (a user's home) hangs: `root` is reached from the real path
 * `top` through the folders `below`, each opened without following a link, so a home swapped
 * for a link after login is refused instead of followed.
 */
export interface Anchor {
  readonly top: string;
  readonly below: readonly string[];
}

/** Opens the root: `root` itself, or, with an anchor, walked down to without any link. */
function openTop(root: string, anchor: Anchor | undefined): DirHandle {
  if (anchor === undefined) return ops.root(root);
  let dir = ops.root(anchor.top);
  for (const name of anchor.below) {
    let child: Child;
    try {
      child = ops.child(dir, name);
    } finally {
      dir[Symbol.dispose]();
    }
    if (child.kind === "missing") throw new Deno.errors.NotFound("the home folder is missing");
    if (child.kind !== "dir") throw new EscapeError();
    dir = child.dir;
  }
  return dir;
}

/**
 * Resolves `segments` below `root` (its real absolute path). Symlinks inside the root are
 * followed, a final one only when `followLast`; a link whose target leaves the root throws
 * {@link EscapeError}, a loop `Deno.errors.FilesystemLoop`, a non-folder in the middle
 * `Deno.errors.NotADirectory`, a missing folder in the middle `Deno.errors.NotFound`. With an
 * `anchor`, the root itself is reached without following links (see {@link Anchor}).
 */
export function resolve(
  root: string,
  segments: readonly string[],
  followLast: boolean,
  anchor?: Anchor,
): Resolved {
  const stack: DirHandle[] = [openTop(root, anchor)];
  const release = (keep: DirHandle | null) => {
    for (const d of stack) if (d !== keep) d[Symbol.dispose]();
  };
  const done = (name: string | null): Resolved => {
    const dir = stack[stack.length - 1];
    release(dir);
    return { dir, name, [Symbol.dispose]: () => dir[Symbol.dispose]() };
  };
  const todo = [...segments];
  let links = 0;
  try {
    while (todo.length > 0) {
      const seg = todo.shift()!;
      if (seg === "" || seg === ".") continue;
      if (seg === "..") {
        if (stack.length === 1) throw new EscapeError();
        stack.pop()![Symbol.dispose]();
        continue;
      }
      const last = todo.every((s) => s === "" || s === ".");
      if (last && !followLast) return done(seg);
      const child = ops.child(stack.at(-1)!, seg);
      switch (child.kind) {
        case "dir":
          stack.push(child.dir);
          break;
        case "link": {
          if (++links > MAX_LINKS) throw new Deno.errors.FilesystemLoop("too many symlinks");
          const target = child.target;
          if (target.startsWith("/")) {
            if (!isInside(root, target)) throw new EscapeError();
            release(null);
            stack.length = 0;
            stack.push(openTop(root, anchor));
            todo.unshift(...target.slice(root.length).split("/"));
          } else {
            todo.unshift(...target.split("/"));
          }
          break;
        }
        case "missing":
          if (last) return done(seg);
          throw new Deno.errors.NotFound("a folder on the path is missing");
        case "other":
          if (last) return done(seg);
          throw new Deno.errors.NotADirectory("a parent is not a folder");
      }
    }
    return done(null);
  } catch (err) {
    release(null);
    throw err;
  }
}

/** The root folder itself, pinned (reached as {@link resolve} does). */
export function openRoot(root: string, anchor?: Anchor): DirHandle {
  return openTop(root, anchor);
}

/** The folder `name` in `dir`, or null if it is missing, a symlink or not a folder. */
export function openChildDir(dir: DirHandle, name: string): DirHandle | null {
  const child = ops.child(dir, name);
  return child.kind === "dir" ? child.dir : null;
}

/**
 * Opens `name` in `dir` for reading (and writing with `write`) if it is a regular file: never
 * through a symlink, and never blocking on a FIFO (opened non-blocking and checked before any
 * read). Returns `"not_file"` for anything else and `"missing"` if it vanished or became a link
 * meanwhile.
 */
export async function openRegularFile(
  dir: DirHandle,
  name: string,
  write = false,
): Promise<Deno.FsFile | "not_file" | "missing"> {
  const mode = { read: true, write };
  if (dir.fd === null) {
    // Without descriptors: lstat, then open (a local user can race this; see docs/security.md).
    const info = await Deno.lstat(`${dir.path}/${name}`).catch(() => null);
    if (info === null || info.isSymlink) return "missing";
    if (!info.isFile) return "not_file";
    return await Deno.open(`${dir.path}/${name}`, mode);
  }
  const { noFollow, nonBlock } = libc!.flags;
  let fd: Fd;
  try {
    // O_RDONLY is 0, O_RDWR 2 (the same on every Linux architecture).
    fd = libc!.openat(dir.fd, name, noFollow | nonBlock | (write ? 2 : 0));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.FilesystemLoop) {
      return "missing";
    }
    if (err instanceof Deno.errors.NotSupported) return "not_file";
    throw err;
  }
  try {
    // /proc/self/fd/N names exactly the opened inode: no path is looked up again.
    const proc = `/proc/self/fd/${fd}`;
    if (!(await Deno.stat(proc)).isFile) return "not_file";
    return await Deno.open(proc, mode);
  } finally {
    libc!.close(fd);
  }
}

/** A stable name of a pinned folder for grouping flushes (its current real path). */
export function dirKey(dir: DirHandle): string {
  return dir.fd === null ? dir.path : Deno.readLinkSync(dir.path);
}
