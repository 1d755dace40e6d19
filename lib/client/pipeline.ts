/**
 * Many files over one connection without a round trip each. The server answers requests in
 * the order they came, so the client may send the next requests before the answers to the
 * earlier ones arrived: small uploads go out with their bodies (eager) and downloads as bare
 * requests, several ahead within a bounded window, while the answers are read in order. With
 * `resume`, each large upload and each download with a partial file waits for its turn, as a
 * single resumed transfer does: its exchange depends on bytes kept from an earlier attempt.
 * @module
 */
import type { FrameConn } from "../protocol/conn.ts";
import { ConnectionError, FileshareError } from "../protocol/errors.ts";
import { EAGER_MAX_BYTES, uploadRequest } from "../protocol/messages.ts";
import {
  parseDownloadResponse,
  parseReadyResponse,
  parseUploadResponse,
} from "../protocol/responses.ts";
import {
  type BodyResult,
  type ByteSink,
  receiveBody,
  sendBody,
  sendWithSmallBody,
} from "../transfer.ts";
import type { Hash } from "node:crypto";
import { answerOffer, downloadRequestFrom, receiveDownload } from "./_exchange.ts";
import { withAdvice } from "./advice.ts";
import { downloadToFile, partialFileFor, writeDownloaded } from "./download_file.ts";
import type { FileTransferOptions, TransferResult } from "./options.ts";

/** One file of {@link FileshareClient.uploadFiles}: a local file and where it goes. */
export interface UploadJob {
  /** Local path of the file. */
  local: string;
  /** Remote path it is stored at. */
  remote: string;
}

/** One file of {@link FileshareClient.downloadFiles}: a remote file and where it goes. */
export interface DownloadJob {
  /** Remote path of the file. */
  remote: string;
  /** Local path it is written to. */
  local: string;
}

/** What became of one file of a batch: its result, or why it failed. */
export interface BatchOutcome<J> {
  /** The job as given. */
  job: J;
  /** The transfer's result when it succeeded. */
  result?: TransferResult;
  /** The error when it failed (the batch goes on with the next file). */
  error?: unknown;
}

/**
 * Options of a batch: those of every file, how far to run ahead, and callbacks.
 *
 * @example
 * ```ts
 * import type { BatchOptions } from "fileshare";
 *
 * const options: BatchOptions = {
 *   overwrite: true,
 *   window: 64,
 *   onOutcome: (o) => console.log(o.error ? `failed: ${o.job}` : `done: ${o.job}`),
 * };
 * ```
 */
export interface BatchOptions extends FileTransferOptions {
  /** Requests sent ahead of their answers (default 32). */
  window?: number;
  /** Called once per file, in order, when it is done or has failed. */
  onOutcome?: (outcome: BatchOutcome<unknown>) => void;
  /** Called with body bytes as they move (a delta), for an overall progress line. */
  onBytes?: (bytes: number) => void;
}

/** Default number of requests in flight. */
export const BATCH_WINDOW = 32;
/** Body bytes of eager uploads in flight at most (the server's socket buffer takes them). */
const WINDOW_BYTES = 8 * 1024 * 1024;

/** A bounded FIFO of answers still to read, with a wait for room. */
class InFlight<T> {
  #items: { item: T; bytes: number }[] = [];
  /** Pushed and not yet settled (an item being answered still counts). */
  #open = 0;
  #bytes = 0;
  #room: (() => void) | null = null;
  #ready: (() => void) | null = null;
  #closed = false;

  push(item: T, bytes: number): void {
    this.#items.push({ item, bytes });
    this.#open++;
    this.#bytes += bytes;
    this.#ready?.();
  }

