/**
 * What the client library's calls take and give: how to connect, transfer options and a
 * transfer's result.
 * @module
 */
import type { TransferOptions } from "../transfer.ts";

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
  /** The user's password; it never crosses the wire (SCRAM-SHA-256). */
  password: string;
  /** Id of a load-test run, recorded in the server's log. */
  run?: string;
  /** Give up on a read or write that waits this long (ms); default 300 s, 0 never. */
  timeoutMs?: number;
  /** Name and version sent in the handshake (default `fileshare-client`). */
  clientName?: string;
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
}
