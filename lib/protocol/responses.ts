/**
 * Every response the server sends, defined once: a type, a builder the server uses and a
 * validator the client uses. A validator turns an error response into the matching error
 * (see {@link responseError}) and anything malformed into a {@link ProtocolError}; fields it
 * does not know are ignored, so a newer server may add some.
 *
 * @module
 */
import { type ErrorCode, type ErrorReason, isErrorCode, isErrorReason } from "./codes.ts";
import { AuthError, FileshareError, ProtocolError } from "./errors.ts";
import { type DirEntry, PROTOCOL_VERSIONS } from "./messages.ts";

/** Answer to `hello`: the version both ends speak and the server's name. */
export interface HelloResponse {
  status: "ok";
  version: number;
  server: string;
}
/** Answer to `auth_start`: the SCRAM server-first-message. */
export interface AuthContinueResponse {
  status: "continue";
  message: string;
}
/** Answer to a successful `auth_final`: the SCRAM server-final-message and the account kind. */
export interface AuthOkResponse {
  status: "ok";
  message: string;
  readOnly: boolean;
  /** A session ticket, when the client asked for one and the server issues them. */
  ticket?: string;
  /** When the ticket stops working, ms since the epoch. */
  ticketExpires?: number;
}
/** The server takes an upload's body (not sent for an eager upload). */
export interface ReadyResponse {
  status: "ready";
  /**
   * Only for a `resume` request: bytes of a kept partial the upload may continue after (0:
   * none). When more than 0, the client answers with `resume_from` before the body.
   */
  offset?: number;
  /** With an `offset` over 0: the lowercase hex SHA-256 of those kept bytes. */
  sha256?: string;
}
/** An upload is stored: the bytes and SHA-256 the server received. */
export interface UploadResponse {
  status: "ok";
  bytes: number;
  sha256: string;
}
/** A download starts: the body of `size` bytes follows. */
export interface DownloadResponse {
  status: "ok";
  size: number;
  /** Modification time, ISO 8601 UTC. */
  mtime: string;
  /**
   * Only for a request with an `offset`: where the body starts, the requested offset when the
   * client's bytes matched, else 0 (the whole file follows). `size` is always the whole file's.
   */
  offset?: number;
}
/** One batch of a folder listing; `more` on all but the last. */
export interface DirResponse {
  status: "ok";
  entries: DirEntry[];
  more: boolean;
}
/** Answer to `df`: bytes under the user's root and the limits; null where there is none. */
export interface DfResponse {
  status: "ok";
  /** Bytes of the files under the user's root (their home, or the whole shared root). */
  used: number;
  /** The user's quota in bytes. */
  quota: number | null;
  /** Bytes the quota still allows. */
  free: number | null;
  /** The server's largest upload in bytes. */
  maxUpload: number | null;
}
/** Success of a request that returns nothing (delete, mkdir, rmdir, bench_mark). */
export interface OkResponse {
  status: "ok";
}
/** A refused or failed request. */
export interface ErrorResponse {
  status: "error";
  code: ErrorCode;
  message: string;
  /** Present where the code alone does not say why (see {@link ErrorReason}). */
  reason?: ErrorReason;
}

/** Any response a command handler may send as its final answer. */
export type CommandResponse =
  | UploadResponse
  | DownloadResponse
  | DirResponse
  | DfResponse
  | OkResponse;

/** Any message the server sends outside a body. */
export type Response =
  | HelloResponse
  | AuthContinueResponse
  | AuthOkResponse
  | ReadyResponse
  | CommandResponse
  | ErrorResponse;

/** Builds the answer to `hello`. */
export function helloResponse(version: number, server: string): HelloResponse {
  return { status: "ok", version, server };
}

/** Builds the answer to `auth_start`. */
export function authContinueResponse(message: string): AuthContinueResponse {
  return { status: "continue", message };
}

