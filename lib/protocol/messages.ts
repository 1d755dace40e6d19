import { type ErrorCode, isErrorCode } from "./codes.ts";
import { ProtocolError } from "./errors.ts";

/**
 * Protocol versions this build speaks, newest first. Version 2 adds `rename`, uploads of
 * unknown length (`size: null`) and the file's modification time on uploads (docs/protocol.md).
 */
export const PROTOCOL_VERSIONS = [2, 1] as const;
/** The first version with `rename`, unknown-length uploads and upload mtimes. */
export const PROTOCOL_V2 = 2;
/** The protocol name sent in the handshake. */
export const PROTOCOL_NAME = "fileshare";
/** Largest upload a client may send without waiting for "ready" (one round trip saved). */
export const EAGER_MAX_BYTES = 256 * 1024;
/** Longest remote path in UTF-8 bytes. */
export const MAX_PATH_BYTES = 4096;

/** Client's first message: the version handshake. */
export interface HelloRequest {
  op: "hello";
  protocol: string;
  versions: number[];
  client: string;
  /** Id of a load-test run this connection belongs to, for the activity log. */
  run?: string;
}
/**
 * First login step. SCRAM-SHA-256: the client-first-message, and `ticket: true` to ask for a
 * session ticket. TICKET: `t=<sealed ticket>,r=<client nonce>` (see docs/protocol.md).
 */
export interface AuthStartRequest {
  op: "auth_start";
  mechanism: "SCRAM-SHA-256" | "TICKET";
  message: string;
  /** SCRAM only: issue a session ticket with the answer to a successful login. */
  ticket?: boolean;
}
/** Second SCRAM step: the client-final-message. */
export interface AuthFinalRequest {
  op: "auth_final";
  message: string;
}
/** Upload a body of `size` bytes to `path`. */
export interface UploadRequest {
  op: "upload";
  path: string;
  /** Body bytes, or null (version 2) when the sender does not know: DATA until the trailer. */
  size: number | null;
  overwrite: boolean;
  /** The body follows at once, without waiting for "ready" (only up to EAGER_MAX_BYTES). */
  eager: boolean;
  /** Modification time the stored file gets, ISO 8601 (version 2); else the time of storing. */
  mtime?: string;
  /**
   * Continue this user's partial upload of `path` kept by the server: "ready" then carries
   * its `offset` and `sha256`, and the client answers with {@link ResumeFromMessage}.
   */
  resume?: boolean;
  /** If the body is cut off (connection lost, cancelled), keep what arrived for a resume. */
  keepPartial?: boolean;
}
/**
 * The client's choice after a "ready" that offered a kept partial of `offset` bytes: continue
 * after them (`offset` as offered, when their SHA-256 matched the client's own first bytes) or
 * start again from 0. The body that follows has `size - offset` bytes.
 */
export interface ResumeFromMessage {
  op: "resume_from";
  offset: number;
}
/**
 * Download the file at `path`. With `offset` and `sha256` (the SHA-256 of the client's first
 * `offset` bytes of it), the server sends only the rest if its own first bytes match.
 */
export interface DownloadRequest {
  op: "download";
  path: string;
  /** Bytes the client already has. */
  offset?: number;
  /** Lowercase hex SHA-256 of those bytes. */
  sha256?: string;
}
/** Delete the file at `path`. */
export interface DeleteRequest {
  op: "delete";
  path: string;
}
/** List the folder at `path`. */
export interface DirRequest {
  op: "dir";
  path: string;
}
/** Create the folder at `path` (and missing parents). */
export interface MkdirRequest {
  op: "mkdir";
  path: string;
}
/** Remove the folder at `path`. */
export interface RmdirRequest {
  op: "rmdir";
  path: string;
  recursive: boolean;
}
/** Asks for the user's usage, quota and the server's largest upload. */
export interface DfRequest {
  op: "df";
}
/** Rename or move `from` to `to` (version 2); replaces a file at `to` only with `overwrite`. */
export interface RenameRequest {
  op: "rename";
  from: string;
  to: string;
  overwrite: boolean;
}
/** Marks the start or end of a load-test run in the server's log. */
export interface BenchMarkRequest {
  op: "bench_mark";
  phase: "start" | "end";
  run: string;
  /** Numbers describing the run (clients, files, size, ops, errors, bytes, ms). */
  stats: Record<string, number | string>;
}

