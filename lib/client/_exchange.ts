/**
 * The client's side of an upload's "ready" and of a download's answer and body, resume
 * included: shared by single transfers ({@link FileshareClient}) and pipelined batches
 * (`pipeline.ts`).
 * @module
 */
import type { Hash } from "node:crypto";
import type { FrameConn } from "../protocol/conn.ts";
import { type DownloadRequest, downloadRequest, resumeFromMessage } from "../protocol/messages.ts";
import { parseDownloadResponse, type ReadyResponse } from "../protocol/responses.ts";
import {
  type ByteSink,
  type ByteSource,
  hashPrefix,
  receiveBody,
  type TransferOptions,
} from "../transfer.ts";
import type { ResumeFrom } from "./download_file.ts";
import type { TransferResult } from "./options.ts";

/** A source that can be read again from its start, as a resumed upload may need: a file. */
export type SeekableSource = ByteSource & Pick<Deno.FsFile, "seek">;

/** Whether `source` can be read again from its start (a `Deno.FsFile` can, stdin cannot). */
export function isSeekable(source: ByteSource): source is SeekableSource {
  return typeof (source as Partial<SeekableSource>).seek === "function";
}

/**
 * Answers the "ready" of a resume request: the server's kept bytes are used only if they hash
 * like the source's first `offset` bytes; otherwise the source is read again from its start
 * and the upload starts from 0. Returns where the body starts and the SHA-256 of the bytes
 * before it. A local read failure closes the connection (the server waits for the answer).
 */
export async function answerOffer(
  conn: FrameConn,
  source: SeekableSource,
  size: number,
  ready: ReadyResponse,
): Promise<{ offset: number; prefix?: Hash }> {
  const offered = ready.offset ?? 0;
  if (offered === 0) return { offset: 0 };
  let offset = 0;
  let prefix: Hash | undefined;
  try {
    const hash = offered <= size ? await hashPrefix(source, offered) : null;
    if (hash !== null && hash.copy().digest("hex") === ready.sha256) {
      offset = offered;
      prefix = hash;
    } else await source.seek(0, Deno.SeekMode.Start);
  } catch (err) {
    conn.close();
    throw err;
  }
  await conn.send(resumeFromMessage(offset));
  return { offset, prefix };
}

/** The download request of `remote`, asking to continue after `from` when given. */
export function downloadRequestFrom(remote: string, from?: ResumeFrom): DownloadRequest {
  return downloadRequest(
    remote,
    from && { offset: from.offset, sha256: from.hash.copy().digest("hex") },
  );
}

/**
 * Reads a download's answer and body into the sink `sink(size, offset)` gives. With `from`
 * the request asked to continue after those bytes: the body starts there when the server
 * answered with the same offset (an older server ignores it and sends the whole file, and
 * so does one whose first bytes differ). The result carries the server's mtime and, with
 * `from`, the offset used; progress counts from the offset.
 */
export async function receiveDownload(
  conn: FrameConn,
  sink: (size: number, offset: number) => Promise<ByteSink>,
  options: TransferOptions,
  from: ResumeFrom | undefined,
  started: number,
): Promise<TransferResult> {
  const announced = parseDownloadResponse(await conn.expectMessage());
  const { size } = announced;
  const offset = from !== undefined && announced.offset === from.offset ? from.offset : 0;
  const progress = options.onProgress;
  const body = await receiveBody(
    conn,
    size - offset,
    await sink(size, offset),
    { ...options, onProgress: progress && ((done) => progress(offset + done)) },
    offset > 0 ? from!.hash : undefined,
  );
  const result: TransferResult = {
    bytes: body.bytes,
    sha256: body.sha256,
    ms: performance.now() - started,
  };
  const time = Date.parse(announced.mtime);
  if (Number.isFinite(time)) result.mtime = new Date(time);
  if (from !== undefined) result.offset = offset;
  return result;
}
