/**
 * The few libc calls the local store needs and Deno has no API for: opening one name relative
 * to an open folder without following a symlink, and reading a link relative to a folder.
 * Linux only; {@link libc} is null elsewhere and when the process lacks `--allow-ffi`.
 */

/** An open descriptor number owned by the caller. */
export type Fd = number;

/** Flags of `open(2)` used by the store (their values differ between architectures). */
export interface OpenFlags {
  readonly directory: number;
  readonly noFollow: number;
  readonly nonBlock: number;
  readonly cloexec: number;
}

/** The libc calls, throwing `Deno.errors.*` (or an Error naming the errno) on failure. */
export interface Libc {
  /** `open(2)` flags of this architecture. */
  readonly flags: OpenFlags;
  /** `openat(dir, name, flags)`; the kernel never follows a final symlink with `noFollow`. */
  openat(dir: Fd, name: string, flags: number): Fd;
  /** `readlinkat(dir, name)`: the link's target; throws `InvalidData` if it is not a link. */
  readlinkat(dir: Fd, name: string): string;
  /**
   * `renameat2(2)`: renames `from` in `fromDir` to `to` in `toDir`, never replacing `to`
   * unless `replace` (RENAME_NOREPLACE, decided by the kernel); `AlreadyExists` if it exists.
   */
  renameat(fromDir: Fd, from: string, toDir: Fd, to: string, replace: boolean): void;
  /** `close(2)`. */
  close(fd: Fd): void;
  /** Opens an absolute folder path (the root). */
  openDir(path: string): Fd;
}

const AT_FDCWD = -100;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function cString(s: string): Uint8Array<ArrayBuffer> {
  const bytes = encoder.encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** Maps an errno to the `Deno.errors` class the rest of the store already understands. */
function errnoError(errno: number, call: string): Error {
  const msg = `${call} failed (errno ${errno})`;
  switch (errno) {
    case 2: // ENOENT
      return new Deno.errors.NotFound(msg);
    case 6: // ENXIO: a socket, or a device without a driver
    case 95: // EOPNOTSUPP
      return new Deno.errors.NotSupported(msg);
    case 1: // EPERM
    case 13: // EACCES
      return new Deno.errors.PermissionDenied(msg);
    case 17: // EEXIST
      return new Deno.errors.AlreadyExists(msg);
    case 20: // ENOTDIR
      return new Deno.errors.NotADirectory(msg);
    case 21: // EISDIR
      return new Deno.errors.IsADirectory(msg);
    case 22: // EINVAL
      return new Deno.errors.InvalidData(msg);
    case 40: // ELOOP
      return new Deno.errors.FilesystemLoop(msg);
    default:
      return new Error(msg, { cause: { errno } });
  }
}

function load(): Libc | null {
  if (Deno.build.os !== "linux") return null;
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return null;
  let lib;
  try {
    lib = Deno.dlopen("libc.so.6", {
      openat: { parameters: ["i32", "buffer", "i32", "u32"], result: "i32" },
      readlinkat: { parameters: ["i32", "buffer", "buffer", "usize"], result: "isize" },
      close: { parameters: ["i32"], result: "i32" },
      renameat2: { parameters: ["i32", "buffer", "i32", "buffer", "u32"], result: "i32" },
      __errno_location: { parameters: [], result: "pointer" },
    });
  } catch {
    return null;
  }
  const s = lib.symbols;
  // errno is per thread; these calls are synchronous, so it is read on the thread that set it.
  const errno = () => new Deno.UnsafePointerView(s.__errno_location()!).getInt32();
  const arm = Deno.build.arch === "aarch64";
  const flags: OpenFlags = {
    directory: arm ? 0o40000 : 0o200000,
    noFollow: arm ? 0o100000 : 0o400000,
    nonBlock: 0o4000,
    cloexec: 0o2000000,
  };
  const linkBuf = new Uint8Array(4096);
  return {
    flags,
    openat(dir, name, openFlags) {
      const fd = s.openat(dir, cString(name), openFlags | flags.cloexec, 0);
      if (fd < 0) throw errnoError(errno(), "openat");
      return fd;
    },
    readlinkat(dir, name) {
      const n = Number(s.readlinkat(dir, cString(name), linkBuf, BigInt(linkBuf.length)));
      if (n < 0) throw errnoError(errno(), "readlinkat");
      return decoder.decode(linkBuf.subarray(0, n));
    },
    renameat(fromDir, from, toDir, to, replace) {
      const RENAME_NOREPLACE = 1;
      const r = s.renameat2(
        fromDir,
        cString(from),
        toDir,
        cString(to),
        replace ? 0 : RENAME_NOREPLACE,
      );
      if (r < 0) throw errnoError(errno(), "renameat2");
    },
    close(fd) {
      s.close(fd);
    },
    openDir(path) {
      const fd = s.openat(AT_FDCWD, cString(path), flags.directory | flags.cloexec, 0);
      if (fd < 0) throw errnoError(errno(), "open");
      return fd;
    },
  };
}

/** libc on Linux with `--allow-ffi`, else null (the store then works on checked path strings). */
export const libc: Libc | null = load();
