import {
  decodeHeader,
  decodeMessage,
  encodeMessage,
  FRAME_MSG,
  FrameError,
  type FrameHeader,
  HEADER_BYTES,
  MAX_MSG_BYTES,
  writeDataHeader,
} from "./frame.ts";
import { ConnectionError, ProtocolError } from "./errors.ts";

/** Options of a {@link FrameConn}. */
export interface FrameConnOptions {
  /** Close the connection when a single read or write waits longer than this (0: never). */
  timeoutMs?: number;
}

const INITIAL_BUFFER = 8 * 1024;
/** Most bytes a corked connection holds back before writing them. */
const CORK_BYTES = 64 * 1024;

/**
 * Owns one `Deno.Conn` and reads and writes frames on it. Reads are buffered in a small
 * buffer that grows only to the largest message (64 KiB); DATA bodies are read straight into
 * the caller's buffer, so a transfer needs no per-chunk allocation or copy.
 */
export class FrameConn implements AsyncDisposable {
  #conn: Deno.Conn;
  #buf = new Uint8Array(INITIAL_BUFFER);
  #start = 0;
  #end = 0;
  #timeoutMs: number;
  #closed = false;
  #timedOut = false;
  #corked: Uint8Array[] | null = null;
  #corkedBytes = 0;

  /** Wraps an open connection. */
  constructor(conn: Deno.Conn, options: FrameConnOptions = {}) {
    this.#conn = conn;
    this.#timeoutMs = options.timeoutMs ?? 0;
    if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
  }

  /** The remote address as `ip:port`. */
  get remote(): string {
    const a = this.#conn.remoteAddr as Deno.NetAddr;
    return a.hostname?.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
  }

  /** Whether {@link close} was called or the connection failed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Changes the per-operation timeout (0 disables it). */
  set timeoutMs(ms: number) {
    this.#timeoutMs = ms;
  }

  async #guard<T>(op: Promise<T>): Promise<T> {
    if (this.#timeoutMs <= 0) return await this.#wrapErrors(op);
    const timer = setTimeout(() => {
      this.#timedOut = true;
      this.close();
    }, this.#timeoutMs);
    try {
      return await this.#wrapErrors(op);
    } finally {
      clearTimeout(timer);
    }
  }

  async #wrapErrors<T>(op: Promise<T>): Promise<T> {
    try {
      return await op;
    } catch (err) {
      if (this.#timedOut) {
        throw new ConnectionError(`No data for ${this.#timeoutMs / 1000} s, connection closed`, {
          cause: err,
          timeout: true,
        });
      }
      if (
        err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted ||
        err instanceof Deno.errors.ConnectionReset || err instanceof Deno.errors.BrokenPipe ||
        err instanceof Deno.errors.ConnectionAborted || err instanceof Deno.errors.NotConnected ||
        err instanceof Deno.errors.UnexpectedEof
      ) {
        // The socket is dead but its descriptor is still open: release it now, or every reset
        // connection would leak one.
        this.close();
        throw new ConnectionError("Connection closed by peer", { cause: err });
      }
      if (err instanceof Deno.errors.InvalidData) {
        // TLS failed: a peer speaking clear text to a TLS end, or a certificate refused.
        this.close();
        throw new ConnectionError(`TLS failed: ${err.message}`, { cause: err });
      }
      throw err;
    }
  }

  /** Reads from the socket into `target`; null at end of stream. */
  async #read(target: Uint8Array): Promise<number | null> {
    if (this.#closed) throw new ConnectionError("Connection is closed");
    // Never wait for the peer while holding back what it may be waiting for.
    await this.flush();
    return await this.#guard(this.#conn.read(target));
  }

  /**
   * Holds back small writes until {@link uncork}, the next read, or 64 KiB, and then writes
   * them at once. A TLS connection accepted by the runtime's listener cannot turn off Nagle's
   * algorithm, so a response written in pieces (header, small body, trailer) would wait for the
   * peer's delayed ACK (40 ms) after its first piece; written at once it goes out together.
   */
  cork(): void {
    this.#corked ??= [];
  }

  /** Writes what {@link cork} held back and stops holding writes back. */
  async uncork(): Promise<void> {
    await this.flush();
    this.#corked = null;
  }