/** Builds the answer to a successful `auth_final`, with a session ticket if one is issued. */
export function authOkResponse(
  message: string,
  readOnly: boolean,
  ticket?: { ticket: string; expires: number },
): AuthOkResponse {
  const r: AuthOkResponse = { status: "ok", message, readOnly };
  if (ticket) {
    r.ticket = ticket.ticket;
    r.ticketExpires = ticket.expires;
  }
  return r;
}

/** Builds the go-ahead for an upload's body; for a resume request, with the kept bytes. */
export function readyResponse(kept?: { offset: number; sha256?: string }): ReadyResponse {
  if (kept === undefined) return { status: "ready" };
  return kept.offset > 0 && kept.sha256 !== undefined
    ? { status: "ready", offset: kept.offset, sha256: kept.sha256 }
    : { status: "ready", offset: 0 };
}

/** Builds the answer to a stored upload. */
export function uploadResponse(bytes: number, sha256: string): UploadResponse {
  return { status: "ok", bytes, sha256 };
}

/** Builds the answer that starts a download; `offset` only for a request that had one. */
export function downloadResponse(size: number, mtime: Date, offset?: number): DownloadResponse {
  const r: DownloadResponse = { status: "ok", size, mtime: mtime.toISOString() };
  if (offset !== undefined) r.offset = offset;
  return r;
}

/** Builds one batch of a folder listing. */
export function dirResponse(entries: DirEntry[], more: boolean): DirResponse {
  return { status: "ok", entries, more };
}

/** Builds the answer to `df`. */
export function dfResponse(usage: Omit<DfResponse, "status">): DfResponse {
  return {
    status: "ok",
    used: usage.used,
    quota: usage.quota,
    free: usage.free,
    maxUpload: usage.maxUpload,
  };
}

/** Builds a plain success. */
export function okResponse(): OkResponse {
  return { status: "ok" };
}

/** Builds an error response. */
export function errorResponse(
  code: ErrorCode,
  message: string,
  reason?: ErrorReason,
): ErrorResponse {
  return reason === undefined ? { status: "error", code, message } : {
    status: "error",
    code,
    message,
    reason,
  };
}

/** Whether a response message is an error; validates its fields on the way. */
export function asErrorResponse(msg: Record<string, unknown>): ErrorResponse | null {
  if (msg.status !== "error") return null;
  const code = isErrorCode(msg.code) ? msg.code : "INTERNAL";
  const message = typeof msg.message === "string" ? msg.message.slice(0, 4096) : "Unknown error";
  // An unknown reason (a newer server) is dropped: the code still holds.
  return errorResponse(code, message, isErrorReason(msg.reason) ? msg.reason : undefined);
}

/** The error a client raises for an error response: {@link AuthError} for AUTH_FAILED. */
export function responseError(response: ErrorResponse): FileshareError {
  if (response.code === "AUTH_FAILED") return new AuthError(response.message);
  return new FileshareError(response.code, response.message, { reason: response.reason });
}

/** Throws the error an error response carries, or ProtocolError for another status. */
function expectStatus(msg: Record<string, unknown>, status: string): void {
  const error = asErrorResponse(msg);
  if (error !== null) throw responseError(error);
  if (msg.status !== status) {
    throw new ProtocolError(
      `Expected "${status}" from the server, got ${JSON.stringify(msg.status)}`,
    );
  }
}

