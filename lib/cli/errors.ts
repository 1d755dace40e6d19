import { fsCause, fsErrorPath, isFsError } from "../fs_cause.ts";

/** Bad command-line input: exit code 2 with usage on stderr. */
export class UsageError extends Error {
  /** Creates a usage error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The one place that maps errors to exit codes: usage 2, everything else 1. */
export function exitCodeFor(err: unknown): number {
  return err instanceof UsageError ? 2 : 1;
}

const GENERIC = new Set(["Error", "TypeError", "RangeError", "SyntaxError", "ReferenceError"]);

/**
 * The one line printed for an error, naming the cause. The project's named errors
 * (FileshareError, ConnectionError, UsersError, UsageError...) carry complete sentences, so
 * their message stands alone; runtime file errors are worded with their path and cause (never
 * an OS error number or a runtime flag); generic errors get a prefix.
 */
export function errorLine(err: unknown): string {
  if (isFsError(err)) {
    const path = fsErrorPath(err);
    const cause = fsCause(err);
    return path === undefined
      ? cause.charAt(0).toUpperCase() + cause.slice(1)
      : `Cannot use "${path}": ${cause}`;
  }
  if (err instanceof Error) {
    return GENERIC.has(err.name) ? `${err.name}: ${err.message}` : err.message;
  }
  return String(err);
}

/** Prints an error as one line (with the usage after a usage error); returns the exit code. */
export function reportCliError(err: unknown, usage: string): number {
  const e = asCliError(err);
  const code = exitCodeFor(e);
  console.error(code === 2 ? `${errorLine(e)}\n\n${usage}` : errorLine(e));
  return code;
}

/** Turns node:util parseArgs errors (TypeError with an ERR_PARSE_ARGS code) into usage errors. */
export function asCliError(err: unknown): unknown {
  if (
    err instanceof TypeError && typeof (err as { code?: unknown }).code === "string" &&
    (err as unknown as { code: string }).code.startsWith("ERR_PARSE_ARGS")
  ) {
    return new UsageError(err.message);
  }
  return err;
}
