/**
 * Error codes shared by both ends of the wire (see docs/protocol.md).
 *
 * @example
 * ```ts
 * import { ERROR_CODES } from "fileshare";
 *
 * console.log(ERROR_CODES.includes("NOT_FOUND")); // true
 * ```
 */
export const ERROR_CODES = [
  "BAD_REQUEST",
  "AUTH_REQUIRED",
  "AUTH_FAILED",
  "DENIED",
  "NOT_FOUND",
  "EXISTS",
  "NOT_EMPTY",
  "INTEGRITY",
  "LIMIT",
  "VERSION",
  "TIMEOUT",
  "CANCELLED",
  "UNAVAILABLE",
  "INTERNAL",
] as const;

/**
 * One of the protocol's error codes: what `FileshareError.code` holds.
 *
 * @example
 * ```ts
 * import type { ErrorCode } from "fileshare";
 *
 * function retryable(code: ErrorCode): boolean {
 *   return code === "TIMEOUT" || code === "UNAVAILABLE";
 * }
 * ```
 */
export type ErrorCode = typeof ERROR_CODES[number];

/** Whether `value` is a known error code. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}

/**
 * Why a request was refused, finer than its {@link ErrorCode}: sent beside the code so that a
 * client can choose its advice without reading the message's words (see docs/protocol.md).
 */
export const ERROR_REASONS = [
  "exists_file",
  "exists_folder",
  "not_empty",
  "not_folder",
  "not_file",
  "quota",
  "too_large",
  "ticket",
] as const;

/** One of the protocol's refusal reasons: what `FileshareError.reason` holds. */
export type ErrorReason = typeof ERROR_REASONS[number];

/** Whether `value` is a known refusal reason. */
export function isErrorReason(value: unknown): value is ErrorReason {
  return typeof value === "string" && (ERROR_REASONS as readonly string[]).includes(value);
}
