import { FileshareError } from "../protocol/errors.ts";

/** A client request whose failures may come with advice. */
export type AdvisedOp = "upload" | "delete" | "rmdir";

/** What to suggest for a server refusal of `op`, keyed by code and the server's detail. */
const ADVICE: { op: AdvisedOp; code: string; detail: RegExp; advice: string }[] = [
  { op: "upload", code: "EXISTS", detail: /file already exists$/, advice: "use --overwrite" },
  {
    op: "upload",
    code: "EXISTS",
    detail: /a folder has that name$/,
    advice: 'end the path with "/" to upload into it',
  },
  { op: "delete", code: "BAD_REQUEST", detail: /is a folder$/, advice: "use rmdir" },
  { op: "rmdir", code: "NOT_EMPTY", detail: /not empty$/, advice: "use --recursive" },
];

/**
 * Adds the advice the server leaves to the client (the server states the fact, e.g.
 * `file already exists`; the client knows its own options: `(use --overwrite)`).
 * Returns `err` unchanged when no advice applies.
 */
export function withAdvice(op: AdvisedOp, err: unknown): unknown {
  if (!(err instanceof FileshareError) || err.constructor !== FileshareError) return err;
  const rule = ADVICE.find((a) => a.op === op && a.code === err.code && a.detail.test(err.message));
  if (!rule) return err;
  return new FileshareError(err.code, `${err.message} (${rule.advice})`, { cause: err.cause });
}