/** Any request after the handshake. */
export type Request =
  | AuthStartRequest
  | AuthFinalRequest
  | UploadRequest
  | DownloadRequest
  | DeleteRequest
  | DirRequest
  | MkdirRequest
  | RmdirRequest
  | DfRequest
  | RenameRequest
  | BenchMarkRequest;

/** The normal end of a body: the SHA-256 of all its bytes. */
export interface EndTrailer {
  op: "end";
  /** Lowercase hex SHA-256 of the body. */
  sha256: string;
}
/** The early end of a body: why the sender gave up. */
export interface AbortTrailer {
  op: "abort";
  code: ErrorCode;
  message: string;
}
/** The end of a body: its SHA-256, or an abort with the reason. */
export type BodyTrailer = EndTrailer | AbortTrailer;

/**
 * A folder entry as listed by DIR.
 *
 * @example
 * ```ts
 * import type { DirEntry } from "fileshare";
 *
 * function line(e: DirEntry): string {
 *   return `${e.type === "dir" ? "d" : "-"} ${e.size} ${e.mtime} ${e.name}`;
 * }
 * console.log(line({ name: "a.txt", type: "file", size: 3, mtime: "2026-11-24T16:40:12.000Z" }));
 * ```
 */
export interface DirEntry {
  /** The entry's name within its folder (no slashes). */
  name: string;
  /** A file or a folder. */
  type: "file" | "dir";
  /** Size in bytes (0 for folders). */
  size: number;
  /** Modification time, ISO 8601 UTC. */
  mtime: string;
}

function fail(message: string): never {
  throw new ProtocolError(message);
}

function str(msg: Record<string, unknown>, key: string, maxBytes = MAX_PATH_BYTES): string {
  const v = msg[key];
  if (typeof v !== "string") fail(`Field "${key}" must be a string`);
  if (v.length > maxBytes) fail(`Field "${key}" is longer than ${maxBytes} characters`);
  return v;
}

function bool(msg: Record<string, unknown>, key: string): boolean {
  const v = msg[key] ?? false;
  if (typeof v !== "boolean") fail(`Field "${key}" must be a boolean`);
  return v;
}

function size(msg: Record<string, unknown>, key: string): number {
  const v = msg[key];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    fail(`Field "${key}" must be a non-negative integer`);
  }
  return v;
}

function time(msg: Record<string, unknown>, key: string): string {
  const v = str(msg, key, 64);
  const t = Date.parse(v);
  if (!Number.isFinite(t)) fail(`Field "${key}" must be an ISO 8601 time`);
  return new Date(t).toISOString();
}

const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Builds the handshake request for a client named `client` (e.g. `fileshare-client/1.0`). */
export function helloRequest(client: string, run?: string): HelloRequest {
  const hello: HelloRequest = {
    op: "hello",
    protocol: PROTOCOL_NAME,
    versions: [...PROTOCOL_VERSIONS],
    client,
  };
  if (run !== undefined) hello.run = run;
  return hello;
}

/** Builds the first SCRAM request around a client-first-message. */
export function authStartRequest(message: string, ticket = false): AuthStartRequest {
  const req: AuthStartRequest = { op: "auth_start", mechanism: "SCRAM-SHA-256", message };
  if (ticket) req.ticket = true;
  return req;
}

/** Builds the first step of a login with a session ticket. */
export function ticketStartRequest(ticket: string, nonce: string): AuthStartRequest {
  return { op: "auth_start", mechanism: "TICKET", message: `t=${ticket},r=${nonce}` };
}

/** Builds the second SCRAM request around a client-final-message. */
export function authFinalRequest(message: string): AuthFinalRequest {
  return { op: "auth_final", message };
}

/**
 * Builds an upload request; `eager` only for bodies of at most {@link EAGER_MAX_BYTES}, `size`
 * null for a body of unknown length, `mtime` for the time the stored file gets.
 */
