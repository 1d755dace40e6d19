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
const encoder = new TextEncoder();

/**
 * Validates a client-supplied path relative to the served root. Refuses absolute paths, `..`,
 * NUL and other control characters, backslashes, drive letters, over-long names, and the
 * server's temporary-file names. `.` and empty segments are dropped, so `a//b/` is `a/b` and
 * `""` or `"."` is the root. `context` (e.g. `Cannot delete "x"`) prefixes the error message.
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

function parsePath(input: string): RemotePath {
  if (encoder.encode(input).length > MAX_PATH_BYTES) {
    throw new PathError(`Path is longer than ${MAX_PATH_BYTES} bytes`);
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(input)) {
    throw new PathError(`Path ${quotePath(input)} contains a control character`);
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
    segments.push(seg);
  }
  return { segments, text: segments.join("/") };
}

/** Whether `path` is `root` or lies below it (both absolute, normalised, no trailing slash). */
export function isInside(root: string, path: string): boolean {
  if (path === root) return true;
  const base = root.endsWith("/") || root.endsWith("\\") ? root : root + "/";
  return path.startsWith(base) || (Deno.build.os === "windows" && path.startsWith(root + "\\"));
}
