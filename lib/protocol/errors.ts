import type { ErrorCode } from "./codes.ts";

/**
 * A failure that has a protocol error code: raised by the server's handlers (and sent to the
 * client as an error response) and by the client when the server answers with an error.
 */
export class FileshareError extends Error {
  /** The protocol error code. */
  readonly code: ErrorCode;

  /** Creates an error with a protocol code and a human-readable message. */
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FileshareError";
    this.code = code;
  }
}

/** The peer broke the protocol: bad frame, unexpected message, oversize header. */
export class ProtocolError extends FileshareError {
  /** Creates a protocol violation error (code BAD_REQUEST unless given). */
  constructor(message: string, code: ErrorCode = "BAD_REQUEST", options?: ErrorOptions) {
    super(code, message, options);
    this.name = "ProtocolError";
  }
}

/** Authentication failed or the server could not be verified. */
export class AuthError extends FileshareError {
  /** Creates an authentication error. */
  constructor(message: string, options?: ErrorOptions) {
    super("AUTH_FAILED", message, options);
    this.name = "AuthError";
  }
}

/** A remote path was refused (traversal, absolute, bad characters). */
export class PathError extends FileshareError {
  /** Creates a path error with code BAD_REQUEST. */
  constructor(message: string, options?: ErrorOptions) {
    super("BAD_REQUEST", message, options);
    this.name = "PathError";
  }
}

/** The connection closed or stalled. */
export class ConnectionError extends Error {
  /** TIMEOUT when the peer stalled past the timeout, CANCELLED when it went away. */
  readonly code: "TIMEOUT" | "CANCELLED";

  /** Creates a connection error. */
  constructor(message: string, options?: ErrorOptions & { timeout?: boolean }) {
    super(message, options);
    this.name = "ConnectionError";
    this.code = options?.timeout ? "TIMEOUT" : "CANCELLED";
  }
}
