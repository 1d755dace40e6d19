/**
 * The fileshare client library: connect to a fileshare server, log in with SCRAM-SHA-256,
 * upload and download files and streams (every transfer SHA-256 verified, nothing ever
 * half-written), list, delete, and create or remove folders, from any Deno program.
 *
 * This module exports the library only. The `client` command line tool, its interactive
 * shell and its load test are built on it but are not part of it.
 *
 * @example Back up a file and list the folder
 * ```ts
 * import { FileshareClient, FileshareError } from "fileshare";
 *
 * async function backup(password: string): Promise<void> {
 *   await using client = await FileshareClient.connect({
 *     hostname: "127.0.0.1",
 *     port: 9000,
 *     user: "alice",
 *     password,
 *   });
 *   await client.mkdir("backups");
 *   try {
 *     const r = await client.uploadFile("notes.txt", "backups/notes.txt");
 *     console.log(`uploaded ${r.bytes} bytes in ${r.ms.toFixed(0)} ms, sha256 ${r.sha256}`);
 *   } catch (err) {
 *     if (!(err instanceof FileshareError && err.code === "EXISTS")) throw err;
 *   }
 *   for (const entry of await client.list("backups")) {
 *     console.log(entry.type, entry.size, entry.name);
 *   }
 * }
 * ```
 * @module
 */
export { FileshareClient } from "./lib/client/client.ts";
export type {
  AccountUsage,
  ConnectOptions,
  FileTransferOptions,
  TransferResult,
} from "./lib/client/options.ts";
export type { BatchOptions, BatchOutcome, DownloadJob, UploadJob } from "./lib/client/pipeline.ts";
export { readableSource, type StreamSink, writableSink } from "./lib/client/web_streams.ts";
export { FileTicketStore, type StoredTicket, type TicketStore } from "./lib/client/ticket_store.ts";
export type { ByteSink, ByteSource, TransferOptions } from "./lib/transfer.ts";
export type { DirEntry } from "./lib/protocol/messages.ts";
export {
  AuthError,
  ConnectionError,
  FileshareError,
  PathError,
  ProtocolError,
} from "./lib/protocol/errors.ts";
export {
  ERROR_CODES,
  ERROR_REASONS,
  type ErrorCode,
  type ErrorReason,
} from "./lib/protocol/codes.ts";
export { type ServerTrust, ServerTrustError, type TrustQuestion } from "./lib/tls/trust.ts";
export {
  defaultKnownServersPath,
  type KnownServer,
  KnownServers,
} from "./lib/tls/known_servers.ts";
export type { CertificateInfo } from "./lib/tls/x509.ts";
export { parseFingerprint } from "./lib/tls/fingerprint.ts";
