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
  /**
   * Slowest peer tolerated once a frame has begun or a transfer is running, in bytes per
   * second (0: no minimum). Each byte moved earns `1000 / minBytesPerSecond` ms of waiting,
   * saved up to {@link FrameConnOptions.stallMs}; a peer that waits longer than it earned is
   * cut off.
   */
  minBytesPerSecond?: number;
  /** Longest stall inside a frame or a transfer, in ms (default 60 s). */
  stallMs?: number;
  /** Called once, right after the connection is closed (by any path). */
  onClose?: () => void;
}

const INITIAL_BUFFER = 1024;
/** Buffer of the read that {@link FrameConn.watchIdle} keeps open. */
const IDLE_READ_BYTES = 16 * 1024;

/** How the idle read ended: the bytes it got (null at end of stream), or its error. */
type IdleOutcome = { bytes: Uint8Array | null } | { error: unknown };
/** Most bytes a corked connection holds back before writing them. */
const CORK_BYTES = 64 * 1024;

/**
 * Owns one `Deno.Conn` and reads and writes frames on it. Reads are buffered in a small
 * buffer that grows only to the largest message (64 KiB); DATA bodies are read straight into
 * the caller's buffer, so a transfer needs no per-chunk allocation or copy.
 *
 * Three clocks guard the peer: an idle timeout per read or write; a minimum data rate once a
 * frame has begun or while a transfer runs (so one byte every few seconds does not keep a
 * connection forever); and an optional absolute deadline ({@link setDeadline}), which the
 * server uses for handshake plus login.
 */
export class FrameConn implements AsyncDisposable {
  #conn: Deno.Conn;
  #buf = new Uint8Array(INITIAL_BUFFER);
  #start = 0;
  #end = 0;
  #timeoutMs: number;
  #minRate: number;
  #stallMs: number;
  /** Waiting time (ms) the peer has earned within the current frame or transfer. */
  #budgetMs: number;
  #transfer = false;
  #closed = false;
  /** Why a clock closed the connection; null while none did. */
  #timeout: string | null = null;
  #deadline: ReturnType<typeof setTimeout> | undefined;
  #corked: Uint8Array[] | null = null;
  #corkedBytes = 0;
  /** The last write asked for; the next one starts after it. */
  #writing: Promise<void> = Promise.resolve();
  #onClose: (() => void) | undefined;
  /** A read started by {@link watchIdle}, not yet consumed by a caller's read. */
  #idleRead: Promise<IdleOutcome> | null = null;
  /** Whether nothing was read or written since {@link watchIdle} started its read. */
  #idle = false;
  /** Bytes the idle read got that no caller has read yet. */
  #spill: Uint8Array | null = null;

  /** Wraps an open connection. */
  constructor(conn: Deno.Conn, options: FrameConnOptions = {}) {
    this.#conn = conn;
    this.#timeoutMs = options.timeoutMs ?? 0;
    this.#minRate = options.minBytesPerSecond ?? 0;
    this.#stallMs = options.stallMs ?? 60_000;
    this.#onClose = options.onClose;
    this.#budgetMs = this.#stallMs;
    if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
  }

  /** The remote address as `ip:port`. */
  get remote(): string {
    const a = this.#conn.remoteAddr as Deno.NetAddr;
    return a.hostname?.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
  }

