/**
 * File-system errors in words for people: the runtime's messages carry OS error numbers and,
 * for paths it guards, advice about its own permission flags, neither of which means anything
 * to a user of the tools.
 * @module
 */

/** Why a file operation failed, in a few lowercase words, without a path. */
export function fsCause(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "no such file or folder";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.NotCapable) {
    return "a device or system path, which fileshare does not write or read";
  }
  if (err instanceof Deno.errors.AlreadyExists) return "already exists";
  if (err instanceof Deno.errors.IsADirectory) return "it is a folder";
  if (err instanceof Deno.errors.NotADirectory) return "a part of the path is a file, not a folder";
  if (err instanceof Deno.errors.FilesystemLoop) return "too many levels of symbolic links";
  if (err instanceof Deno.errors.Busy) return "the file is busy";
  const message = err instanceof Error ? err.message : String(err);
  // "No space left on device (os error 28): write" → "no space left on device"
  const words = message.replace(/\s*\(os error \d+\).*$/s, "");
  return words.charAt(0).toLowerCase() + words.slice(1);
}

/** The path a runtime file error names (`open '/x'`, `Requires all access to "/x"`), if any. */
export function fsErrorPath(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  return /[:\s][a-z_]+ '([^']*)'(?: -> '[^']*')?$/.exec(err.message)?.[1] ??
    /access to "([^"]*)"/.exec(err.message)?.[1];
}

/** Whether `err` is one of the runtime's file-system errors that {@link fsCause} words. */
export function isFsError(err: unknown): boolean {
  return err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied ||
    err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.AlreadyExists ||
    err instanceof Deno.errors.IsADirectory || err instanceof Deno.errors.NotADirectory ||
    err instanceof Deno.errors.FilesystemLoop || err instanceof Deno.errors.Busy;
}
