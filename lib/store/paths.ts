import { PathError } from "../protocol/errors.ts";
import { MAX_PATH_BYTES } from "../protocol/messages.ts";

/** Prefix of the server's in-progress upload files; such names are hidden and unaddressable. */
export const TEMP_PREFIX = ".fileshare-tmp-";

/** A remote path checked by {@link parseRemotePath}: confined, normalised segments. */
export interface RemotePath {
  /** Non-empty name segments; empty for the root. */
  readonly segments: readonly string[];
  /** The normalised `/`-joined form, `""` for the root. */
  readonly text: string;
}

const MAX_SEGMENT_BYTES = 255;
/** Most name segments a path may have: bounds the work of one request (a 4 KiB path could
 * otherwise name 2,048 nested folders). */
export const MAX_PATH_DEPTH = 64;
const encoder = new TextEncoder();

// C0 and C1 control characters and DEL.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Bidi embeddings, overrides and isolates make a name display as something else.
const BIDI = /[\u202a-\u202e\u2066-\u2069]/;
// Characters Windows does not allow in names (the executables also run there).
const WINDOWS_CHARS = /[<>:"|?*]/;
// Device names Windows reserves, with or without an extension, in any case.
const WINDOWS_NAMES =
  /^(con|prn|aux|nul|com[1-9\u00b9\u00b2\u00b3]|lpt[1-9\u00b9\u00b2\u00b3])(\..*)?$/i;

/**
 * Validates a client-supplied path relative to the served root and normalises it to Unicode
 * NFC, so that NFC and NFD spellings name one file. Refuses absolute paths, `..`, C0 and C1
 * control characters, bidi overrides, backslashes, drive letters, names Windows cannot hold
 * (`CON`, `nul.txt`, `a:b`, trailing dots or spaces, `<>:"|?*`), names over 255 bytes, paths
 * over 4096 bytes or {@link MAX_PATH_DEPTH} levels, and the server's temporary-file names.
 * `.` and empty segments are dropped, so `a//b/` is `a/b` and `""` or `"."` is the root.
 * `context` (e.g. `Cannot delete "x"`) prefixes the error message.
 */
export function parseRemotePath(input: string, context?: string): RemotePath {
  try {
    return parsePath(input);
  } catch (err) {
    if (context && err instanceof PathError) throw new PathError(`${context}: ${err.message}`);
    throw err;
  }
}

/** A client path as quoted in error messages: JSON-escaped, cut after about 80 characters. */
export function quotePath(input: string): string {
  return JSON.stringify(input.length > 80 ? input.slice(0, 77) + "..." : input);
}

function parsePath(raw: string): RemotePath {
  if (encoder.encode(raw).length > MAX_PATH_BYTES) {
    throw new PathError(`Path is longer than ${MAX_PATH_BYTES} bytes`);
  }
  if (!raw.isWellFormed()) {
    throw new PathError(`Path ${quotePath(raw)} is not valid Unicode (lone surrogate)`);
  }
  if (CONTROL.test(raw)) {
    throw new PathError(`Path ${quotePath(raw)} contains a control character`);
  }
  if (BIDI.test(raw)) {
    throw new PathError(
      `Path ${quotePath(raw)} contains a bidirectional override (it would display misleadingly)`,
    );
  }
  const input = raw.normalize("NFC");
  if (encoder.encode(input).length > MAX_PATH_BYTES) {
    throw new PathError(`Path is longer than ${MAX_PATH_BYTES} bytes`);
  }
  if (input.includes("\\")) {
    throw new PathError(`Path ${quotePath(input)} contains a backslash (use "/")`);
  }
  if (input.startsWith("/")) {
    throw new PathError(
      `Path ${quotePath(input)} is absolute (paths are relative to the shared folder)`,
    );
  }
  if (/^[A-Za-z]:/.test(input)) {
    throw new PathError(`Path ${quotePath(input)} starts with a drive letter`);
  }
  const segments: string[] = [];
  for (const seg of input.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      throw new PathError(`Path ${quotePath(input)} leaves the shared folder ("..")`);
    }
    if (encoder.encode(seg).length > MAX_SEGMENT_BYTES) {
      throw new PathError(
        `Name "${seg.slice(0, 40)}..." is longer than ${MAX_SEGMENT_BYTES} bytes`,
      );
    }
    if (seg.startsWith(TEMP_PREFIX)) {
      throw new PathError(`Name "${seg}" is reserved for the server's temporary files`);
    }
    checkPortable(seg);
    segments.push(seg);
    if (segments.length > MAX_PATH_DEPTH) {
      throw new PathError(`Path is deeper than ${MAX_PATH_DEPTH} levels`);
    }
  }
  return { segments, text: segments.join("/") };
}

/** Refuses a name that Windows could not store, so every platform holds the same names. */
function checkPortable(seg: string): void {
  const name = quotePath(seg);
  const bad = WINDOWS_CHARS.exec(seg);
  if (bad) {
    throw new PathError(`Name ${name} contains "${bad[0]}" (not allowed: < > : " | ? *)`);
  }
  if (WINDOWS_NAMES.test(seg)) {
    throw new PathError(`Name ${name} is a reserved device name on Windows (choose another)`);
  }
  if (seg.endsWith(".") || seg.endsWith(" ")) {
    throw new PathError(`Name ${name} ends with a dot or space (Windows would drop it)`);
  }
}

/** Whether `path` is `root` or lies below it (both absolute, normalised, no trailing slash). */
export function isInside(root: string, path: string): boolean {
  if (path === root) return true;
  const base = root.endsWith("/") || root.endsWith("\\") ? root : root + "/";
  return path.startsWith(base) || (Deno.build.os === "windows" && path.startsWith(root + "\\"));
}
