import { createHash } from "node:crypto";
import { FrameConn } from "../protocol/conn.ts";
import { AuthError, ConnectionError, FileshareError } from "../protocol/errors.ts";
import { withAdvice } from "./advice.ts";
import {
  authFinalRequest,
  authStartRequest,
  benchMarkRequest,
  deleteRequest,
  type DirEntry,
  dirRequest,
  downloadRequest,
  EAGER_MAX_BYTES,
  helloRequest,
  mkdirRequest,
  type Request,
  rmdirRequest,
  uploadRequest,
} from "../protocol/messages.ts";
import {
  parseAuthContinueResponse,
  parseAuthOkResponse,
  parseDirResponse,
  parseDownloadResponse,
  parseHelloResponse,
  parseOkResponse,
  parseReadyResponse,
  parseUploadResponse,
} from "../protocol/responses.ts";
import {
  b64,
  clientFinal,
  clientFirst,
  parseServerFirst,
  saltedPassword,
  ScramError,
  verifyServerFinal,
} from "../auth/scram.ts";
import { type ByteSource, receiveBody, sendBody, type TransferOptions } from "../transfer.ts";

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

// SaltedPassword is the expensive PBKDF2 step; a client computes it once per password, salt and
// iteration count and reuses it for later connections (load tests open many).
const saltedCache = new Map<string, Uint8Array>();

function cacheKey(password: string, salt: Uint8Array, iterations: number): string {
  const h = createHash("sha256").update(password).digest("hex");
  return `${h}:${b64(salt)}:${iterations}`;
}

