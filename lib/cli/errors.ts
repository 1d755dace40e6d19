import { fsCause, fsErrorPath, isFsError } from "../fs_cause.ts";

/** Bad command-line input: exit code 2 with usage on stderr. */
export class UsageError extends Error {
  /** Creates a usage error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * A one-shot command stopped by Ctrl-C (SIGINT) or SIGTERM after it cancelled its work
 * cleanly: exit code 130 or 143, as a shell reports a process ended by that signal.
 */
export class StoppedBySignal extends Error {
  /** The signal that stopped the command. */
  readonly signal: "SIGINT" | "SIGTERM";
  /** Creates the error; `message` is the cancelled command's own line. */
  constructor(message: string, signal: "SIGINT" | "SIGTERM", options?: ErrorOptions) {
    super(message, options);
    this.name = "StoppedBySignal";
    this.signal = signal;
  }
}

/** The one place that maps errors to exit codes: usage 2, a signal 130/143, the rest 1. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof StoppedBySignal) return err.signal === "SIGINT" ? 130 : 143;
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
