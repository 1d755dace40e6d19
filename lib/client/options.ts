/**
 * What the client library's calls take and give: how to connect, transfer options and a
 * transfer's result.
 * @module
 */
import type { TransferOptions } from "../transfer.ts";
import type { ServerTrust } from "../tls/trust.ts";
import type { TicketStore } from "./ticket_store.ts";

/**
 * How to reach and log in to a server.
 *
 * @example
 * ```ts
 * import type { ConnectOptions } from "fileshare";
 *
 * const options: ConnectOptions = {
 *   hostname: "10.0.0.5",
 *   port: 9000,
 *   user: "alice",
 *   password: "correct horse battery staple",
 *   timeoutMs: 30_000,
 *   tls: { fingerprints: ["5D:A8:9C:CA:48:F5:BA:C5:DB:2B:4C:63:05:07:54:C1:5E:14:80:9E:2D:F9:D8:6D:62:3A:39:30:0B:DA:42:DE"] },
 * };
 * ```
 */
export interface ConnectOptions {
  /** Host name or IP address of the server. */
  hostname: string;
  /** TCP port of the server (the server's default is 9000). */
  port: number;
  /** User name to log in as. */
  user: string;
  /**
   * The user's password; it never crosses the wire (SCRAM-SHA-256). A function is called only
   * when the password is needed: not when a session ticket from `tickets` logs in, and only
   * once the server has answered, so a prompt comes after a wrong address was reported.
   */
  password: string | (() => Promise<string>);
  /**
   * Where session tickets are kept between connections: a valid one logs in without the
   * password and without PBKDF2; a full login asks the server for a new one. The CLI uses
   * `~/.config/fileshare/tickets`; absent, every login is a full SCRAM login.
   */
  tickets?: TicketStore;
  /** Id of a load-test run, recorded in the server's log. */
  run?: string;
  /** Give up on a read or write that waits this long (ms); default 300 s, 0 never. */
  timeoutMs?: number;
  /**
   * Give up on connecting, on the TLS handshake and on the server's first answer after this
   * long (ms); default 10 s, 0 never. A wrong address fails in seconds, not minutes.
   */
  handshakeTimeoutMs?: number;
  /** Name and version sent in the handshake (default `fileshare-client`). */
  clientName?: string;
  /**
   * How to trust the server's TLS certificate, e.g. `{ fingerprints: ["5D:A8:…"] }` or
   * `{ ca: pemText }`. The default (`{}`) trusts nobody, so name a trust source; `false`
   * speaks the protocol in clear, only to a server run with `--no-tls`.
   */
  tls?: ServerTrust | false;
}

/**
 * What a finished transfer moved.
 *
 * @example
 * ```ts
 * import type { TransferResult } from "fileshare";
 *
 * function describe(r: TransferResult): string {
 *   const mbps = r.bytes / 1e6 / (r.ms / 1000);
 *   return `${r.bytes} bytes at ${mbps.toFixed(1)} MB/s, sha256 ${r.sha256}`;
 * }
 * ```
 */
export interface TransferResult {
  /** Body bytes moved. */
  bytes: number;
  /** Hex SHA-256 both ends agreed on. */
  sha256: string;
  /** Wall time of the transfer in ms, as the client measured it. */
  ms: number;
  /** Downloads: the file's modification time on the server. */
  mtime?: Date;
  /**
   * A resumed transfer: bytes that were already in place from an earlier attempt, verified by
   * SHA-256 before `bytes` more were moved (absent or 0: moved whole).
   */
  offset?: number;
}

/**
 * Options of uploads and downloads.
 *
 * @example Replace the remote file, show progress, give up after a minute
 * ```ts
 * import type { FileTransferOptions } from "fileshare";
 *
 * const options: FileTransferOptions = {
 *   overwrite: true,
 *   onProgress: (done) => console.log(`${done} bytes`),
 *   signal: AbortSignal.timeout(60_000),
 * };
 * ```
 */
export interface FileTransferOptions extends TransferOptions {
  /** Replace an existing destination. */
  overwrite?: boolean;
  /**
   * Downloads: fsync the local file before renaming it into place. Default false, as with
   * rsync and scp: the bytes are verified, and the OS writes them back in its own time.
   */
  fsync?: boolean;
  /** Downloads: called with the size once the server has announced it. */
  onSize?: (size: number) => void;
  /**
   * Carry the modification time (default true): an uploaded file keeps its local mtime on the
   * server (protocol version 2), a downloaded file gets the server's.
   */
  times?: boolean;
  /** Uploads: the modification time the stored file gets (`uploadFile` passes the file's). */
  mtime?: Date;
  /**
   * Continue an earlier, interrupted transfer: an upload after the bytes the server kept (the
   * source must be a `Deno.FsFile` of known size, as {@link FileshareClient.uploadFile}
   * opens; a stream cannot be resumed), a download after the partial file kept next to the
   * local target. The kept bytes are checked by SHA-256 against the other side's first bytes;
   * if they differ (the file changed), the transfer starts again from byte 0. The whole
   * file's SHA-256 is verified at the end, and the file gets its mtime as a whole transfer's.
   */
  resume?: boolean;
  /**
   * If the transfer is cut off (cancelled, connection lost), keep what arrived for a resume:
   * an upload's bytes on the server for its partial time (default 24 h), a download's in a
   * hidden file next to the target, which the thrown error names. Default: nothing is kept.
   * Nothing of an upload from a stream (size unknown) is kept.
   */
  keepPartial?: boolean;
}

/**
 * An account's usage as {@link FileshareClient.df} reports it.
 *
 * @example
 * ```ts
 * import type { AccountUsage } from "fileshare";
 *
 * function line(u: AccountUsage): string {
 *   return u.quota === null ? `${u.used} bytes used` : `${u.used} of ${u.quota} bytes used`;
 * }
 * console.log(line({ used: 10, quota: 100, free: 90, maxUpload: null }));
 * ```
 */
export interface AccountUsage {
  /** Bytes of the files under the account's root (its home, or the whole shared root). */
  used: number;
  /** The account's quota in bytes; null: none. */
  quota: number | null;
  /** Bytes the quota still allows; null without a quota. */
  free: number | null;
  /** The server's largest upload in bytes; null: no limit. */
  maxUpload: number | null;
}