  /** The remote IP address without the port. */
  get remoteAddress(): string {
    return (this.#conn.remoteAddr as Deno.NetAddr).hostname ?? "";
  }

  /** Whether {@link close} was called or the connection failed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Changes the per-operation timeout (0 disables it). */
  set timeoutMs(ms: number) {
    this.#timeoutMs = ms;
  }

  /**
   * Closes the connection `ms` from now with a TIMEOUT that says `reason`, whatever the peer
   * sends meanwhile; 0 removes the deadline.
   */
  setDeadline(ms: number, reason = `Deadline of ${ms / 1000} s passed`): void {
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
    if (ms > 0 && !this.#closed) {
      this.#deadline = setTimeout(() => this.expire(reason), ms);
    }
  }

  /**
   * Starts a body transfer: until {@link endTransfer} every read and write counts against the
   * minimum data rate, also between frames.
   */
  beginTransfer(): void {
    this.#transfer = true;
    this.#budgetMs = this.#stallMs;
  }

  /** Ends what {@link beginTransfer} started. */
  endTransfer(): void {
    this.#transfer = false;
  }

  /**
   * Closes the connection so that every pending and later read or write fails with a
   * TIMEOUT that says `reason` (a deadline passed, or the server needs the place).
   */
  expire(reason: string): void {
    this.#timeout ??= reason;
    this.close();
  }

  #timeoutError(cause?: unknown): ConnectionError {
    return new ConnectionError(this.#timeout!, { cause, timeout: true });
  }

  /**
   * Runs one socket operation under the idle timeout and, when `rated`, the data-rate budget;
   * `moved` tells how many bytes the result carried.
   */
  async #guard<T>(op: Promise<T>, rated: boolean, moved: (result: T) => number): Promise<T> {
    const rate = rated && this.#minRate > 0;
    let ms = this.#timeoutMs;
    let slow = false;
    if (rate && (ms <= 0 || this.#budgetMs < ms)) {
      ms = Math.max(1, this.#budgetMs);
      slow = true;
    }
    if (ms <= 0) return await this.#wrapErrors(op);
    const started = performance.now();
    const reason = slow
      ? `Peer slower than ${this.#minRate} bytes/s, connection closed`
      : `No data for ${ms / 1000} s, connection closed`;
    const timer = setTimeout(() => this.expire(reason), ms);
    try {
      const result = await this.#wrapErrors(op);
      if (rate) {
        const earned = (moved(result) * 1000) / this.#minRate;
        this.#budgetMs = Math.min(
          this.#stallMs,
          this.#budgetMs - (performance.now() - started) + earned,
        );
      }
      return result;
    } finally {
      clearTimeout(timer);
    }
  }

  async #wrapErrors<T>(op: Promise<T>): Promise<T> {
    try {
      return await op;
    } catch (err) {
      if (this.#timeout !== null) throw this.#timeoutError(err);
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

  #checkOpen(): void {
    if (this.#timeout !== null) throw this.#timeoutError();
    if (this.#closed) throw new ConnectionError("Connection is closed");
  }

  /** Reads from the socket into `target`; null at end of stream. */
  async #read(target: Uint8Array, rated = true): Promise<number | null> {
    this.#idle = false;
    if (this.#idleRead) {
      // The request this read waits for may still be corked: send it before waiting.
      if (!this.#closed) await this.flush();
      const outcome = await this.#guard(
        this.#idleRead,
        rated || this.#transfer,
        (o) => ("bytes" in o ? o.bytes?.length ?? 0 : 0),
      );
      this.#idleRead = null;
      if ("error" in outcome) return await this.#wrapErrors(Promise.reject(outcome.error));
      if (outcome.bytes === null) return null;
      this.#spill = outcome.bytes;
    }
    if (this.#spill) {
      const n = Math.min(this.#spill.length, target.length);
      target.set(this.#spill.subarray(0, n));
      this.#spill = n < this.#spill.length ? this.#spill.subarray(n) : null;
      return n;
    }
    this.#checkOpen();
    // Never wait for the peer while holding back what it may be waiting for.
    await this.flush();
    return await this.#guard(this.#conn.read(target), rated || this.#transfer, (n) => n ?? 0);
  }

  /**
   * Watches the connection while nothing is expected from the peer: one read is started, so a
   * peer that hangs up meanwhile (a server's idle timeout) makes {@link closed} true at once,
   * and a client reconnects instead of failing its next request. Bytes that arrive after the
   * next request was sent are its answer and are kept for the next read; bytes that arrive
   * before it break the protocol and close the connection.
   */
  watchIdle(): void {
    if (this.#closed || this.#idleRead || this.#spill || this.#end > this.#start) return;
    this.#idle = true;
    const buf = new Uint8Array(IDLE_READ_BYTES);
    this.#idleRead = this.#conn.read(buf).then(
      (n): IdleOutcome => {
        if (n === null || this.#idle) this.close();
        return { bytes: n === null ? null : buf.subarray(0, n) };
      },
      (error): IdleOutcome => {
        if (this.#idle) this.close();
        return { error };
      },
    );
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
      // Waiting for the first byte of a frame is idle time; once it began, the rate counts.
      const got = await this.#read(this.#buf.subarray(this.#end), this.#end > this.#start)
        .catch((err) => {
          // A TLS peer that hangs up between frames without a close_notify (a client process
          // that exits after its command) left as cleanly as one that sent it.
          if (
            this.#end === this.#start && !this.#transfer && err instanceof ConnectionError &&
            err.cause instanceof Deno.errors.UnexpectedEof
          ) return null;
          throw err;
        });
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

  /**
   * Returns a copy of the next `n` bytes without consuming them (fewer if the peer closed
   * after sending some), or null when it closed without sending any.
   */
  async peek(n: number): Promise<Uint8Array | null> {
    try {
      if (!(await this.#fill(n))) return null;
    } catch (err) {
      if (!(err instanceof ConnectionError) || this.#end === this.#start || this.#closed) {
        throw err;
      }
    }
    return this.#buf.slice(this.#start, Math.min(this.#end, this.#start + n));
  }

  /** Reads the next frame header; null when the peer closed cleanly between frames. */
  async readHeader(): Promise<FrameHeader | null> {
    // Outside a transfer each frame gets a fresh budget; inside, the budget runs on.
    if (!this.#transfer) this.#budgetMs = this.#stallMs;
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
    } finally {
      // A large message grew the buffer: give the memory back, or every connection that
      // once sent 64 KiB would hold 64 KiB for its lifetime.
      if (this.#buf.length > INITIAL_BUFFER && this.#start === this.#end) {
        this.#buf = new Uint8Array(INITIAL_BUFFER);
        this.#start = this.#end = 0;
      }
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
    if (msg === null) {
      // The peer is gone: say so in `closed`, so the next request reconnects instead of failing.
      this.close();
      throw new ConnectionError("Connection closed by peer");
    }
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
    this.#idle = false;
    // One write at a time, in the order asked: a flush before a read may run while a server
    // sends the answers of requests that ran ahead (see AnswerQueue).
    const turn = this.#writing.then(async () => {
      let off = 0;
      while (off < bytes.length) {
        this.#checkOpen();
        off += await this.#guard(this.#conn.write(bytes.subarray(off)), true, (n) => n);
      }
    });
    this.#writing = turn.catch(() => {});
    await turn;
  }

  /** Sends one JSON message. */
  async send(message: object): Promise<void> {
    await this.writeAll(encodeMessage(message));
  }

  /**
   * Sends several JSON messages and frames already encoded in one write (answers of pipelined
   * requests).
   */
  async sendAll(messages: readonly (object | Uint8Array)[]): Promise<void> {
    const parts = messages.map((m) => (m instanceof Uint8Array ? m : encodeMessage(m)));
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.length;
    }
    await this.writeAll(all);
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
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed by the runtime
    }
    this.#onClose?.();
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
