/**
 * A download to a local path that appears whole or not at all: the body goes to a hidden
 * temporary file next to the target, which takes the target's name only after the SHA-256
 * matched.
 * @module
 */
import { AtomicFile, SYNC_FILE } from "../atomic_file.ts";
import { ConnectionError, FileshareError } from "../protocol/errors.ts";
import { randomHex } from "../random_hex.ts";
import { fsCause } from "../fs_cause.ts";
import { type ByteSink, hashPrefix } from "../transfer.ts";
import type { FileTransferOptions, TransferResult } from "./options.ts";
import { createHash, type Hash } from "node:crypto";

/** Bytes a resumed download already has: how many, and their SHA-256 so far. */
export interface ResumeFrom {
  offset: number;
  hash: Hash;
}

/**
 * Runs one download into the sink it is given (`FileshareClient.download` for a path); with
 * `from`, asks to continue after those bytes. `sink` learns the size and where the server's
 * body starts (`from.offset`, or 0 when the server sends the whole file).
 */
export type DownloadInto = (
  sink: (size: number, offset: number) => Promise<ByteSink>,
  from?: ResumeFrom,
) => Promise<TransferResult>;

function splitLocal(path: string): { dir: string; base: string } {
  const i = Math.max(
    path.lastIndexOf("/"),
    Deno.build.os === "windows" ? path.lastIndexOf("\\") : -1,
  );
  return i < 0
    ? { dir: ".", base: path }
    : { dir: path.slice(0, i) || "/", base: path.slice(i + 1) };
}

/** The hidden temporary name next to `local`: at most 40 characters of its name (160 bytes),
 * so that the temporary name fits NAME_MAX (255). */
function tempNameFor(local: string): string {
  const { dir, base } = splitLocal(local);
  const short = Array.from(base).slice(0, 40).join("");
  return `${dir}/.${short}.fileshare-part-${randomHex(6)}`;
}

/** Why `local` cannot be written, naming the user's path (not the temporary one). */
function cannotWrite(local: string, err: unknown): string {
  if (err instanceof Deno.errors.NotFound) {
    return `cannot write "${local}": the local folder "${splitLocal(local).dir}" does not exist`;
  }
  return `cannot write "${local}": ${fsCause(err)}`;
}

/** Downloads into a character device or named pipe that exists already, written in place. */
async function downloadToStream(
  download: DownloadInto,
  local: string,
  what: string,
  options: FileTransferOptions,
): Promise<TransferResult> {
  using stream = await Deno.open(local, { write: true }).catch((err) => {
    throw new FileshareError("BAD_REQUEST", `${what}: ${cannotWrite(local, err)}`, {
      cause: err,
    });
  });
  return await download((size) => {
    options.onSize?.(size);
    return Promise.resolve(stream);
  });
}

/**
 * The partial file of a resumable download of `local`: a fixed hidden name next to it, so a
 * later run finds it (`.NAME.fileshare-part`; a long NAME is cut and given a short hash).
 */
export function partialFileFor(local: string): string {
  const { dir, base } = splitLocal(local);
  const chars = Array.from(base);
  const short = chars.length <= 40
    ? base
    : `${chars.slice(0, 32).join("")}~${
      createHash("sha256").update(base).digest("hex").slice(0, 8)
    }`;
  return `${dir}/.${short}.fileshare-part`;
}

/** Whether a transfer stopped because it was cancelled or the connection went, not a fault. */
function interrupted(err: unknown): boolean {
  return err instanceof ConnectionError ||
    (err instanceof FileshareError && (err.code === "CANCELLED" || err.code === "TIMEOUT"));
}

function localExists(what: string, local: string): FileshareError {
  return new FileshareError("EXISTS", `${what}: local file "${local}" exists (use --overwrite)`);
}

/**
 * Writes a small download already verified in memory to `local`, as {@link DownloadTarget}
 * would (a temporary file renamed, or hard-linked without `overwrite`, into place; a device
 * or named pipe written in place), but with synchronous calls: for a few KiB, each
 * asynchronous file operation costs more in thread hand-offs than the write itself.
 */
export function writeDownloaded(
  remote: string,
  local: string,
  data: Uint8Array,
  result: TransferResult,
  options: FileTransferOptions,
): void {
  const what = `Cannot download "${remote}"`;
  const cannot = (err: unknown) =>
    new FileshareError("BAD_REQUEST", `${what}: ${cannotWrite(local, err)}`, { cause: err });
  let existing: Deno.FileInfo | null = null;
  try {
    existing = Deno.statSync(local);
  } catch {
    // not there (or a dangling link): written below
  }
  if (existing?.isCharDevice || existing?.isFifo) {
    let stream: Deno.FsFile;
    try {
      stream = Deno.openSync(local, { write: true });
    } catch (err) {
      throw cannot(err);
    }
    try {
      for (let off = 0; off < data.length;) off += stream.writeSync(data.subarray(off));
    } finally {
      stream.close();
    }
    return;
  }
  if (existing !== null && !existing.isFile && !existing.isDirectory) {
    throw new FileshareError("BAD_REQUEST", `${what}: "${local}" is not a regular file`);
  }
  const overwrite = options.overwrite ?? false;
  if (!overwrite) {
    let taken = existing !== null;
    try {
      taken ||= Deno.lstatSync(local) !== null;
    } catch {
      // free
    }
    if (taken) throw localExists(what, local);
  }
  const temp = tempNameFor(local);
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(temp, { write: true, createNew: true, mode: 0o644 });
  } catch (err) {
    throw cannot(err);
  }
  try {
    try {
      for (let off = 0; off < data.length;) off += file.writeSync(data.subarray(off));
      if (options.times !== false && result.mtime !== undefined) {
        file.utimeSync(new Date(), result.mtime);
      }
      if (options.fsync) file.syncSync();
    } finally {
      file.close();
    }
    if (overwrite) Deno.renameSync(temp, local);
    else {
      Deno.linkSync(temp, local);
      Deno.removeSync(temp);
    }
  } catch (err) {
    try {
      Deno.removeSync(temp);
    } catch {
      // gone already
    }
    if (err instanceof Deno.errors.AlreadyExists) throw localExists(what, local);
    throw err;
  }
}

