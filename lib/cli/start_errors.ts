/**
 * What the server says when it cannot start: which flag named what, and why, in words (never a
 * raw OS error).
 * @module
 */
import { fsCause } from "../fs_cause.ts";

/** The server could not start with the flags it was given (exit 1, one line). */
export class StartError extends Error {
  /** Creates the error; the message names the flag and the cause. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StartError";
  }
}

/** The folder part of a path (`.` when it has none). */
function folderOf(path: string): string {
  return path.replace(/[\\/][^\\/]*$/, "") || ".";
}

/** Why the shared folder `path` (from `--root`) cannot be served. */
export async function rootError(path: string, err: unknown): Promise<StartError> {
  const info = await Deno.stat(path).catch(() => null);
  const why = info !== null && !info.isDirectory
    ? "it is a file, not a folder"
    : err instanceof Deno.errors.NotADirectory
    ? "a part of the path is a file, not a folder"
    : fsCause(err);
  return new StartError(`Cannot serve --root "${path}": ${why}`, { cause: err });
}

/** Why the activity log `path` (from `--log`) cannot be opened. */
export function logError(path: string, err: unknown): StartError {
  const why = err instanceof Deno.errors.NotFound
    ? `the folder "${folderOf(path)}" does not exist`
    : err instanceof Deno.errors.IsADirectory
    ? "it is a folder"
    : fsCause(err);
  return new StartError(`Cannot open the activity log --log "${path}": ${why}`, { cause: err });
}

/** Why the server cannot listen on `host:port` (from `--host` and `--port`). */
export function listenError(host: string, port: number, err: unknown): StartError {
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  let why: string;
  if (err instanceof Deno.errors.AddrInUse) {
    why = "the port is in use (is another server running? choose another --port)";
  } else if (err instanceof Deno.errors.AddrNotAvailable) {
    why = `no network interface of this machine has the address "${host}" (check --host)`;
  } else if (err instanceof Deno.errors.PermissionDenied) {
    why = "not allowed (ports below 1024 need administrator rights; choose another --port)";
  } else if (err instanceof Error && /lookup address|not known|resolve/i.test(err.message)) {
    why = `unknown host name "${host}" (check --host)`;
  } else {
    why = fsCause(err);
  }
  return new StartError(`Cannot listen on ${where}: ${why}`, { cause: err });
}