  /** Waits until fewer than `count` answers and `bytes` body bytes are outstanding. */
  async room(count: number, bytes: number): Promise<void> {
    while (this.#open >= count || (this.#open > 0 && this.#bytes >= bytes)) {
      await new Promise<void>((r) => (this.#room = r));
    }
  }

  /** The oldest item, waiting for one; null once closed and empty. */
  async shift(): Promise<{ item: T; bytes: number } | null> {
    while (this.#items.length === 0) {
      if (this.#closed) return null;
      await new Promise<void>((r) => (this.#ready = r));
    }
    return this.#items.shift()!;
  }

  /** The answer to a shifted item was read: its room is free. */
  settle(bytes: number): void {
    this.#open--;
    this.#bytes -= bytes;
    this.#room?.();
  }

  close(): void {
    this.#closed = true;
    this.#ready?.();
  }
}

interface SentUpload {
  job: UploadJob;
  started: number;
  /** The body as sent, or the local error that aborted it (the server answers anyway). */
  sent: BodyResult | { error: unknown };
  /** A resume request: the bytes the server had kept and the body continued after. */
  offset?: number;
}

function isConnectionLost(err: unknown, conn: FrameConn): boolean {
  return err instanceof ConnectionError || conn.closed;
}

/**
 * Opens a local file to upload, with synchronous calls (a few microseconds each, where an
 * asynchronous one costs a thread hand-off); anything but a regular file is refused before it
 * is opened (opening a named pipe would wait for a writer).
 */
function openLocal(job: UploadJob): { file: Deno.FsFile; info: Deno.FileInfo } {
  if (!Deno.statSync(job.local).isFile) {
    throw new FileshareError("BAD_REQUEST", `"${job.local}" is not a file`);
  }
  const file = Deno.openSync(job.local, { read: true });
  try {
    const info = file.statSync();
    if (!info.isFile) throw new FileshareError("BAD_REQUEST", `"${job.local}" is not a file`);
    return { file, info };
  } catch (err) {
    file.close();
    throw err;
  }
}

/**
 * Uploads `jobs` over `conn` in order. Files up to {@link EAGER_MAX_BYTES} go out with their
 * bodies without waiting for earlier answers (at most `window` files and 8 MiB ahead); a
 * larger file waits until the earlier answers are in and then waits for `ready`, as a single
 * upload does. One file's failure is its outcome and the batch goes on; a lost connection
 * fails the rest.
 */
export async function pipelineUploads(
  conn: FrameConn,
  jobs: readonly UploadJob[],
  options: BatchOptions,
): Promise<BatchOutcome<UploadJob>[]> {
  const outcomes: BatchOutcome<UploadJob>[] = [];
  const report = (o: BatchOutcome<UploadJob>) => {
    outcomes.push(o);
    options.onOutcome?.(o);
  };
  const window = Math.max(1, options.window ?? BATCH_WINDOW);
  const inflight = new InFlight<SentUpload>();
  let lost: unknown = null;

  const answer = async (s: SentUpload) => {
    try {
      const reply = parseUploadResponse(await conn.expectMessage());
      if ("error" in s.sent) throw s.sent.error;
      if (reply.sha256 !== s.sent.sha256) {
        throw new FileshareError("INTEGRITY", `Server stored a different SHA-256 than was sent`);
      }
      const ms = performance.now() - s.started;
      const result: TransferResult = { bytes: s.sent.bytes, sha256: s.sent.sha256, ms };
      if (options.resume) result.offset = s.offset ?? 0;
      report({ job: s.job, result });
    } catch (err) {
      if (isConnectionLost(err, conn)) lost ??= err;
      report({ job: s.job, error: "error" in s.sent ? s.sent.error : withAdvice("upload", err) });
    }
  };
  const reader = (async () => {
    for (let s = await inflight.shift(); s !== null; s = await inflight.shift()) {
      await answer(s.item);
      inflight.settle(s.bytes);
    }
  })();

  try {
    for (const job of jobs) {
      if (lost !== null || options.signal?.aborted) {
        report({ job, error: lost ?? new FileshareError("CANCELLED", "Transfer cancelled") });
        continue;
      }
      let opened;
      try {
        opened = openLocal(job);
      } catch (err) {
        report({ job, error: err });
        continue;
      }
      using file = opened.file;
      const size = opened.info.size;
      const mtime = options.times === false ? undefined : opened.info.mtime ?? undefined;
      const request = { overwrite: options.overwrite, mtime };
      const started = performance.now();
      let last = 0;
      const onProgress = (done: number) => {
        options.onBytes?.(done - last);
        last = done;
      };
      // Small files go eager also when resuming: sent again whole, they cost little.
      if (size <= EAGER_MAX_BYTES) {
        await inflight.room(window, WINDOW_BYTES);
        if (lost !== null) {
          report({ job, error: lost });
          continue;
        }
        let sent: BodyResult;
        try {
          // Request, body and trailer in one write; a file that cannot be read sends nothing.
          // Read with one synchronous call: the file is small.
          const head = uploadRequest(job.remote, size, { ...request, eager: true });
          const source = { read: (p: Uint8Array) => Promise.resolve(file.readSync(p)) };
          sent = await sendWithSmallBody(conn, head, source, size, {
            onProgress,
            signal: options.signal,
          });
        } catch (err) {
          if (isConnectionLost(err, conn)) lost ??= err;
          report({ job, error: err });
          continue;
        }
        inflight.push({ job, started, sent }, size);
        continue;
      }
      // A large file: its `ready` comes after every earlier answer, so those are read first.
      await inflight.room(1, 0);
      const resume = options.resume === true;
      let offset = 0;
      let prefix: Hash | undefined;
      try {
        await conn.send(uploadRequest(job.remote, size, {
          ...request,
          eager: false,
          resume,
          keepPartial: options.keepPartial,
        }));
        const ready = parseReadyResponse(await conn.expectMessage());
        if (resume) ({ offset, prefix } = await answerOffer(conn, file, size, ready));
      } catch (err) {
        if (isConnectionLost(err, conn)) lost ??= err;
        report({ job, error: withAdvice("upload", err) });
        continue;
      }
      // The kept bytes count as done for the overall progress.
      if (offset > 0) options.onBytes?.(offset);
      let sent: SentUpload["sent"];
      try {
        sent = await sendBody(conn, file, size - offset, {
          onProgress,
          signal: options.signal,
        }, prefix);
      } catch (err) {
        if (isConnectionLost(err, conn)) lost ??= err;
        sent = { error: err };
      }
      inflight.push({ job, started, sent, offset }, 0);
    }
  } finally {
    inflight.close();
    await reader;
  }
  return outcomes;
}

/** Whether a partial download of `local` is kept (non-empty) to continue. */
async function hasPartial(local: string): Promise<boolean> {
  const info = await Deno.lstat(partialFileFor(local)).catch(() => null);
  return info !== null && info.isFile && info.size > 0;
}

/**
 * Downloads `jobs` over `conn` in order, with up to `window` requests sent ahead of their
 * answers. Each file goes through a temporary file renamed into place after its SHA-256
 * matched (see {@link downloadToFile}); a file that cannot be written locally has its body
 * read and dropped, and the batch goes on.
 */
export async function pipelineDownloads(
  conn: FrameConn,
  jobs: readonly DownloadJob[],
  options: BatchOptions,
): Promise<BatchOutcome<DownloadJob>[]> {
  const outcomes: BatchOutcome<DownloadJob>[] = [];
  const window = Math.max(1, options.window ?? BATCH_WINDOW);
  let sent = 0;
  let lost: unknown = null;
  const sendAhead = async (upTo: number) => {
    while (sent < Math.min(upTo, jobs.length) && lost === null) {
      // A file with a partial to continue waits for its turn: its request carries the hash of
      // what the partial holds, taken then.
      if (options.resume && await hasPartial(jobs[sent].local)) break;
      try {
        await conn.send(downloadRequestFrom(jobs[sent].remote));
        sent++;
      } catch (err) {
        lost = err;
      }
    }
  };
  await sendAhead(window);
  for (const [i, job] of jobs.entries()) {
    const outcome: BatchOutcome<DownloadJob> = { job };
    if (i > sent || lost !== null || options.signal?.aborted) {
      outcome.error = lost ?? new FileshareError("CANCELLED", "Transfer cancelled");
    } else {
      // Not a resume: the answer is read here; a small body (held in memory, so a cut-off
      // one leaves nothing worth resuming) is written at once, a larger one through
      // downloadToFile, which keeps a cut-off part when asked.
      if (!options.resume) {
        try {
          outcome.result = await receiveOne(conn, job, options);
        } catch (err) {
          outcome.error = err;
          if (isConnectionLost(err, conn)) lost = err;
        }
        await sendAhead(i + 1 + window);
        outcomes.push(outcome);
        options.onOutcome?.(outcome);
        continue;
      }
      // Not sent ahead (a partial to continue): its request goes when its turn comes.
      let requested = i < sent;
      let answered = false;
      const started = performance.now();
      let last = 0;
      try {
        outcome.result = await downloadToFile(
          async (sink, from) => {
            if (!requested) {
              await conn.send(downloadRequestFrom(job.remote, from));
              requested = true;
              sent++;
            }
            answered = true;
            return await receiveDownload(
              conn,
              sink,
              {
                signal: options.signal,
                onProgress: (done) => {
                  options.onBytes?.(done - last);
                  last = done;
                },
              },
              from,
              started,
            );
          },
          job.remote,
          job.local,
          options,
        );
      } catch (err) {
        outcome.error = err;
        if (isConnectionLost(err, conn)) lost = err;
        else if (!requested) sent++; // refused locally before its request went: none goes
        else if (!answered) {
          // Refused locally before the answer was read: read it (and drop its body).
          try {
            const reply = await conn.expectMessage();
            const { size } = parseDownloadResponse(reply);
            await receiveBody(conn, size, null);
          } catch (drop) {
            if (isConnectionLost(drop, conn)) lost = drop;
          }
        }
      }
      await sendAhead(i + 1 + window);
    }
    outcomes.push(outcome);
    options.onOutcome?.(outcome);
  }
  return outcomes;
}

/** Bodies up to this size are read into memory and written to their file at once. */
const HOLD_BYTES = 256 * 1024;

/**
 * Reads the answer to one download sent ahead (not a resume) and writes its file: a small
 * body is read into memory and written whole with synchronous calls (see
 * {@link writeDownloaded}), a larger one goes through {@link downloadToFile}. A file that
 * cannot be written locally fails alone: its body is read and dropped.
 */
async function receiveOne(
  conn: FrameConn,
  job: DownloadJob,
  options: BatchOptions,
): Promise<TransferResult> {
  const started = performance.now();
  let last = 0;
  const { size, mtime } = parseDownloadResponse(await conn.expectMessage());
  const bodyOptions = {
    signal: options.signal,
    onProgress: (done: number) => {
      options.onBytes?.(done - last);
      last = done;
    },
  };
  const finish = (body: BodyResult): TransferResult => {
    const result: TransferResult = {
      bytes: body.bytes,
      sha256: body.sha256,
      ms: performance.now() - started,
    };
    if (Number.isFinite(Date.parse(mtime))) result.mtime = new Date(mtime);
    return result;
  };
  if (size <= HOLD_BYTES) {
    options.onSize?.(size);
    const held = new Uint8Array(size);
    let off = 0;
    const sink: ByteSink = {
      write: (p) => {
        held.set(p, off);
        off += p.length;
        return Promise.resolve(p.length);
      },
    };
    const result = finish(await receiveBody(conn, size, sink, bodyOptions));
    writeDownloaded(job.remote, job.local, held, result, options);
    return result;
  }
  let answered = false;
  try {
    return await downloadToFile(
      async (sink) => {
        answered = true;
        return finish(await receiveBody(conn, size, await sink(size, 0), bodyOptions));
      },
      job.remote,
      job.local,
      options,
    );
  } catch (err) {
    if (!answered) {
      // Refused locally: the body is read and dropped, so the stream stays in step.
      try {
        await receiveBody(conn, size, null);
      } catch (drop) {
        if (isConnectionLost(drop, conn)) throw drop;
      }
    }
    throw err;
  }
}