export function uploadRequest(
  path: string,
  size: number | null,
  options: {
    overwrite?: boolean;
    eager?: boolean;
    mtime?: Date;
    resume?: boolean;
    keepPartial?: boolean;
  } = {},
): UploadRequest {
  const req: UploadRequest = {
    op: "upload",
    path,
    size,
    overwrite: options.overwrite ?? false,
    eager: options.eager ?? false,
  };
  if (options.mtime !== undefined) req.mtime = options.mtime.toISOString();
  // Absent unless asked: an older server ignores them, a newer one reads false.
  if (options.resume) req.resume = true;
  if (options.keepPartial) req.keepPartial = true;
  return req;
}

/** Builds the client's answer to a "ready" that offered a kept partial. */
export function resumeFromMessage(offset: number): ResumeFromMessage {
  return { op: "resume_from", offset };
}

/** Builds a download request; with `from`, one that continues after bytes the client has. */
export function downloadRequest(
  path: string,
  from?: { offset: number; sha256: string },
): DownloadRequest {
  if (from === undefined || from.offset === 0) return { op: "download", path };
  return { op: "download", path, offset: from.offset, sha256: from.sha256 };
}

/** Builds a delete request. */
export function deleteRequest(path: string): DeleteRequest {
  return { op: "delete", path };
}

/** Builds a folder listing request (`""` for the root). */
export function dirRequest(path: string): DirRequest {
  return { op: "dir", path };
}

/** Builds a folder creation request. */
export function mkdirRequest(path: string): MkdirRequest {
  return { op: "mkdir", path };
}

/** Builds a folder removal request. */
export function rmdirRequest(path: string, recursive: boolean): RmdirRequest {
  return { op: "rmdir", path, recursive };
}

/** Builds a usage request. */
export function dfRequest(): DfRequest {
  return { op: "df" };
}

/** Builds a rename request. */
export function renameRequest(from: string, to: string, overwrite: boolean): RenameRequest {
  return { op: "rename", from, to, overwrite };
}

/** Builds a load-test marker request. */
export function benchMarkRequest(
  phase: "start" | "end",
  run: string,
  stats: Record<string, number | string>,
): BenchMarkRequest {
  return { op: "bench_mark", phase, run, stats };
}

/** Builds the trailer that ends a complete body. */
export function endTrailer(sha256: string): EndTrailer {
  return { op: "end", sha256 };
}

/** Builds the trailer that ends a body early, with the reason. */
export function abortTrailer(code: ErrorCode, message: string): AbortTrailer {
  return { op: "abort", code, message };
}

/** Validates the handshake message. */
export function parseHello(msg: Record<string, unknown>): HelloRequest {
  if (msg.op !== "hello") fail(`Expected "hello" first, got ${JSON.stringify(msg.op)}`);
  const protocol = str(msg, "protocol", 64);
  const versions = msg.versions;
  if (
    !Array.isArray(versions) || versions.length === 0 || versions.length > 16 ||
    !versions.every((v) => Number.isSafeInteger(v) && v > 0)
  ) {
    fail(`Field "versions" must be a list of positive integers`);
  }
  const client = str(msg, "client", 128);
  const hello: HelloRequest = { op: "hello", protocol, versions, client };
  if (msg.run !== undefined) {
    const run = str(msg, "run", 64);
    if (!RUN_ID.test(run)) fail(`Field "run" must match ${RUN_ID}`);
    hello.run = run;
  }
  return hello;
}

