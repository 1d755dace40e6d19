import type { ErrorCode, ErrorReason } from "./codes.ts";
import { randomHex } from "../random_hex.ts";

/**
 * A failure that has a protocol error code: raised by the server's handlers (and sent to the
 * client as an error response) and by the client when the server answers with an error.
 * Tell failures apart by class and `code`, never by the message's words.
 *
 * @example
 * ```ts
 * import { type FileshareClient, FileshareError } from "fileshare";
 *
 * async function uploadOnce(client: FileshareClient, local: string, remote: string) {
 *   try {
 *     await client.uploadFile(local, remote);
 *     return "uploaded";
 *   } catch (err) {
 *     if (err instanceof FileshareError && err.code === "EXISTS") return "already there";
 *     throw err;
 *   }
 * }
 * ```
 */
export class FileshareError extends Error {
  /** The protocol error code. */
  readonly code: ErrorCode;
  /** Why, where the code alone does not say (e.g. EXISTS as a file or as a folder). */
  readonly reason: ErrorReason | undefined;

  /** Creates an error with a protocol code, a human-readable message and an optional reason. */
  constructor(
    code: ErrorCode,
    message: string,
    options?: ErrorOptions & { reason?: ErrorReason },
  ) {
    super(message, options);
    this.name = "FileshareError";
    this.code = code;
    this.reason = options?.reason;
  }
}

/**
 * The peer broke the protocol: bad frame, unexpected message, oversize header. The connection
 * is not usable afterwards.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "fileshare";
 *
 * const err = new ProtocolError("Unknown frame type 0x48");
 * console.log(err.code); // "BAD_REQUEST"
 * ```
 */
export class ProtocolError extends FileshareError {
  /** Creates a protocol violation error (code BAD_REQUEST unless given). */
  constructor(message: string, code: ErrorCode = "BAD_REQUEST", options?: ErrorOptions) {
    super(code, message, options);
    this.name = "ProtocolError";
  }
}

/**
 * Authentication failed (wrong user name or password) or the server could not prove that it
 * knows the password. Code `AUTH_FAILED`.
 *
 * @example
 * ```ts
 * import { AuthError, FileshareClient } from "fileshare";
 *
 * async function canLogIn(password: string): Promise<boolean> {
 *   try {
 *     await using _client = await FileshareClient.connect({
 *       hostname: "127.0.0.1",
 *       port: 9000,
 *       user: "alice",
 *       password,
 *     });
 *     return true;
 *   } catch (err) {
 *     if (err instanceof AuthError) return false;
 *     throw err;
 *   }
 * }
 * ```
 */
export class AuthError extends FileshareError {
  /** Creates an authentication error. */
  constructor(message: string, options?: ErrorOptions) {
    super("AUTH_FAILED", message, options);
    this.name = "AuthError";
  }
}

/**
 * A remote path was refused (traversal, absolute, bad characters). Code `BAD_REQUEST`.
 *
 * @example
 * ```ts
 * import { PathError } from "fileshare";
 *
 * const err = new PathError('Cannot list "../etc": the path leaves the shared folder');
 * console.log(err instanceof PathError, err.code); // true "BAD_REQUEST"
 * ```
 */
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
    const id = randomHex(4);
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

/**
 * The server could not be reached, or the connection closed or stalled. Not a
 * {@link FileshareError}: the request may or may not have been carried out.
 *
 * @example
 * ```ts
 * import { ConnectionError, FileshareClient } from "fileshare";
 *
 * async function reachable(hostname: string, port: number): Promise<boolean> {
 *   try {
 *     await using _client = await FileshareClient.connect({
 *       hostname,
 *       port,
 *       user: "probe",
 *       password: "-",
 *     });
 *     return true;
 *   } catch (err) {
 *     return !(err instanceof ConnectionError);
 *   }
 * }
 * ```
 */
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
