import { createHash } from "node:crypto";
import { FrameConn } from "../protocol/conn.ts";
import { ConnectionError, FileshareError, ProtocolError } from "../protocol/errors.ts";
import {
  asErrorResponse,
  type DirEntry,
  EAGER_MAX_BYTES,
  PROTOCOL_NAME,
  PROTOCOL_VERSIONS,
} from "../protocol/messages.ts";
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
import denoConfig from "../../deno.json" with { type: "json" };

/** How to reach and log in to a server. */
export interface ConnectOptions {
  hostname: string;
  port: number;
  user: string;
  password: string;
  /** Id of a load-test run, recorded in the server's log. */
  run?: string;
  /** Give up on a read or write that waits this long (ms); default 300 s, 0 never. */
  timeoutMs?: number;
}

/** What a finished transfer moved. */
export interface TransferResult {
  /** Body bytes moved. */
  bytes: number;
  /** Hex SHA-256 both ends agreed on. */
  sha256: string;
  /** Wall time of the transfer in ms, as the client measured it. */
  ms: number;
}

/** Options of uploads and downloads. */
export interface FileTransferOptions extends TransferOptions {
  /** Replace an existing destination. */
  overwrite?: boolean;
  /** Downloads: fsync the local file before renaming it into place (default true). */
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

function throwIfError(msg: Record<string, unknown>): void {
  const err = asErrorResponse(msg);
  if (err) throw new FileshareError(err.code, err.message);
}

function expectStatus(msg: Record<string, unknown>, status: string): void {
  throwIfError(msg);
  if (msg.status !== status) {
    throw new ProtocolError(
      `Expected "${status}" from the server, got ${JSON.stringify(msg.status)}`,
    );
  }
}

function isDirEntry(v: unknown): v is DirEntry {
  const e = v as DirEntry;
  return typeof e === "object" && e !== null && typeof e.name === "string" &&
    (e.type === "file" || e.type === "dir") && Number.isSafeInteger(e.size) &&
    typeof e.mtime === "string";
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
 * A logged-in connection to a fileshare server. Calls are queued, one request at a time.
 *
 * @example
 * ```ts
 * await using client = await FileshareClient.connect({
 *   hostname: "127.0.0.1", port: 9000, user: "alice", password: "secret",
 * });
 * await client.uploadFile("photo.jpg", "photos/photo.jpg");
 * console.log(await client.list("photos"));
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

  /** Connects, checks the protocol version and logs in with SCRAM-SHA-256. */
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
      const hello: Record<string, unknown> = {
        op: "hello",
        protocol: PROTOCOL_NAME,
        versions: [...PROTOCOL_VERSIONS],
        client: `fileshare-client/${denoConfig.version}`,
      };
      if (options.run) hello.run = options.run;
      await conn.send(hello);
      const welcome = await conn.expectMessage();
      expectStatus(welcome, "ok");
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
    await conn.send({ op: "auth_start", mechanism: "SCRAM-SHA-256", message: first.message });
    const reply = await conn.expectMessage();
    expectStatus(reply, "continue");
    if (typeof reply.message !== "string") throw new ProtocolError("Server sent no SCRAM message");
    try {
      const server = parseServerFirst(reply.message, first.nonce);
      const key = cacheKey(password, server.salt, server.iterations);
      let salted = saltedCache.get(key);
      if (!salted) {
        salted = await saltedPassword(password, server.salt, server.iterations);
        saltedCache.set(key, salted);
      }
      const final = clientFinal(first, server, salted);
      await conn.send({ op: "auth_final", message: final.message });
      const done = await conn.expectMessage();
      expectStatus(done, "ok");
      if (typeof done.message !== "string") throw new ProtocolError("Server sent no signature");
      verifyServerFinal(done.message, final);
      return done.readOnly === true;
    } catch (err) {
      if (err instanceof ScramError) {
        throw new ProtocolError(`Login failed: ${err.message}`, "AUTH_FAILED");
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

  async #simple(message: Record<string, unknown>): Promise<Record<string, unknown>> {
    await this.#conn.send(message);
    const reply = await this.#conn.expectMessage();
    expectStatus(reply, "ok");
    return reply;
  }

  /**
   * Uploads `size` bytes from `source` to `remote`. The server writes a temporary file and
   * renames it into place only after the SHA-256 matched.
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
      await this.#conn.send({
        op: "upload",
        path: remote,
        size,
        overwrite: options.overwrite ?? false,
        eager,
      });
      if (!eager) expectStatus(await this.#conn.expectMessage(), "ready");
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
      const reply = await this.#conn.expectMessage();
      expectStatus(reply, "ok");
      if (reply.sha256 !== sent.sha256) {
        throw new FileshareError("INTEGRITY", `Server stored a different SHA-256 than was sent`);
      }
      return { bytes: sent.bytes, sha256: sent.sha256, ms: performance.now() - started };
    });
  }

  /** Uploads a local file. */
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
   * Downloads `remote` into `sink`, verifying the SHA-256; returns the size too. When the
   * signal fires the connection is closed (the server cleans up) and this throws CANCELLED.
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
        await this.#conn.send({ op: "download", path: remote });
        const reply = await this.#conn.expectMessage();
        expectStatus(reply, "ok");
        const size = reply.size;
        if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
          throw new ProtocolError("Server sent no valid size");
        }
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
      if (options.fsync ?? true) await sink.sync();
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

  /** Lists a remote folder (`""` for the root). */
  list(path = ""): Promise<DirEntry[]> {
    return this.#serial(async () => {
      await this.#conn.send({ op: "dir", path });
      const out: DirEntry[] = [];
      for (;;) {
        const reply = await this.#conn.expectMessage();
        expectStatus(reply, "ok");
        if (!Array.isArray(reply.entries) || !reply.entries.every(isDirEntry)) {
          throw new ProtocolError("Server sent a malformed listing");
        }
        out.push(...reply.entries);
        if (reply.more !== true) return out;
      }
    });
  }

  /** Deletes a remote file. */
  async delete(path: string): Promise<void> {
    await this.#serial(() => this.#simple({ op: "delete", path }));
  }

  /** Creates a remote folder and any missing parents. */
  async mkdir(path: string): Promise<void> {
    await this.#serial(() => this.#simple({ op: "mkdir", path }));
  }

  /** Removes a remote folder; with `recursive`, with everything in it. */
  async rmdir(path: string, recursive = false): Promise<void> {
    await this.#serial(() => this.#simple({ op: "rmdir", path, recursive }));
  }

  /** Records the start or end of a load-test run in the server's log. */
  async benchMark(
    phase: "start" | "end",
    run: string,
    stats: Record<string, number | string>,
  ): Promise<void> {
    await this.#serial(() => this.#simple({ op: "bench_mark", phase, run, stats }));
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
