import type { ErrorCode, ErrorReason } from "../protocol/codes.ts";
import { FileshareError } from "../protocol/errors.ts";

/** A client request whose failures may come with advice. */
export type AdvisedOp = "upload" | "delete" | "rmdir" | "rename";

/** What to suggest for a server refusal of `op`, keyed by its code and reason (never words). */
const ADVICE: { op: AdvisedOp; code: ErrorCode; reason: ErrorReason; advice: string }[] = [
  { op: "upload", code: "EXISTS", reason: "exists_file", advice: "use --overwrite" },
  {
    op: "upload",
    code: "EXISTS",
    reason: "exists_folder",
    advice: 'end the path with "/" to upload into it',
  },
  { op: "rename", code: "EXISTS", reason: "exists_file", advice: "use --overwrite" },
  { op: "delete", code: "BAD_REQUEST", reason: "not_file", advice: "use rmdir" },
  { op: "rmdir", code: "NOT_EMPTY", reason: "not_empty", advice: "use --recursive" },
  { op: "upload", code: "LIMIT", reason: "quota", advice: "df shows your usage" },
];

/**
 * Adds the advice the server leaves to the client (the server states the fact, e.g.
 * `file already exists` with the reason `exists_file`; the client knows its own options:
 * `(use --overwrite)`). Returns `err` unchanged when no advice applies.
 */
export function withAdvice(op: AdvisedOp, err: unknown): unknown {
  if (!(err instanceof FileshareError) || err.constructor !== FileshareError) return err;
  const rule = ADVICE.find((a) => a.op === op && a.code === err.code && a.reason === err.reason);
  if (!rule) return err;
  return new FileshareError(err.code, `${err.message} (${rule.advice})`, {
    cause: err.cause,
    reason: err.reason,
  });
}