/**
 * Downloads through `download` to the local path `local`, via a temporary file in the same
 * folder renamed (or, without `overwrite`, hard-linked) into place after the transfer was
 * verified; never replaces a file unless `overwrite`, and leaves no temporary file behind.
 */
export async function downloadToFile(
  download: DownloadInto,
  remote: string,
  local: string,
  options: FileTransferOptions,
): Promise<TransferResult> {
  const what = `Cannot download "${remote}"`;
  const existing = await Deno.stat(local).catch(() => null);
  if (existing?.isCharDevice || existing?.isFifo) {
    // A stream such as /dev/null or a named pipe: nothing to replace, so no temporary file.
    return await downloadToStream(download, local, what, options);
  }
  if (existing !== null && !existing.isFile && !existing.isDirectory) {
    throw new FileshareError("BAD_REQUEST", `${what}: "${local}" is not a regular file`);
  }
  if (!options.overwrite && await Deno.lstat(local).then(() => true, () => false)) {
    throw localExists(what, local);
  }
  if (options.resume || options.keepPartial) {
    const partial = await openPartial(partialFileFor(local)).catch((err) => {
      // Named as the user's path and the cause, as for a whole download.
      throw new FileshareError("BAD_REQUEST", `${what}: ${cannotWrite(local, err)}`, {
        cause: err,
      });
    });
    if (partial !== null) return await resumable(download, partial, what, local, options);
    // Another download of the same target holds the partial: this one is not resumable.
  }
  // The temporary file is created before the request, so a local problem (missing folder,
  // no permission) is reported without leaving a body half-read on the connection.
  await using file = await AtomicFile.create(local, {
    temp: tempNameFor(local),
    overwrite: options.overwrite ?? false,
    sync: options.fsync ? SYNC_FILE : null,
  }).catch((err) => {
    throw new FileshareError("BAD_REQUEST", `${what}: ${cannotWrite(local, err)}`, {
      cause: err,
    });
  });
  const result = await download((size) => {
    options.onSize?.(size);
    return Promise.resolve(file);
  });
  try {
    await file.commit(options.times === false ? undefined : result.mtime);
  } catch (err) {
    throw err instanceof Deno.errors.AlreadyExists ? localExists(what, local) : err;
  }
  return result;
}

/** A partial download's file, locked by this process; null while another holds it. */
interface Partial {
  path: string;
  file: Deno.FsFile;
}

async function openPartial(path: string): Promise<Partial | null> {
  const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o644 });
  if (await file.tryLock(true).catch(() => false)) return { path, file };
  file.close();
  return null;
}

/**
 * A download through the fixed partial file: with `resume`, after the bytes it holds (the
 * server checks them by SHA-256 and sends the whole file if they differ); cut off, the bytes
 * stay (`keepPartial`) and the error names the file; done, the file takes the target's name.
 */
async function resumable(
  download: DownloadInto,
  partial: Partial,
  what: string,
  local: string,
  options: FileTransferOptions,
): Promise<TransferResult> {
  const { file, path } = partial;
  let kept = false;
  try {
    let from: ResumeFrom | undefined;
    const have = options.resume ? (await file.stat()).size : 0;
    if (have > 0) {
      const hash = await hashPrefix(file, have);
      if (hash !== null) from = { offset: have, hash };
    }
    if (from === undefined) await file.truncate(0);
    const result = await download(async (size, offset) => {
      options.onSize?.(size);
      if (offset === 0) await file.truncate(0);
      await file.seek(offset, Deno.SeekMode.Start);
      return file;
    }, from);
    // As a whole download does: the file gets the server's time (a resumed one too).
    if (options.times !== false && result.mtime !== undefined) {
      await file.utime(new Date(), result.mtime);
    }
    if (options.fsync) await file.sync();
    try {
      if (options.overwrite) await Deno.rename(path, local);
      else {
        await Deno.link(path, local);
        await Deno.remove(path);
      }
    } catch (err) {
      throw err instanceof Deno.errors.AlreadyExists ? localExists(what, local) : err;
    }
    kept = true; // it is the target now
    // Asked to resume: say how much was reused, 0 included.
    return options.resume ? { ...result, offset: result.offset ?? 0 } : result;
  } catch (err) {
    const size = await file.stat().then((i) => i.size, () => 0);
    if (options.keepPartial && interrupted(err) && size > 0) {
      kept = true;
      // The advice travels with the error, so every front end shows it.
      const e = err as Error & { partial?: string };
      e.message = `${e.message}; partial kept: rerun with --resume, or delete "${path}"`;
      e.partial = path;
    }
    throw err;
  } finally {
    file.close();
    if (!kept) await Deno.remove(path).catch(() => {});
  }
}
