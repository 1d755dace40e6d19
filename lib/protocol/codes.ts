/** Error codes shared by both ends of the wire (see docs/protocol.md). */
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

/** One of the protocol's error codes. */
export type ErrorCode = typeof ERROR_CODES[number];

/** Whether `value` is a known error code. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}
