/**
 * The client library's connection: {@link FileshareClient}.
 * @module
 */
import { FrameConn } from "../protocol/conn.ts";
import { ConnectionError, FileshareError } from "../protocol/errors.ts";
import {
  benchMarkRequest,
  deleteRequest,
  dfRequest,
  type DirEntry,
  dirRequest,
  EAGER_MAX_BYTES,
  helloRequest,
  mkdirRequest,
  PROTOCOL_V2,
  renameRequest,
  type Request,
  rmdirRequest,
  uploadRequest,
} from "../protocol/messages.ts";
import {
  parseDfResponse,
  parseDirResponse,
  parseHelloResponse,
  parseOkResponse,
  parseReadyResponse,
  parseUploadResponse,
} from "../protocol/responses.ts";
import { type ByteSink, type ByteSource, sendBody, type TransferOptions } from "../transfer.ts";
import type { Hash } from "node:crypto";
import {
  answerOffer,
  downloadRequestFrom,
  isSeekable,
  receiveDownload,
  type SeekableSource,
} from "./_exchange.ts";
import { withAdvice } from "./advice.ts";
import { downloadToFile, type ResumeFrom } from "./download_file.ts";
import type {
  AccountUsage,
  ConnectOptions,
  FileTransferOptions,
  TransferResult,
} from "./options.ts";
import {
  type BatchOptions,
  type BatchOutcome,
  type DownloadJob,
  pipelineDownloads,
  pipelineUploads,
  type UploadJob,
} from "./pipeline.ts";
import { scramLogin, startScramLogin } from "./scram_login.ts";
import { startTicketLogin, ticketLogin } from "./ticket_login.ts";
import { connectVerified } from "../tls/connect_tls.ts";
import { NotTlsError, tlsRequiredMessage } from "../tls/fetch_certificate.ts";
import { serverKey } from "../tls/known_servers.ts";
import { connectTcp, hostPort } from "../connect_tcp.ts";
import { HEADER_BYTES } from "../protocol/frame.ts";
import { noAnswerMessage, notFileshareMessage, peerKind, probePeer } from "./peer_kind.ts";

/** How long connecting, the TLS handshake and the server's first answer may take by default. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Waits for the server's first bytes and checks that they start a fileshare message: anything
 * else (an HTTP answer, a TLS alert to a clear-text client, silence) is reported as what it
 * is, in one line that names the address.
 */
async function expectFileshare(
  conn: FrameConn,
  where: string,
  plain: boolean,
  ms: number,
): Promise<void> {
  let head: Uint8Array | null;
  try {
    head = await conn.peek(HEADER_BYTES);
  } catch (err) {
    if (err instanceof ConnectionError && err.code === "TIMEOUT") {
      throw new ConnectionError(noAnswerMessage(where, "fileshare greeting", ms), {
        cause: err,
        timeout: true,
      });
    }
    // A TLS server answers a clear-text greeting with a TLS alert or by hanging up.
    if (plain) throw new ConnectionError(tlsRequiredMessage(where), { cause: err });
    throw err;
  }
  const kind = head === null ? null : peerKind(head);
  if (kind === "fileshare") return;
  if (plain && (kind === "tls" || kind === null)) {
    throw new ConnectionError(tlsRequiredMessage(where));
  }
  throw new ConnectionError(notFileshareMessage(where, kind));
}

/**
 * A logged-in connection to a fileshare server. Calls are queued, one request at a time;
 * open several clients to transfer in parallel. Failures are thrown as
 * {@link FileshareError} (with the server's code), {@link AuthError} or
 * {@link ConnectionError}.
 *
 * @example Upload a photo, list its folder, download it again
 * ```ts
 * import { FileshareClient } from "fileshare";
 *
 * async function roundTrip(password: string): Promise<void> {
 *   await using client = await FileshareClient.connect({
 *     hostname: "127.0.0.1",
 *     port: 9000,
 *     user: "alice",
 *     password,
 *   });
 *   await client.mkdir("photos");
 *   await client.uploadFile("photo.jpg", "photos/photo.jpg", { overwrite: true });
 *   console.log(await client.list("photos"));
 *   await client.downloadFile("photos/photo.jpg", "copy.jpg");
 * }
 * ```
 */
