import { createHash } from "node:crypto";
import { writeAll } from "./write_all.ts";
import type { FrameConn } from "./protocol/conn.ts";
import { FRAME_MSG, HEADER_BYTES, MAX_DATA_BYTES } from "./protocol/frame.ts";
import { abortTrailer, endTrailer, parseTrailer } from "./protocol/messages.ts";
import { ConnectionError, FileshareError, ProtocolError } from "./protocol/errors.ts";

/** Body bytes per DATA frame: large chunks keep per-frame overhead negligible. */
export const CHUNK_BYTES = MAX_DATA_BYTES;

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

/** What a finished transfer moved. */
export interface BodyResult {
  /** Body bytes moved. */
  bytes: number;
  /** Lowercase hex SHA-256 of the body. */
  sha256: string;
}

async function readChunk(source: ByteSource, frame: Uint8Array, want: number): Promise<number> {
  // Fill as much of the chunk as the source gives; a short read only means a smaller frame.
  const n = await source.read(frame.subarray(HEADER_BYTES, HEADER_BYTES + want));
  return n ?? 0;
}

/**
 * Streams exactly `size` bytes from `source` as DATA frames, then an `end` trailer with the
 * SHA-256. The next chunk is read from the source while the current one is on the wire. If
 * the source ends early or the signal fires, an `abort` trailer goes out instead and this
 * throws, leaving the connection in step.
 */
export async function sendBody(
  conn: FrameConn,
  source: ByteSource,
  size: number,
  options: TransferOptions = {},
): Promise<BodyResult> {
  const hash = createHash("sha256");
  // Small bodies get small buffers: zeroing 2 MiB per 4 KiB upload would dominate its cost.
  const chunk = Math.min(CHUNK_BYTES, size);
  const bufs = [new Uint8Array(HEADER_BYTES + chunk), new Uint8Array(HEADER_BYTES + chunk)];
  let done = 0;
  let turn = 0;
  let next: Promise<number> | null = size > 0
    ? readChunk(source, bufs[0], Math.min(CHUNK_BYTES, size))
    : null;
  try {
    while (next !== null) {
      const n = await next;
      if (n === 0) {
        throw new FileshareError(
          "INTEGRITY",
          `Source ended after ${done} of ${size} bytes (file changed during transfer)`,
        );
      }
      if (options.signal?.aborted) throw new FileshareError("CANCELLED", "Transfer cancelled");
      const frame = bufs[turn].subarray(0, HEADER_BYTES + n);
      done += n;
      turn ^= 1;
      next = done < size ? readChunk(source, bufs[turn], Math.min(CHUNK_BYTES, size - done)) : null;
      hash.update(frame.subarray(HEADER_BYTES));
      await conn.sendDataFrame(frame);
      options.onProgress?.(done);
    }
  } catch (err) {
    await next?.catch(() => {});
    if (err instanceof FileshareError && !conn.closed) {
      await conn.send(abortTrailer(err.code, err.message)).catch(() => {});
    } else if (!(err instanceof ConnectionError) && !conn.closed) {
      await conn.send(abortTrailer("INTERNAL", String((err as Error).message))).catch(() => {});
    }
    throw err;
  }
  const sha256 = hash.digest("hex");
  await conn.send(endTrailer(sha256));
  return { bytes: done, sha256 };
}

/**
 * Receives a body of exactly `size` bytes, hashing it and writing it to `sink` (or nowhere
 * when null), then checks the trailer's SHA-256. The disk write of one chunk overlaps the
 * socket read of the next. If the sink fails, the rest of the body is read and dropped so the
 * connection stays in step, and the sink's error is thrown at the end.
 */
export async function receiveBody(
  conn: FrameConn,
  size: number,
  sink: ByteSink | null,
  options: TransferOptions = {},
): Promise<BodyResult> {
  const hash = createHash("sha256");
  const chunkBytes = Math.min(CHUNK_BYTES, size);
  const bufs = [new Uint8Array(chunkBytes), new Uint8Array(chunkBytes)];
  let turn = 0;
  let done = 0;
  let pending: Promise<void> | null = null;
  let sinkError: unknown = null;
  const settle = async () => {
    if (pending === null) return;
    await pending;
    pending = null;
  };
  try {
    while (done < size) {
      const header = await conn.readHeader();
      if (header === null) {
        throw new ConnectionError(`Connection closed after ${done} of ${size} bytes`);
      }
      if (header.type === FRAME_MSG) {
        const trailer = parseTrailer(await conn.readMessageBody(header.length));
        if (trailer.op === "abort") throw new FileshareError(trailer.code, trailer.message);
        throw new FileshareError("INTEGRITY", `Body ended after ${done} of ${size} bytes`);
      }
      if (header.length > size - done) {
        throw new ProtocolError(`Body is longer than the declared ${size} bytes`, "INTEGRITY");
      }
      const chunk = bufs[turn].subarray(0, header.length);
      await conn.readDataBody(chunk);
      hash.update(chunk);
      done += chunk.length;
      await settle();
      if (sink !== null && sinkError === null) {
        // Caught at once: the write may fail (full disk) while the loop awaits the socket, and
        // an unobserved rejection there would end the whole process.
        pending = writeAll(sink, chunk).catch((err) => {
          sinkError ??= err;
        });
      }
      turn ^= 1;
      options.onProgress?.(done);
    }
    await settle();
  } catch (err) {
    await settle();
    throw err;
  }
  const trailer = parseTrailer(await conn.expectMessage());
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