function isSize(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function isDirEntry(v: unknown): v is DirEntry {
  const e = v as DirEntry;
  return typeof e === "object" && e !== null && typeof e.name === "string" &&
    (e.type === "file" || e.type === "dir") && Number.isSafeInteger(e.size) &&
    typeof e.mtime === "string";
}

/** Validates the answer to `hello`: a version this build speaks and the server's name. */
export function parseHelloResponse(msg: Record<string, unknown>): HelloResponse {
  expectStatus(msg, "ok");
  const { version, server } = msg;
  if (!(PROTOCOL_VERSIONS as readonly unknown[]).includes(version)) {
    throw new ProtocolError(`Server chose protocol version ${JSON.stringify(version)}`, "VERSION");
  }
  return helloResponse(version as number, typeof server === "string" ? server : "");
}

/** Validates the answer to `auth_start`. */
export function parseAuthContinueResponse(msg: Record<string, unknown>): AuthContinueResponse {
  expectStatus(msg, "continue");
  if (typeof msg.message !== "string") throw new ProtocolError("Server sent no SCRAM message");
  return authContinueResponse(msg.message);
}

/** Validates the answer to `auth_final`. */
export function parseAuthOkResponse(msg: Record<string, unknown>): AuthOkResponse {
  expectStatus(msg, "ok");
  if (typeof msg.message !== "string") throw new ProtocolError("Server sent no signature");
  const ticket = typeof msg.ticket === "string" && Number.isSafeInteger(msg.ticketExpires)
    ? { ticket: msg.ticket, expires: msg.ticketExpires as number }
    : undefined;
  return authOkResponse(msg.message, msg.readOnly === true, ticket);
}

/** Validates the go-ahead for an upload's body (with kept bytes offered, if any). */
export function parseReadyResponse(msg: Record<string, unknown>): ReadyResponse {
  expectStatus(msg, "ready");
  if (msg.offset === undefined) return readyResponse();
  if (!isSize(msg.offset)) throw new ProtocolError("Server sent no valid offset");
  if (msg.offset === 0) return readyResponse({ offset: 0 });
  if (typeof msg.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(msg.sha256)) {
    throw new ProtocolError("Server offered kept bytes without a valid SHA-256");
  }
  return readyResponse({ offset: msg.offset, sha256: msg.sha256 });
}

/** Validates the answer to a finished upload. */
export function parseUploadResponse(msg: Record<string, unknown>): UploadResponse {
  expectStatus(msg, "ok");
  const { bytes, sha256 } = msg;
  if (!isSize(bytes) || typeof sha256 !== "string") {
    throw new ProtocolError("Server sent no valid upload result");
  }
  return uploadResponse(bytes, sha256);
}

/** Validates the answer that starts a download. */
export function parseDownloadResponse(msg: Record<string, unknown>): DownloadResponse {
  expectStatus(msg, "ok");
  if (!isSize(msg.size)) throw new ProtocolError("Server sent no valid size");
  const r: DownloadResponse = {
    status: "ok",
    size: msg.size,
    mtime: typeof msg.mtime === "string" ? msg.mtime : "",
  };
  if (msg.offset === undefined) return r;
  if (!isSize(msg.offset) || msg.offset > msg.size) {
    throw new ProtocolError("Server sent no valid offset");
  }
  r.offset = msg.offset;
  return r;
}

/** Validates one batch of a folder listing. */
export function parseDirResponse(msg: Record<string, unknown>): DirResponse {
  expectStatus(msg, "ok");
  if (!Array.isArray(msg.entries) || !msg.entries.every(isDirEntry)) {
    throw new ProtocolError("Server sent a malformed listing");
  }
  return dirResponse(msg.entries, msg.more === true);
}

/** Validates the answer to `df`. */
export function parseDfResponse(msg: Record<string, unknown>): DfResponse {
  expectStatus(msg, "ok");
  const sizeOrNull = (v: unknown) => v === null || v === undefined || isSize(v);
  if (!isSize(msg.used) || !sizeOrNull(msg.quota) || !sizeOrNull(msg.free)) {
    throw new ProtocolError("Server sent no valid usage");
  }
  const orNull = (v: unknown) => (isSize(v) ? v : null);
  return dfResponse({
    used: msg.used,
    quota: orNull(msg.quota),
    free: orNull(msg.free),
    maxUpload: orNull(msg.maxUpload),
  });
}

/** Validates a plain success. */
export function parseOkResponse(msg: Record<string, unknown>): OkResponse {
  expectStatus(msg, "ok");
  return okResponse();
}
