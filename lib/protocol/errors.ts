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

/**
 * A fault of the server itself (a bug, an I/O error, a broken configuration). The client sees
 * only a short id; the full detail, with the same id, goes to the server's log, so that no
 * server-side path or internal message ever reaches a client.
 */
export class InternalError extends FileshareError {
  /** Short random id quoted in both the answer and the log line. */
  readonly id: string;
  /** The full description for the server's log (never sent). */
  readonly detail: string;

  /**
   * Creates an internal error; `context` (e.g. `Cannot upload "a.txt"`, client words only)
   * starts the public message, `detail` is logged.
   */
  constructor(context: string, detail: string, options?: ErrorOptions) {
    const id = Array.from(
      crypto.getRandomValues(new Uint8Array(4)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    super("INTERNAL", `${context}: internal error on the server (id ${id}, in the server log)`, {
      ...options,
    });
    this.name = "InternalError";
    this.id = id;
    this.detail = `[id ${id}] ${context}: ${detail}`;
  }

  /** Wraps any error that is not already a FileshareError as an internal error. */
  static wrap(err: unknown, context = "Request failed"): FileshareError {
    if (err instanceof FileshareError) return err;
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return new InternalError(context, detail, { cause: err });
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