export class FileshareClient implements AsyncDisposable {
  #conn: FrameConn;
  #user: string;
  #server: string;
  #readOnly: boolean;
  #version: number;
  #queue: Promise<unknown> = Promise.resolve();
  #pending = 0;

  private constructor(
    conn: FrameConn,
    user: string,
    server: string,
    readOnly: boolean,
    version: number,
  ) {
    this.#conn = conn;
    this.#user = user;
    this.#server = server;
    this.#readOnly = readOnly;
    this.#version = version;
  }

  /**
   * Connects, checks the protocol version and logs in with SCRAM-SHA-256; the server's
   * signature is verified too. Throws {@link ConnectionError} when the server cannot be
   * reached and {@link AuthError} for a wrong user name or password. A password function
   * (a prompt) is called once the server answered; when the server gave up on the login while
   * it waited (its login deadline, 30 s by default), this connects again with the password
   * it gave, instead of failing.
   *
   * @example
   * ```ts
   * import { AuthError, FileshareClient } from "fileshare";
   *
   * async function login(user: string, password: string): Promise<FileshareClient | null> {
   *   try {
   *     return await FileshareClient.connect({ hostname: "127.0.0.1", port: 9000, user, password });
   *   } catch (err) {
   *     if (err instanceof AuthError) return null;
   *     throw err;
   *   }
   * }
   * ```
   */
  static async connect(options: ConnectOptions): Promise<FileshareClient> {
    const ask = options.password;
    if (typeof ask !== "function") return await FileshareClient.#open(options);
    let given: string | undefined;
    try {
      return await FileshareClient.#open({
        ...options,
        password: async () => given ??= await ask(),
      });
    } catch (err) {
      if (given === undefined || !(err instanceof ConnectionError)) throw err;
      return await FileshareClient.#open({ ...options, password: given });
    }
  }

  /** One connection and login attempt. */
  static async #open(options: ConnectOptions): Promise<FileshareClient> {
    const timeoutMs = options.timeoutMs ?? 300_000;
    const handshakeMs = options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
    const where = hostPort(options.hostname, options.port);
    let raw: Deno.Conn;
    if (options.tls === false) {
      raw = await connectTcp(options.hostname, options.port, handshakeMs);
    } else {
      try {
        raw = await connectVerified({ ...options, timeoutMs: handshakeMs }, options.tls ?? {});
      } catch (err) {
        if (!(err instanceof NotTlsError)) throw err;
        // Not TLS: a fileshare server run with --no-tls, or not a fileshare server at all.
        const kind = await probePeer(options.hostname, options.port, handshakeMs);
        if (kind === "fileshare") throw err;
        throw new ConnectionError(notFileshareMessage(where, kind), { cause: err });
      }
    }
    // Until the server's first answer shows it is a fileshare server, wait only seconds.
    const conn = new FrameConn(raw, { timeoutMs: handshakeMs });
    try {
      const client = options.clientName ?? "fileshare-client";
      await conn.send(helloRequest(client, options.run || undefined));
      const key = serverKey(options.hostname, options.port);
      const tickets = options.tickets;
      const stored = tickets ? await tickets.get(key, options.user) : null;
      // The first login step goes right behind the hello: a ticket's, else SCRAM's.
      let first = stored ? null : await startScramLogin(conn, options.user, tickets !== undefined);
      const ticketNonce = stored ? await startTicketLogin(conn, stored) : null;
      await expectFileshare(conn, where, options.tls === false, handshakeMs);
      conn.timeoutMs = timeoutMs;
      const { version } = parseHelloResponse(await conn.expectMessage());
      let readOnly = stored && ticketNonce ? await ticketLogin(conn, ticketNonce, stored) : null;
      if (readOnly === null) {
        if (stored) {
          // Refused (expired, revoked, new password): the full login, on the same connection.
          await tickets!.delete(key, options.user);
          first = await startScramLogin(conn, options.user, true);
        }
        const password = typeof options.password === "function"
          ? await options.password()
          : options.password;
        const login = await scramLogin(conn, first!, password);
        readOnly = login.readOnly;
        if (login.ticket && tickets) await tickets.put(key, options.user, login.ticket);
      }
      conn.watchIdle();
      return new FileshareClient(
        conn,
        options.user,
        `${options.hostname}:${options.port}`,
        readOnly,
        version,
      );
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  /** The logged-in user. */
  get user(): string {
    return this.#user;
  }

  /** `host:port` of the server. */
  get server(): string {
    return this.#server;
  }

  /** Whether the account may only list and download. */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  /** The protocol version both ends speak (2: rename, streams of unknown length, mtimes). */
  get protocolVersion(): number {
    return this.#version;
  }

  /** Throws when the server is too old for `what`. */
  #requireV2(what: string): void {
    if (this.#version < PROTOCOL_V2) {
      throw new FileshareError(
        "VERSION",
        `${what} needs protocol version ${PROTOCOL_V2}; the server speaks ${this.#version} (update the server)`,
      );
    }
  }

  /**
   * Whether the connection is closed: after close(), a cancelled download, or when the server
   * hung up while the client was idle (its idle timeout); then connect again.
   */
  get closed(): boolean {
    return this.#conn.closed;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    this.#pending++;
    const run = this.#queue.then(fn, fn).finally(() => {
      // Between calls, notice at once when the server hangs up (its idle timeout), so that
      // `closed` tells a caller to reconnect before its next request fails.
      if (--this.#pending === 0) this.#conn.watchIdle();
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async #simple(request: Request): Promise<void> {
    await this.#conn.send(request);
    parseOkResponse(await this.#conn.expectMessage());
  }

  /**
   * Uploads `size` bytes from `source` to `remote`; with `size` null, everything the source
   * gives until it ends (stdin, a pipe: protocol version 2). The server writes a temporary file
   * and renames it into place only after the SHA-256 matched. A `Deno.FsFile` is a source;
   * {@link readableSource} makes one of a web stream. `options.mtime` sets the stored file's
   * modification time (protocol version 2; ignored by an older server).
   *
   * @example Upload bytes from memory
   * ```ts
   * import { type FileshareClient, readableSource } from "fileshare";
   *
   * async function save(client: FileshareClient, json: unknown): Promise<string> {
   *   const bytes = new TextEncoder().encode(JSON.stringify(json));
   *   const r = await client.upload(readableSource(ReadableStream.from([bytes])), bytes.length,
   *     "state.json", { overwrite: true });
   *   return r.sha256;
   * }
   * ```
   */
  upload(
    source: ByteSource,
    size: number | null,
    remote: string,
    options: FileTransferOptions = {},
  ): Promise<TransferResult> {
    return this.#serial(async () => {
      const started = performance.now();
      const resume = options.resume === true;
      if (resume && (size === null || !isSeekable(source))) {
        throw new TypeError(
          "A resumed upload needs a source of known size that can be read again (a Deno.FsFile)",
        );
      }
      if (size === null) this.#requireV2(`Uploading "${remote}" from a stream`);
      // Small bodies go out with the request; the server reads them even when it refuses.
      const eager = !resume && size !== null && size <= EAGER_MAX_BYTES;
      const mtime = this.#version >= PROTOCOL_V2 && options.times !== false
        ? options.mtime
        : undefined;
      await this.#conn.send(uploadRequest(remote, size, {
        overwrite: options.overwrite,
        eager,
        mtime,
        resume,
        // A stream cannot be sent again from where it stopped: nothing of it is kept.
        keepPartial: size !== null && options.keepPartial,
      }));
      let offset = 0;
      let prefix: Hash | undefined;
      if (!eager) {
        let ready;
        try {
          ready = parseReadyResponse(await this.#conn.expectMessage());
        } catch (err) {
          throw withAdvice("upload", await this.#uploadNotFound(remote, err));
        }
        if (resume) {
          ({ offset, prefix } = await answerOffer(
            this.#conn,
            source as SeekableSource,
            size!,
            ready,
          ));
        }
      }
      const progress = options.onProgress;
      let sent;
      try {
        sent = await sendBody(this.#conn, source, size === null ? null : size - offset, {
          ...options,
          onProgress: progress && ((done) => progress(offset + done)),
        }, prefix);
      } catch (err) {
        // The server answers an aborted body with an error; read it to stay in step.
        if (err instanceof FileshareError && !this.#conn.closed) {
          await this.#conn.expectMessage().catch(() => {});
        }
        throw err;
      }
      let reply;
      try {
        reply = parseUploadResponse(await this.#conn.expectMessage());
      } catch (err) {
        throw withAdvice("upload", await this.#uploadNotFound(remote, err));
      }
      if (reply.sha256 !== sent.sha256) {
        throw new FileshareError("INTEGRITY", `Server stored a different SHA-256 than was sent`);
      }
      const ms = performance.now() - started;
      return resume
        ? { bytes: sent.bytes, sha256: sent.sha256, ms, offset }
        : { bytes: sent.bytes, sha256: sent.sha256, ms };
    });
  }

  /**
   * Uploads a local file.
   *
   * @example
   * ```ts
   * import type { FileshareClient } from "fileshare";
   *
   * async function publish(client: FileshareClient): Promise<void> {
   *   await client.uploadFile("report.pdf", "docs/report.pdf", { overwrite: true });
   * }
   * ```
   */
  async uploadFile(
    local: string,
    remote: string,
    options: FileTransferOptions = {},
  ): Promise<TransferResult> {
    using file = await Deno.open(local, { read: true });
    const info = await file.stat();
    if (!info.isFile) throw new FileshareError("BAD_REQUEST", `"${local}" is not a file`);
    return await this.upload(file, info.size, remote, {
      ...options,
      mtime: options.mtime ?? info.mtime ?? undefined,
    });
  }

  /**
   * Downloads `remote` into the sink that `sink(size)` gives once the server announced the
   * size, verifying the SHA-256. When the signal fires the connection is closed (the server
   * cleans up) and this throws a {@link FileshareError} with code `CANCELLED`.
   *
   * @example Download into memory
   * ```ts
   * import type { FileshareClient } from "fileshare";
   *
   * async function fetchText(client: FileshareClient, remote: string): Promise<string> {
   *   const chunks: Uint8Array<ArrayBuffer>[] = [];
   *   await client.download(remote, () =>
   *     Promise.resolve({
   *       write: (p: Uint8Array) => {
   *         chunks.push(p.slice());
   *         return Promise.resolve(p.length);
   *       },
   *     }));
   *   return new TextDecoder().decode(await new Blob(chunks).arrayBuffer());
   * }
   * ```
   */
  download(
    remote: string,
    sink: (size: number) => Promise<ByteSink>,
    options: TransferOptions = {},
  ): Promise<TransferResult> {
    return this.#download(remote, (size) => sink(size), options);
  }

  /**
   * {@link download}, optionally continuing after bytes the caller has (`from`): the server
   * checks their SHA-256 and says where its body starts, which `sink` is told.
   */
  #download(
    remote: string,
    sink: (size: number, offset: number) => Promise<ByteSink>,
    options: TransferOptions,
    from?: ResumeFrom,
  ): Promise<TransferResult> {
    return this.#serial(async () => {
      const started = performance.now();
      const onAbort = () => this.#conn.close();
      options.signal?.addEventListener("abort", onAbort, { once: true });
      try {
        options.signal?.throwIfAborted();
        await this.#conn.send(downloadRequestFrom(remote, from));
        return await receiveDownload(this.#conn, sink, options, from, started);
      } catch (err) {
        if (options.signal?.aborted) {
          throw new FileshareError("CANCELLED", "Transfer cancelled", { cause: err });
        }
        throw err;
      } finally {
        options.signal?.removeEventListener("abort", onAbort);
      }
    });
  }

  /**
   * Downloads `remote` to the local path `local` through a temporary file in the same folder,
   * renamed into place only after the SHA-256 matched; never replaces a file unless
   * `overwrite`.
   *
   * @example
   * ```ts
   * import type { FileshareClient } from "fileshare";
   *
   * async function fetchReport(client: FileshareClient): Promise<void> {
   *   const r = await client.downloadFile("docs/report.pdf", "report.pdf", { overwrite: true });
   *   console.log(`${r.bytes} bytes, sha256 ${r.sha256}`);
   * }
   * ```
   */
  downloadFile(
    remote: string,
    local: string,
    options: FileTransferOptions = {},
  ): Promise<TransferResult> {
    return downloadToFile(
      (sink, from) => this.#download(remote, sink, options, from),
      remote,
      local,
      options,
    );
  }

  /**
   * Uploads many local files over this one connection, without a round trip per file: small
   * files go out several ahead of the server's answers (at most `options.window`, default 32).
   * Each file is verified and stored atomically as with {@link uploadFile}; one file's
   * failure is its outcome and the rest go on. Outcomes come in the order of `jobs`.
   *
   * @example
   * ```ts
   * import type { FileshareClient } from "fileshare";
   *
   * async function publish(client: FileshareClient, names: string[]): Promise<number> {
   *   const outcomes = await client.uploadFiles(
   *     names.map((name) => ({ local: name, remote: `site/${name}` })),
   *     { overwrite: true },
   *   );
   *   return outcomes.filter((o) => o.error !== undefined).length;
   * }
   * ```
   */
  uploadFiles(
    jobs: readonly UploadJob[],
    options: BatchOptions = {},
  ): Promise<BatchOutcome<UploadJob>[]> {
    return this.#serial(() =>
      this.#batch(() => pipelineUploads(this.#conn, jobs, options), options)
    );
  }

  /**
   * Downloads many remote files over this one connection, several requests ahead of the
   * answers. Each file is verified and written atomically as with {@link downloadFile}; one
   * file's failure is its outcome and the rest go on.
   *
   * @example
   * ```ts
   * import type { FileshareClient } from "fileshare";
   *
   * async function fetchAll(client: FileshareClient, folder: string): Promise<void> {
   *   const files = (await client.list(folder)).filter((e) => e.type === "file");
   *   await client.downloadFiles(files.map((e) => ({ remote: `${folder}/${e.name}`, local: e.name })));
   * }
   * ```
   */
  downloadFiles(
    jobs: readonly DownloadJob[],
    options: BatchOptions = {},
  ): Promise<BatchOutcome<DownloadJob>[]> {
    return this.#serial(() =>
      this.#batch(() => pipelineDownloads(this.#conn, jobs, options), options)
    );
  }

  /** Runs a batch; the signal closes the connection (the server cleans up), as for a download. */
  async #batch<T>(run: () => Promise<T>, options: BatchOptions): Promise<T> {
    const onAbort = () => this.#conn.close();
    options.signal?.throwIfAborted();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await run();
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Lists a remote folder (`""` for the root), sorted by name.
   *
   * @example
   * ```ts
   * import type { FileshareClient } from "fileshare";
   *
   * async function totalBytes(client: FileshareClient, folder: string): Promise<number> {
   *   const entries = await client.list(folder);
   *   return entries.filter((e) => e.type === "file").reduce((n, e) => n + e.size, 0);
   * }
   * ```
   */
  list(path = ""): Promise<DirEntry[]> {
    return this.#serial(() => this.#list(path));
  }

  async #list(path: string): Promise<DirEntry[]> {
    await this.#conn.send(dirRequest(path));
    const out: DirEntry[] = [];
    for (;;) {
      const page = parseDirResponse(await this.#conn.expectMessage());
      out.push(...page.entries);
      if (!page.more) return out;
    }
  }

  /**
   * What is missing on the way to `path`'s folder (`remote folder "a/b" not found (create it
   * with mkdir)`, or a file where a folder should be); null when its folder exists.
   */
  async #missingFolder(path: string): Promise<string | null> {
    const parts = path.split("/");
    // The deepest existing folder tells what is missing below it.
    for (let depth = parts.length - 2; depth >= 0; depth--) {
      const folder = parts.slice(0, depth).join("/");
      const entries = await this.#list(folder).catch(() => null);
      if (entries === null) continue;
      const name = parts[depth];
      const at = parts.slice(0, depth + 1).join("/");
      const entry = entries.find((e) => e.name === name);
      if (entry?.type === "dir") return null;
      return entry?.type === "file"
        ? `remote "${at}" is a file, not a folder`
        : `remote folder "${at}" not found (create it with mkdir)`;
    }
    return null;
  }

  /** Whether `path` names an existing remote file or folder. */
  async #exists(path: string): Promise<boolean> {
    const i = path.lastIndexOf("/");
    const entries = await this.#list(i < 0 ? "" : path.slice(0, i)).catch(() => null);
    return entries?.some((e) => e.name === path.slice(i + 1)) ?? false;
  }

  /**
   * Words an upload's NOT_FOUND, which can only be about the remote folder: says which folder
   * is missing (or is a file), so it does not read as if the local file were.
   */
  async #uploadNotFound(remote: string, err: unknown): Promise<unknown> {
    if (!(err instanceof FileshareError) || err.code !== "NOT_FOUND" || this.#conn.closed) {
      return err;
    }
    const what = await this.#missingFolder(remote);
    if (what === null) return err; // there after all: say what the server said
    return new FileshareError("NOT_FOUND", `Cannot upload "${remote}": ${what}`, { cause: err });
  }

  /**
   * Words a rename's NOT_FOUND, which may be about the source or about the target's folder:
   * says which, so "archive/" missing does not read as if the file to move were.
   */
  async #renameNotFound(from: string, to: string, err: unknown): Promise<unknown> {
    if (!(err instanceof FileshareError) || err.code !== "NOT_FOUND" || this.#conn.closed) {
      return err;
    }
    const head = `Cannot rename "${from}" to "${to}"`;
    if (!(await this.#exists(from))) {
      return new FileshareError("NOT_FOUND", `${head}: remote "${from}" not found`, { cause: err });
    }
    const what = await this.#missingFolder(to);
    if (what === null) return err;
    return new FileshareError("NOT_FOUND", `${head}: ${what}`, { cause: err });
  }

  /** Deletes a remote file. */
  async delete(path: string): Promise<void> {
    await this.#serial(() => this.#simple(deleteRequest(path))).catch((err) => {
      throw withAdvice("delete", err);
    });
  }

  /** Creates a remote folder and any missing parents. */
  async mkdir(path: string): Promise<void> {
    await this.#serial(() => this.#simple(mkdirRequest(path)));
  }

  /**
   * Removes a remote folder; with `recursive`, with everything in it. {@link mkdir} creates
   * one with its parents, {@link delete} removes a file.
   *
   * @example
   * ```ts
   * import type { FileshareClient } from "fileshare";
   *
   * async function scratch(client: FileshareClient): Promise<void> {
   *   await client.mkdir("tmp/2026/november");
   *   await client.delete("old.txt").catch(() => {});
   *   await client.rmdir("tmp", true);
   * }
   * ```
   */
  async rmdir(path: string, recursive = false): Promise<void> {
    await this.#serial(() => this.#simple(rmdirRequest(path, recursive))).catch((err) => {
      throw withAdvice("rmdir", err);
    });
  }

  /**
   * The account's usage: bytes under its root (its home folder, or the whole shared root),
   * its quota and what the quota leaves free (null: no quota), and the server's largest
   * upload (null: none).
   *
   * @example
   * ```ts
   * import type { FileshareClient } from "fileshare";
   *
   * async function fits(client: FileshareClient, bytes: number): Promise<boolean> {
   *   const { free, maxUpload } = await client.df();
   *   return (free === null || bytes <= free) && (maxUpload === null || bytes <= maxUpload);
   * }
   * ```
   */
  df(): Promise<AccountUsage> {
    return this.#serial(async () => {
      await this.#conn.send(dfRequest());
      const { status: _, ...usage } = parseDfResponse(await this.#conn.expectMessage());
      return usage;
    });
  }

  /**
   * Renames or moves a remote file or folder (protocol version 2), atomically on a disk
   * store. Refuses to replace an existing file unless `overwrite`, and never replaces a
   * folder.
   *
   * @example
   * ```ts
   * import type { FileshareClient } from "fileshare";
   *
   * async function archive(client: FileshareClient): Promise<void> {
   *   await client.mkdir("archive").catch(() => {});
   *   await client.rename("report.pdf", "archive/report-2026.pdf");
   * }
   * ```
   */
  async rename(from: string, to: string, options: { overwrite?: boolean } = {}): Promise<void> {
    await this.#serial(async () => {
      this.#requireV2("Rename");
      try {
        await this.#simple(renameRequest(from, to, options.overwrite ?? false));
      } catch (err) {
        throw await this.#renameNotFound(from, to, err);
      }
    }).catch((err) => {
      throw withAdvice("rename", err);
    });
  }

  /** Records the start or end of a load-test run in the server's log. */
  async benchMark(
    phase: "start" | "end",
    run: string,
    stats: Record<string, number | string>,
  ): Promise<void> {
    await this.#serial(() => this.#simple(benchMarkRequest(phase, run, stats)));
  }

  /** Closes the connection. */
  close(): void {
    this.#conn.close();
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