  /** Writes what {@link cork} held back so far (it stays corked). */
  async flush(): Promise<void> {
    if (!this.#corked || this.#corked.length === 0) return;
    const parts = this.#corked;
    this.#corked = [];
    const all = new Uint8Array(this.#corkedBytes);
    this.#corkedBytes = 0;
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.length;
    }
    await this.#writeNow(all);
  }

  /** Ensures `n` bytes are buffered (n <= buffer capacity after growth); false at clean EOF. */
  async #fill(n: number): Promise<boolean> {
    if (this.#end - this.#start >= n) return true;
    if (this.#buf.length < n) {
      const bigger = new Uint8Array(Math.max(n, this.#buf.length * 2));
      bigger.set(this.#buf.subarray(this.#start, this.#end));
      this.#end -= this.#start;
      this.#start = 0;
      this.#buf = bigger;
    } else if (this.#buf.length - this.#start < n) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    while (this.#end - this.#start < n) {
      const got = await this.#read(this.#buf.subarray(this.#end));
      if (got === null) {
        if (this.#end === this.#start) return false;
        throw new ConnectionError(
          `Connection closed in the middle of a frame (${this.#end - this.#start} of ${n} bytes)`,
        );
      }
      this.#end += got;
    }
    return true;
  }

  /** Reads the next frame header; null when the peer closed cleanly between frames. */
  async readHeader(): Promise<FrameHeader | null> {
    if (!(await this.#fill(HEADER_BYTES))) return null;
    let header: FrameHeader;
    try {
      header = decodeHeader(this.#buf.subarray(this.#start, this.#start + HEADER_BYTES));
    } catch (err) {
      throw new ProtocolError((err as Error).message, "BAD_REQUEST", { cause: err });
    }
    this.#start += HEADER_BYTES;
    return header;
  }

  /** Reads a MSG body of `length` bytes that follows a header. */
  async readMessageBody(length: number): Promise<Record<string, unknown>> {
    if (length > MAX_MSG_BYTES) throw new ProtocolError(`Message of ${length} bytes is too long`);
    if (!(await this.#fill(length)) && length > 0) {
      throw new ConnectionError("Connection closed before the message body");
    }
    const body = this.#buf.subarray(this.#start, this.#start + length);
    this.#start += length;
    try {
      return decodeMessage(body);
    } catch (err) {
      if (err instanceof FrameError) {
        throw new ProtocolError(err.message, "BAD_REQUEST", { cause: err });
      }
      throw err;
    }
  }

  /** Reads a whole MSG frame; null on clean EOF; throws ProtocolError on a DATA frame. */
  async readMessage(): Promise<Record<string, unknown> | null> {
    const header = await this.readHeader();
    if (header === null) return null;
    if (header.type !== FRAME_MSG) {
      throw new ProtocolError("Unexpected data frame where a message was expected");
    }
    return await this.readMessageBody(header.length);
  }

  /** Reads a MSG frame and fails if the peer closed instead. */
  async expectMessage(): Promise<Record<string, unknown>> {
    const msg = await this.readMessage();
    if (msg === null) throw new ConnectionError("Connection closed by peer");
    return msg;
  }

  /** Reads exactly `target.length` body bytes of a DATA frame into `target`. */
  async readDataBody(target: Uint8Array): Promise<void> {
    const buffered = Math.min(this.#end - this.#start, target.length);
    target.set(this.#buf.subarray(this.#start, this.#start + buffered));
    this.#start += buffered;
    let off = buffered;
    while (off < target.length) {
      const got = await this.#read(target.subarray(off));
      if (got === null) {
        throw new ConnectionError(
          `Connection closed in the middle of a data frame (${off} of ${target.length} bytes)`,
        );
      }
      off += got;
    }
  }

  /** Writes all of `bytes` (a corked connection may hold them back; they are copied then). */
  async writeAll(bytes: Uint8Array): Promise<void> {
    if (this.#corked) {
      if (this.#corkedBytes + bytes.length > CORK_BYTES) await this.flush();
      if (bytes.length <= CORK_BYTES) {
        this.#corked.push(bytes.slice());
        this.#corkedBytes += bytes.length;
        return;
      }
    }
    await this.#writeNow(bytes);
  }

  async #writeNow(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) {
      if (this.#closed) throw new ConnectionError("Connection is closed");
      off += await this.#guard(this.#conn.write(bytes.subarray(off)));
    }
  }

  /** Sends one JSON message. */
  async send(message: object): Promise<void> {
    await this.writeAll(encodeMessage(message));
  }

  /**
   * Sends a DATA frame whose body is `frame[HEADER_BYTES..]`: the caller reserved the first
   * five bytes of its buffer, so header and body go out in one write without a copy.
   */
  async sendDataFrame(frame: Uint8Array): Promise<void> {
    await this.writeAll(writeDataHeader(frame));
  }

  /** Closes the connection; safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed by the runtime
    }
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
