import { createHash, type Hash } from "node:crypto";
import { writeAll } from "./write_all.ts";
import type { BufferPool } from "./buffer_pool.ts";
import type { FrameConn } from "./protocol/conn.ts";
import {
  encodeMessage,
  FRAME_MSG,
  HEADER_BYTES,
  MAX_DATA_BYTES,
  writeDataHeader,
} from "./protocol/frame.ts";
import { abortTrailer, type BodyTrailer, endTrailer, parseTrailer } from "./protocol/messages.ts";
import { ConnectionError, FileshareError, ProtocolError } from "./protocol/errors.ts";

/** Body bytes per DATA frame: large chunks keep per-frame overhead negligible. */
export const CHUNK_BYTES = MAX_DATA_BYTES;
/** Bytes of a pool buffer: a whole DATA frame, header included. */
export const POOL_BUFFER_BYTES = HEADER_BYTES + CHUNK_BYTES;
/** Chunk size when the pool is used up: slower, but a stalled transfer holds only this. */
const SMALL_CHUNK_BYTES = 8 * 1024;

/**
 * Where a sent body comes from: a `Deno.FsFile` is one, `readableSource()` adapts a web
 * stream, and anything with this `read` will do.
 *
 * @example A source over bytes in memory
 * ```ts
 * import type { ByteSource } from "fileshare";
 *
 * function bytesSource(bytes: Uint8Array): ByteSource {
 *   let offset = 0;
 *   return {
 *     read(p) {
 *       if (offset >= bytes.length) return Promise.resolve(null);
 *       const n = Math.min(p.length, bytes.length - offset);
 *       p.set(bytes.subarray(offset, offset + n));
 *       offset += n;
 *       return Promise.resolve(n);
 *     },
 *   };
 * }
 * ```
 */
export interface ByteSource {
  /** Reads up to `p.length` bytes; null at end. */
  read(p: Uint8Array): Promise<number | null>;
}

/**
 * Where a received body goes: a `Deno.FsFile` is one, `writableSink()` adapts a web stream.
 * The buffer passed to `write` is reused afterwards: copy what you keep.
 *
 * @example A sink that only counts
 * ```ts
 * import type { ByteSink } from "fileshare";
 *
 * let received = 0;
 * const counter: ByteSink = {
 *   write(p) {
 *     received += p.length;
 *     return Promise.resolve(p.length);
 *   },
 * };
 * await counter.write(new Uint8Array(4));
 * console.log(received); // 4
 * ```
 */
export interface ByteSink {
  /** Writes some of `p`, returning how many bytes were written. */
  write(p: Uint8Array): Promise<number>;
}

/**
 * Options for both directions of a body transfer: progress and cancellation.
 *
 * @example Cancel a transfer on Ctrl-C
 * ```ts
 * import type { TransferOptions } from "fileshare";
 *
 * const controller = new AbortController();
 * const options: TransferOptions = {
 *   onProgress: (done) => console.log(`${done} bytes so far`),
 *   signal: controller.signal,
 * };
 * // Deno.addSignalListener("SIGINT", () => controller.abort());
 * ```
 */
export interface TransferOptions {
  /** Called after each chunk with the bytes done so far. */
  onProgress?: (done: number) => void;
  /** Aborts the transfer: the sender sends an abort trailer. */
  signal?: AbortSignal;
}

/** {@link TransferOptions} plus what only the server uses. */
export interface BodyOptions extends TransferOptions {
  /**
   * Shared chunk buffers of {@link POOL_BUFFER_BYTES} (the server's): taken only while data
   * moves; when none is free the transfer goes on in small chunks. Without a pool each
   * transfer allocates its own two chunk buffers.
   */
  pool?: BufferPool;
}

/** Chunk buffers of one transfer: from the pool when it has one free, else its own. */
class ChunkBuffers {
  #pool: BufferPool | undefined;
  #own: Uint8Array[] = [];
  #ownBytes: number;

  constructor(pool: BufferPool | undefined, size: number) {
    this.#pool = pool;
    // Small bodies get small buffers: zeroing 2 MiB per 4 KiB upload would dominate its cost.
    const chunk = pool ? SMALL_CHUNK_BYTES : CHUNK_BYTES;
    this.#ownBytes = HEADER_BYTES + Math.min(chunk, size);
  }

  take(): Uint8Array {
    return this.#pool?.acquire() ?? this.#own.pop() ?? new Uint8Array(this.#ownBytes);
  }

