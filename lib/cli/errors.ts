import { ConnectionError, FileshareError } from "../protocol/errors.ts";
import { UsersError } from "../auth/users.ts";

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

/** The one line printed for an error, naming the cause. */
export function errorLine(err: unknown): string {
  if (
    err instanceof UsageError || err instanceof FileshareError || err instanceof ConnectionError ||
    err instanceof UsersError
  ) {
    return err.message;
  }
  if (err instanceof Deno.errors.NotFound) return `Not found: ${err.message}`;
  if (err instanceof Deno.errors.PermissionDenied) return `Permission denied: ${err.message}`;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
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
