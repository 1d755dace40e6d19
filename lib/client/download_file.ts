/**
 * A download to a local path that appears whole or not at all: the body goes to a hidden
 * temporary file next to the target, which takes the target's name only after the SHA-256
 * matched.
 * @module
 */
import { AtomicFile, SYNC_FILE } from "../atomic_file.ts";
import { FileshareError } from "../protocol/errors.ts";
import { randomHex } from "../random_hex.ts";
import type { ByteSink } from "../transfer.ts";
import { fsCause } from "../fs_cause.ts";
import type { FileTransferOptions, TransferResult } from "./options.ts";

/** Runs one download into the sink it is given (`FileshareClient.download` for a path). */
export type DownloadInto = (
  sink: (size: number) => Promise<ByteSink>,
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

function localExists(what: string, local: string): FileshareError {
  return new FileshareError("EXISTS", `${what}: local file "${local}" exists (use --overwrite)`);
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