function randomSuffix(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(6)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

function splitLocal(path: string): { dir: string; base: string } {
  const i = Math.max(
    path.lastIndexOf("/"),
    Deno.build.os === "windows" ? path.lastIndexOf("\\") : -1,
  );
  return i < 0
    ? { dir: ".", base: path }
    : { dir: path.slice(0, i) || "/", base: path.slice(i + 1) };
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
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(conn: FrameConn, user: string, server: string, readOnly: boolean) {
    this.#conn = conn;
    this.#user = user;
    this.#server = server;
    this.#readOnly = readOnly;
  }

  /**
   * Connects, checks the protocol version and logs in with SCRAM-SHA-256; the server's
   * signature is verified too. Throws {@link ConnectionError} when the server cannot be
   * reached and {@link AuthError} for a wrong user name or password.
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
    let raw: Deno.TcpConn;
    try {
      raw = await Deno.connect({ hostname: options.hostname, port: options.port });
    } catch (err) {
      throw new ConnectionError(
        `Cannot connect to ${options.hostname}:${options.port}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const conn = new FrameConn(raw, { timeoutMs: options.timeoutMs ?? 300_000 });
    try {
      const client = options.clientName ?? "fileshare-client";
      await conn.send(helloRequest(client, options.run || undefined));
      parseHelloResponse(await conn.expectMessage());
      const readOnly = await FileshareClient.#login(conn, options.user, options.password);
      return new FileshareClient(
        conn,
        options.user,
        `${options.hostname}:${options.port}`,
        readOnly,
      );
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  static async #login(conn: FrameConn, user: string, password: string): Promise<boolean> {
    const first = clientFirst(user);
    await conn.send(authStartRequest(first.message));
    const reply = parseAuthContinueResponse(await conn.expectMessage());
    try {
      const server = parseServerFirst(reply.message, first.nonce);
      const key = cacheKey(password, server.salt, server.iterations);
      let salted = saltedCache.get(key);
      if (!salted) {
        salted = await saltedPassword(password, server.salt, server.iterations);
        saltedCache.set(key, salted);
      }
      const final = clientFinal(first, server, salted);
      await conn.send(authFinalRequest(final.message));
      const done = parseAuthOkResponse(await conn.expectMessage());
      verifyServerFinal(done.message, final);
      return done.readOnly;
    } catch (err) {
      if (err instanceof ScramError) {
        throw new AuthError(`Login failed: ${err.message}`, { cause: err });
      }
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

  /** Whether the connection is closed (after close() or a cancelled download). */
  get closed(): boolean {
    return this.#conn.closed;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #simple(request: Request): Promise<void> {
    await this.#conn.send(request);
    parseOkResponse(await this.#conn.expectMessage());
  }

  /**
   * Uploads `size` bytes from `source` to `remote`. The server writes a temporary file and
   * renames it into place only after the SHA-256 matched. A `Deno.FsFile` is a source;
   * {@link readableSource} makes one of a web stream.
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
    size: number,
    remote: string,
    options: FileTransferOptions = {},
  ): Promise<TransferResult> {
    return this.#serial(async () => {
      const started = performance.now();
      // Small bodies go out with the request; the server reads them even when it refuses.
      const eager = size <= EAGER_MAX_BYTES;
      await this.#conn.send(uploadRequest(remote, size, { overwrite: options.overwrite, eager }));
      if (!eager) {
        try {
          parseReadyResponse(await this.#conn.expectMessage());
        } catch (err) {
          throw withAdvice("upload", err);
        }
      }
      let sent;
      try {
        sent = await sendBody(this.#conn, source, size, options);
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
        throw withAdvice("upload", err);
      }
      if (reply.sha256 !== sent.sha256) {
        throw new FileshareError("INTEGRITY", `Server stored a different SHA-256 than was sent`);
      }
      return { bytes: sent.bytes, sha256: sent.sha256, ms: performance.now() - started };
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
    return await this.upload(file, info.size, remote, options);
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
    sink: (size: number) => Promise<import("../transfer.ts").ByteSink>,
    options: TransferOptions = {},
  ): Promise<TransferResult> {
    return this.#serial(async () => {
      const started = performance.now();
      const onAbort = () => this.#conn.close();
      options.signal?.addEventListener("abort", onAbort, { once: true });
      try {
        options.signal?.throwIfAborted();
        await this.#conn.send(downloadRequest(remote));
        const { size } = parseDownloadResponse(await this.#conn.expectMessage());
        const body = await receiveBody(this.#conn, size, await sink(size), options);
        return { bytes: body.bytes, sha256: body.sha256, ms: performance.now() - started };
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
  async downloadFile(
    remote: string,
    local: string,
    options: FileTransferOptions = {},
  ): Promise<TransferResult> {
    const what = `Cannot download "${remote}"`;
    if (!options.overwrite) {
      const exists = await Deno.lstat(local).then(() => true, () => false);
      if (exists) {
        throw new FileshareError(
          "EXISTS",
          `${what}: local file "${local}" exists (use --overwrite)`,
        );
      }
    }
    const { dir, base } = splitLocal(local);
    // At most 40 characters (160 bytes) of the name, so the temporary name fits NAME_MAX (255).
    const short = Array.from(base).slice(0, 40).join("");
    const temp = `${dir}/.${short}.fileshare-part-${randomSuffix()}`;
    // The temporary file is created before the request, so a local problem (missing folder,
    // no permission) is reported without leaving a body half-read on the connection.
    let file: Deno.FsFile | null = await Deno.open(temp, {
      write: true,
      createNew: true,
      mode: 0o644,
    }).catch((err) => {
      throw new FileshareError("BAD_REQUEST", `${what}: cannot write "${local}": ${err.message}`);
    });
    try {
      const sink = file;
      const result = await this.download(remote, (size) => {
        options.onSize?.(size);
        return Promise.resolve(sink);
      }, options);
      if (options.fsync) await sink.sync();
      sink.close();
      file = null;
      if (options.overwrite) {
        await Deno.rename(temp, local);
      } else {
        try {
          await Deno.link(temp, local);
        } catch (err) {
          if (err instanceof Deno.errors.AlreadyExists) {
            throw new FileshareError(
              "EXISTS",
              `${what}: local file "${local}" exists (use --overwrite)`,
            );
          }
          throw err;
        }
        await Deno.remove(temp);
      }
      return result;
    } finally {
      try {
        file?.close();
      } catch {
        // already closed
      }
      await Deno.remove(temp).catch(() => {});
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
    return this.#serial(async () => {
      await this.#conn.send(dirRequest(path));
      const out: DirEntry[] = [];
      for (;;) {
        const page = parseDirResponse(await this.#conn.expectMessage());
        out.push(...page.entries);
        if (!page.more) return out;
      }
    });
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
