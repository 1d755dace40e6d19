/**
 * Adapters between web streams and the client's byte interfaces, so a program can upload
 * from a `ReadableStream` (a fetch body, `Deno.stdin.readable`, a file's `readable`) and
 * download into a `WritableStream`.
 * @module
 */
import type { ByteSink, ByteSource } from "../transfer.ts";

/**
 * A {@link ByteSource} that reads a web `ReadableStream`. Chunks larger than the caller's
 * buffer are handed out over several reads; the stream stays locked to this source.
 *
 * @example Upload a string
 * ```ts
 * import { type FileshareClient, readableSource } from "fileshare";
 *
 * async function uploadText(client: FileshareClient, text: string): Promise<void> {
 *   const bytes = new TextEncoder().encode(text);
 *   const source = readableSource(ReadableStream.from([bytes]));
 *   await client.upload(source, bytes.length, "notes/hello.txt");
 * }
 * ```
 */
export function readableSource(stream: ReadableStream<Uint8Array>): ByteSource {
  const reader = stream.getReader();
  let pending: Uint8Array = new Uint8Array(0);
  return {
    async read(p: Uint8Array): Promise<number | null> {
      while (pending.length === 0) {
        const { done, value } = await reader.read();
        if (done) return null;
        pending = value;
      }
      const n = Math.min(p.length, pending.length);
      p.set(pending.subarray(0, n));
      pending = pending.subarray(n);
      return n;
    },
  };
}

/** A {@link ByteSink} over a web `WritableStream`, closed by the caller after the transfer. */
export interface StreamSink extends ByteSink {
  /** Closes the stream once everything is written (the sink holds its writer). */
  close(): Promise<void>;
}

/**
 * A {@link ByteSink} that writes to a web `WritableStream`, waiting for the stream's
 * backpressure. Each chunk is copied, because the transfer reuses its buffer.
 *
 * @example Download to standard output
 * ```ts
 * import { type FileshareClient, writableSink } from "fileshare";
 *
 * async function cat(client: FileshareClient, remote: string): Promise<void> {
 *   const sink = writableSink(Deno.stdout.writable);
 *   await client.download(remote, () => Promise.resolve(sink));
 *   await sink.close();
 * }
 * ```
 */
export function writableSink(stream: WritableStream<Uint8Array>): StreamSink {
  const writer = stream.getWriter();
  return {
    async write(p: Uint8Array): Promise<number> {
      await writer.ready;
      await writer.write(p.slice());
      return p.length;
    },
    close: () => writer.close(),
  };
}