/** Validates a decoded message as a request; throws ProtocolError (BAD_REQUEST) otherwise. */
export function parseRequest(msg: Record<string, unknown>): Request {
  switch (msg.op) {
    case "auth_start": {
      if (msg.mechanism !== "SCRAM-SHA-256" && msg.mechanism !== "TICKET") {
        fail(`Unsupported mechanism ${JSON.stringify(msg.mechanism)} (use "SCRAM-SHA-256")`);
      }
      const req: AuthStartRequest = {
        op: "auth_start",
        mechanism: msg.mechanism,
        message: str(msg, "message"),
      };
      if (bool(msg, "ticket")) req.ticket = true;
      return req;
    }
    case "auth_final":
      return { op: "auth_final", message: str(msg, "message") };
    case "upload": {
      const req: UploadRequest = {
        op: "upload",
        path: str(msg, "path"),
        size: msg.size === null ? null : size(msg, "size"),
        overwrite: bool(msg, "overwrite"),
        eager: bool(msg, "eager"),
      };
      if (req.eager && (req.size === null || req.size > EAGER_MAX_BYTES)) {
        fail(`An eager upload may carry at most ${EAGER_MAX_BYTES} bytes, of a known size`);
      }
      if (msg.mtime !== undefined) req.mtime = time(msg, "mtime");
      if (bool(msg, "resume")) {
        if (req.eager) fail(`A resumed upload cannot be eager`);
        if (req.size === null) fail(`A resumed upload needs a known size`);
        req.resume = true;
      }
      if (bool(msg, "keepPartial")) {
        // A stream cannot be sent again from where it stopped: nothing of it is worth keeping.
        if (req.size === null) fail(`Only an upload of a known size can be kept for a resume`);
        req.keepPartial = true;
      }
      return req;
    }
    case "rename":
      return {
        op: "rename",
        from: str(msg, "from"),
        to: str(msg, "to"),
        overwrite: bool(msg, "overwrite"),
      };
    case "download": {
      const req: DownloadRequest = { op: "download", path: str(msg, "path") };
      if (msg.offset !== undefined && msg.offset !== 0) {
        req.offset = size(msg, "offset");
        req.sha256 = hex256(msg, "sha256");
      }
      return req;
    }
    case "delete":
    case "dir":
    case "mkdir":
      return { op: msg.op, path: str(msg, "path") };
    case "rmdir":
      return { op: "rmdir", path: str(msg, "path"), recursive: bool(msg, "recursive") };
    case "df":
      return { op: "df" };
    case "bench_mark": {
      const phase = msg.phase;
      if (phase !== "start" && phase !== "end") fail(`Field "phase" must be "start" or "end"`);
      const run = str(msg, "run", 64);
      if (!RUN_ID.test(run)) fail(`Field "run" must match ${RUN_ID}`);
      const raw = msg.stats;
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        fail(`Field "stats" must be an object`);
      }
      const stats: Record<string, number | string> = {};
      for (const key of ["clients", "files", "size", "ops", "errors", "bytes", "ms", "op"]) {
        const v = (raw as Record<string, unknown>)[key];
        if (typeof v === "number" && Number.isFinite(v) && v >= 0) stats[key] = v;
        else if (key === "op" && (v === "upload" || v === "download" || v === "mixed")) {
          stats[key] = v;
        }
      }
      return { op: "bench_mark", phase, run, stats };
    }
    default:
      fail(`Unknown request ${JSON.stringify(msg.op)}`);
  }
}

/**
 * Validates the client's answer to a "ready" that offered `offered` kept bytes: 0 (start
 * again) or exactly `offered`.
 */
export function parseResumeFrom(msg: Record<string, unknown>, offered: number): ResumeFromMessage {
  if (msg.op !== "resume_from") {
    fail(`Expected "resume_from" after a resumable "ready", got ${JSON.stringify(msg.op)}`);
  }
  const offset = size(msg, "offset");
  if (offset !== 0 && offset !== offered) {
    fail(`Field "offset" must be 0 or the ${offered} bytes offered`);
  }
  return { op: "resume_from", offset };
}

/** Validates the trailer's or a request's SHA-256 field: 64 lowercase hex digits. */
function hex256(msg: Record<string, unknown>, key: string): string {
  const v = msg[key];
  if (typeof v !== "string" || !/^[0-9a-f]{64}$/.test(v)) {
    fail(`Field "${key}" must be 64 lowercase hex digits`);
  }
  return v;
}

/** Validates a body trailer (`end` with a hex SHA-256, or `abort`). */
export function parseTrailer(msg: Record<string, unknown>): BodyTrailer {
  if (msg.op === "end") return { op: "end", sha256: hex256(msg, "sha256") };
  if (msg.op === "abort") {
    const code = isErrorCode(msg.code) ? msg.code : "CANCELLED";
    const message = typeof msg.message === "string" ? msg.message.slice(0, 1024) : "Aborted";
    return { op: "abort", code, message };
  }
  fail(`Expected "end" or "abort" after the body, got ${JSON.stringify(msg.op)}`);
}