  /** A second buffer to work ahead with, or null when that would leave the pool's budget. */
  takeAhead(): Uint8Array | null {
    if (this.#pool === undefined) return this.take();
    return this.#pool.acquire();
  }

  /** Whether `buf` is a small chunk taken because the pool was used up. */
  isFallback(buf: Uint8Array): boolean {
    return this.#pool !== undefined && !this.#pool.owns(buf);
  }

  give(buf: Uint8Array): void {
    if (this.#pool?.owns(buf)) this.#pool.release(buf);
    else this.#own.push(buf);
  }
}

/** What a finished transfer moved. */
export interface BodyResult {
  /** Body bytes moved. */
  bytes: number;
  /** Lowercase hex SHA-256 of the body. */
  sha256: string;
}

/**
 * Reads exactly `bytes` bytes of `source` into a fresh SHA-256: the hash of a kept prefix
 * (a partial upload or download), to compare and then continue with the rest of the body.
 * Returns null if the source ends before `bytes`.
 */
export async function hashPrefix(source: ByteSource, bytes: number): Promise<Hash | null> {
  const hash = createHash("sha256");
  const buf = new Uint8Array(Math.min(CHUNK_BYTES, Math.max(1, bytes)));
  for (let done = 0; done < bytes;) {
    const n = await source.read(buf.subarray(0, Math.min(buf.length, bytes - done)));
    if (n === null || n === 0) return null;
    hash.update(buf.subarray(0, n));
    done += n;
  }
  return hash;
}

async function readChunk(source: ByteSource, frame: Uint8Array, want: number): Promise<number> {
  // Fill as much of the chunk as the source gives; a short read only means a smaller frame.
  const n = await source.read(frame.subarray(HEADER_BYTES, HEADER_BYTES + want));
  return n ?? 0;
}

/**
 * Streams exactly `size` bytes from `source` as DATA frames, then an `end` trailer with the
 * SHA-256; with `size` null, everything the source gives until it ends (a body of unknown
 * length). The next chunk is read from the source while the current one is on the wire. If
 * the source ends early or the signal fires, an `abort` trailer goes out instead and this
 * throws, leaving the connection in step. A resumed body passes the `hash` of the bytes
 * before it ({@link hashPrefix}): the trailer and the result then carry the whole file's.
 */
export async function sendBody(
  conn: FrameConn,
  source: ByteSource,
  size: number | null,
  options: BodyOptions = {},
  hash: Hash = createHash("sha256"),
): Promise<BodyResult> {
  const total = size ?? Infinity;
  const buffers = new ChunkBuffers(options.pool, total);
  let done = 0;
  const fetch = (buf: Uint8Array): [Uint8Array, Promise<number>] => {
    const want = Math.min(buf.length - HEADER_BYTES, total - done);
    return [buf, readChunk(source, buf, want)];
  };
  let current: Uint8Array | null = null;
  let ahead: [Uint8Array, Promise<number>] | null = total > 0 ? fetch(buffers.take()) : null;
  conn.beginTransfer();
  try {
    while (ahead !== null) {
      current = ahead[0];
      const n = await ahead[1];
      ahead = null;
      if (n === 0 && size === null) {
        buffers.give(current);
        current = null;
        break;
      }
      if (n === 0) {
        throw new FileshareError(
          "INTEGRITY",
          `Source ended after ${done} of ${size} bytes (file changed during transfer)`,
        );
      }
      if (options.signal?.aborted) throw new FileshareError("CANCELLED", "Transfer cancelled");
      const frame = current.subarray(0, HEADER_BYTES + n);
      done += n;
      // The next chunk is read from the source while this one is on the wire, if a second
      // buffer is free; else this one is reused once sent (a stalled reader holds one buffer).
      const second = done < total ? buffers.takeAhead() : null;
      if (second !== null) ahead = fetch(second);
      hash.update(frame.subarray(HEADER_BYTES));
      // With the pool used up, small frames go out one by one: corked, a stalled reader would
      // pin up to 64 KiB of held-back copies instead of its one small chunk.
      if (buffers.isFallback(current)) await conn.uncork();
      await conn.sendDataFrame(frame);
      if (ahead === null && done < total) ahead = fetch(current);
      else buffers.give(current);
      current = null;
      options.onProgress?.(done);
    }
  } catch (err) {
    if (ahead !== null) {
      await ahead[1].catch(() => {});
      buffers.give(ahead[0]);
    }
    if (current !== null) buffers.give(current);
    if (err instanceof FileshareError && !conn.closed) {
      await conn.send(abortTrailer(err.code, err.message)).catch(() => {});
    } else if (!(err instanceof ConnectionError) && !conn.closed) {
      await conn.send(abortTrailer("INTERNAL", String((err as Error).message))).catch(() => {});
    }
    throw err;
  } finally {
    conn.endTransfer();
  }
  const sha256 = hash.digest("hex");
  await conn.send(endTrailer(sha256));
  return { bytes: done, sha256 };
}

/**
 * Sends `head` (an eager upload request) with a small body of exactly `size` bytes (at most one
 * DATA frame) read whole from `source` first, and its `end` trailer, in one write: three
 * writes per small file would cost three system calls (and TLS records) each. When the source
 * fails or ends early, this throws before anything was sent.
 */
export async function sendWithSmallBody(
  conn: FrameConn,
  head: object,
  source: ByteSource,
  size: number,
  options: BodyOptions = {},
): Promise<BodyResult> {
  if (size > MAX_DATA_BYTES) throw new RangeError(`A small body is at most ${MAX_DATA_BYTES}`);
  const frame = new Uint8Array(HEADER_BYTES + size);
  for (let done = 0; done < size;) {
    const n = await source.read(frame.subarray(HEADER_BYTES + done));
    if (n === null || n === 0) {
      throw new FileshareError(
        "INTEGRITY",
        `Source ended after ${done} of ${size} bytes (file changed during transfer)`,
      );
    }
    done += n;
  }
  options.signal?.throwIfAborted();
  const sha256 = createHash("sha256").update(frame.subarray(HEADER_BYTES)).digest("hex");
  const parts = [
    encodeMessage(head),
    ...(size > 0 ? [writeDataHeader(frame)] : []),
    encodeMessage(endTrailer(sha256)),
  ];
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  await conn.writeAll(all);
  options.onProgress?.(size);
  return { bytes: size, sha256 };
}

/**
 * Receives a body of exactly `size` bytes (with `size` null: DATA frames until the trailer),
 * hashing it and writing it to `sink` (or nowhere when null), then checks the trailer's
 * SHA-256. The disk write of one chunk overlaps the
 * socket read of the next. If the sink fails, the rest of the body is read and dropped so the
 * connection stays in step, and the sink's error is thrown at the end. With the `hash` of
 * bytes before this body (a resume), the check is of the whole file's SHA-256.
 */
export async function receiveBody(
  conn: FrameConn,
  size: number | null,
  sink: ByteSink | null,
  options: BodyOptions = {},
  hash: Hash = createHash("sha256"),
): Promise<BodyResult> {
  const total = size ?? Infinity;
  const buffers = new ChunkBuffers(options.pool, total);
  let done = 0;
  let pending: Promise<void> | null = null;
  let sinkError: unknown = null;
  const settle = async () => {
    if (pending === null) return;
    await pending;
    pending = null;
  };
  let trailer: BodyTrailer | null = null;
  conn.beginTransfer();
  try {
    while (done < total) {
      const header = await conn.readHeader();
      if (header === null) {
        throw new ConnectionError(`Connection closed after ${done} of ${size ?? "?"} bytes`);
      }
      if (header.type === FRAME_MSG) {
        trailer = parseTrailer(await conn.readMessageBody(header.length));
        if (trailer.op === "abort") throw new FileshareError(trailer.code, trailer.message);
        if (size === null) break;
        throw new FileshareError("INTEGRITY", `Body ended after ${done} of ${size} bytes`);
      }
      if (header.length > total - done) {
        throw new ProtocolError(`Body is longer than the declared ${size} bytes`, "INTEGRITY");
      }
      // A buffer is taken only once the frame has begun, and the frame is read in pieces of
      // the buffer's size (the whole frame with a pool buffer).
      for (let left = header.length; left > 0;) {
        const buf = buffers.take();
        const piece = buf.subarray(0, Math.min(left, buf.length));
        try {
          await conn.readDataBody(piece);
        } catch (err) {
          buffers.give(buf);
          throw err;
        }
        hash.update(piece);
        done += piece.length;
        left -= piece.length;
        await settle();
        if (sink !== null && sinkError === null) {
          // The disk write of this piece overlaps the socket read of the next; the buffer goes
          // back as soon as it is written, so a stalled upload holds none. Caught at once: the
          // write may fail (full disk) while the loop awaits the socket, and an unobserved
          // rejection there would end the whole process.
          pending = writeAll(sink, piece).catch((err) => {
            sinkError ??= err;
          }).finally(() => buffers.give(buf));
        } else buffers.give(buf);
        options.onProgress?.(done);
      }
    }
    await settle();
  } catch (err) {
    await settle();
    throw err;
  } finally {
    conn.endTransfer();
  }
  trailer ??= parseTrailer(await conn.expectMessage());
  if (trailer.op === "abort") throw new FileshareError(trailer.code, trailer.message);
  if (sinkError !== null) throw sinkError;
  const sha256 = hash.digest("hex");
  if (sha256 !== trailer.sha256) {
    throw new FileshareError(
      "INTEGRITY",
      `SHA-256 mismatch: received ${sha256}, sender had ${trailer.sha256}`,
    );
  }
  return { bytes: done, sha256 };
}
