import type { FrameConn } from "../protocol/conn.ts";
import {
  ConnectionError,
  FileshareError,
  InternalError,
  ProtocolError,
} from "../protocol/errors.ts";
import {
  type BenchMarkRequest,
  type DeleteRequest,
  type DfRequest,
  type DirEntry,
  type DirRequest,
  type DownloadRequest,
  type MkdirRequest,
  parseResumeFrom,
  type RenameRequest,
  type RmdirRequest,
  type UploadRequest,
} from "../protocol/messages.ts";
import {
  type CommandResponse,
  dfResponse,
  dirResponse,
  downloadResponse,
  okResponse,
  readyResponse,
  uploadResponse,
} from "../protocol/responses.ts";
import { parseRemotePath, quotePath } from "../store/paths.ts";
import type { Store, StoreEntry, StoreWriter } from "../store/store.ts";
import {
  type BodyResult,
  type ByteSink,
  type ByteSource,
  hashPrefix,
  receiveBody,
  sendBody,
} from "../transfer.ts";
import type { Hash } from "node:crypto";
import { storeCall, toWireError } from "./store_errors.ts";
import { abortTrailer, endTrailer } from "../protocol/messages.ts";
import { HEADER_BYTES, writeDataHeader } from "../protocol/frame.ts";
import { createHash } from "node:crypto";
import type { ActivityEvent } from "../log/events.ts";
import { UploadAdmission, type UploadLedger, type UploadLimits, usageOf } from "./quota.ts";
import type { BufferPool } from "../buffer_pool.ts";

/** What a handler sees of its session. */
export interface HandlerContext {
  conn: FrameConn;
  /** The user's root: the whole store, or a view of their home (see Store.within). */
  store: Store;
  readOnly: boolean;
  /** The user's quota and the server's largest upload. */
  limits: UploadLimits;
  /** Uploads in progress on this server, for quotas. */
  ledger: UploadLedger;
  /** The server's shared transfer buffers. */
  pool?: BufferPool;
  /** The logged-in user: the owner of the partial uploads this session keeps and resumes. */
  user: string;
  /** Whether this server keeps partial uploads for resume (its partial time is over 0). */
  keepPartials: boolean;
  /** Sends the command's final response and remembers that one went out. */
  respond(response: CommandResponse): Promise<void>;
}

/** Fields a handler adds to its log event. */
export type LogFields = Partial<ActivityEvent>;

const DIR_BATCH = 100;

function requireWrite(ctx: HandlerContext, what: string): void {
  if (ctx.readOnly) {
    throw new FileshareError("DENIED", `${what}: your account is read-only`);
  }
}

/**
 * The body of an eager upload, read whole before its file is written (see
 * {@link readHeldBody}), or the error that ended it while the stream stayed in step.
 */
export type HeldBody = (BodyResult & { data: Uint8Array }) | { error: unknown };

/**
 * Reads the body of an eager upload of `size` bytes into memory and checks its SHA-256, so the
 * session can go on reading while the file is written. A body the client aborted or that did
 * not match its hash comes back as `{ error }`; a broken stream throws.
 */
export async function readHeldBody(
  conn: FrameConn,
  size: number,
  pool?: BufferPool,
): Promise<HeldBody> {
  const data = new Uint8Array(size);
  let off = 0;
  const sink: ByteSink = {
    write: (p) => {
      data.set(p, off);
      off += p.length;
      return Promise.resolve(p.length);
    },
  };
  try {
    const body = await receiveBody(conn, size, sink, { pool });
    return { ...body, data };
  } catch (err) {
    if (err instanceof ProtocolError || err instanceof ConnectionError) throw err;
    return { error: err };
  }
}

/**
 * UPLOAD: checks, READY (skipped for an eager upload, whose body follows the request at once),
 * body into an atomic write, commit, OK. With `held`, the eager body was already read (by a
 * session running requests ahead of their answers) and is written from memory. A `resume` request first offers the kept partial's
 * length and SHA-256 in READY, and the client says where its body starts (`resume_from`). A
 * body cut off (connection lost, cancelled) of a `keepPartial` request is kept for a resume.
 */
export async function handleUpload(
  ctx: HandlerContext,
  req: UploadRequest,
  log: LogFields,
  held?: HeldBody,
): Promise<void> {
  // Path and bytes go into the log line even when the request is refused below.
  log.path = req.path;
  if (req.size !== null) log.size = req.size;
  log.bytes = 0;
  log.overwrite = req.overwrite;
  let write: StoreWriter;
  let admission: UploadAdmission;
  let what = `Cannot upload ${quotePath(req.path)}`;
  const keep = req.keepPartial === true && ctx.keepPartials;
  try {
    const path = parseRemotePath(req.path, what);
    log.path = path.text;
    what = `Cannot upload "${path.text || "/"}"`;
    requireWrite(ctx, what);
    // A body of unknown length is admitted on what is free now and checked as it is written.
    const upload = { path, size: req.size ?? 0, overwrite: req.overwrite, what };
    admission = await storeCall(
      what,
      () => UploadAdmission.admit(ctx.store, ctx.ledger, ctx.limits, upload),
    );
    const owner = keep || req.resume ? { owner: ctx.user } : {};
    const resume = req.resume === true && ctx.keepPartials;
    try {
      const mtime = req.mtime === undefined ? undefined : new Date(req.mtime);
      write = await storeCall(
        what,
        () =>
          ctx.store.createWrite(path, {
            overwrite: req.overwrite,
            mtime,
            resume,
            ...owner,
            ...(held !== undefined ? { small: true } : {}),
          }),
      );
    } catch (err) {
      admission[Symbol.dispose]();
      throw err;
    }
  } catch (err) {
    // An eager body is already on its way: read and drop it so the answer stays in step.
    if (req.eager && held === undefined) await drainBody(ctx.conn, req.size, ctx.pool);
    throw err;
  }
  using _ = admission;
  try {
    if (held !== undefined) {
      if ("error" in held) throw toWireError(what, held.error);
      admission.checkWritten(held.bytes);
      await storeCall(what, () => write.write(held.data));
      log.bytes = held.bytes;
      await commitUpload(ctx, what, write, admission, held, log);
      return;
    }
    let offset = 0;
    let prefix: Hash | undefined;
    if (req.resume && req.size !== null) {
      ({ offset, prefix } = await offerKept(ctx, write, req.size, what));
      log.offset = offset;
    } else if (!req.eager) await ctx.conn.send(readyResponse());
    // The store may keep a chunk only until its write resolves; receiveBody reuses it after.
    let written = 0;
    const sink: ByteSink = {
      write: async (p) => {
        // Counted as written, so an upload over its limit stops there (nothing is kept). A
        // resumed upload's kept bytes count as written.
        admission.checkWritten(offset + written + p.length);
        await write.write(p);
        written += p.length;
        return p.length;
      },
    };
    const body = await storeCall(
      what,
      () =>
        receiveBody(
          ctx.conn,
          req.size === null ? null : req.size - offset,
          sink,
          { pool: ctx.pool, onProgress: (done) => (log.bytes = done) },
          prefix,
        ),
    );
    await commitUpload(ctx, what, write, admission, body, log, offset);
  } catch (err) {
    // Cut off or cancelled by the client: what arrived stays for a resume, if asked for.
    if (keep && isInterruption(err) && (log.bytes ?? 0) + ((log.offset as number) ?? 0) > 0) {
      await write.keep();
      log.kept = true;
    }
    throw err;
  } finally {
    await write.abort();
  }
}

/**
 * Re-checks the quota on the whole file (a resumed upload's `kept` bytes and its body),
 * commits the written file and answers OK.
 */
async function commitUpload(
  ctx: HandlerContext,
  what: string,
  write: StoreWriter,
  admission: UploadAdmission,
  body: BodyResult,
  log: LogFields,
  kept = 0,
): Promise<void> {
  await storeCall(what, () => admission.checkCommit(kept + body.bytes));
  await storeCall(what, () => write.commit(body.sha256));
  log.size = kept + body.bytes;
  log.sha256 = body.sha256;
  await ctx.respond(uploadResponse(body.bytes, body.sha256));
}

/** Whether a transfer ended because the peer went away or gave up, not for a fault. */
function isInterruption(err: unknown): boolean {
  return err instanceof ConnectionError ||
    (err instanceof FileshareError && !(err instanceof ProtocolError) &&
      err.code === "CANCELLED");
}

/**
 * The first half of a resumed upload: hash the kept bytes (never trusted as they are), offer
 * their length and SHA-256 in READY, and read where the client's body starts. Returns the
 * offset and, when continuing, the hash of the kept bytes to go on with.
 */
async function offerKept(
  ctx: HandlerContext,
  write: StoreWriter,
  size: number,
  what: string,
): Promise<{ offset: number; prefix?: Hash }> {
  let offset = write.offset;
  let prefix: Hash | null = null;
  if (offset > 0 && offset <= size) {
    await using kept = await storeCall(what, () => write.readKept());
    prefix = await storeCall(what, () => hashPrefix(kept, offset));
  }
  if (prefix === null && offset > 0) {
    // Longer than the new file, or shorter on disk than recorded: start again.
    await storeCall(what, () => write.restart());
    offset = 0;
  }
  const sha256 = prefix?.copy().digest("hex");
  await ctx.conn.send(readyResponse({ offset, sha256 }));
  if (offset === 0 || prefix === null) return { offset: 0 };
  const from = parseResumeFrom(await ctx.conn.expectMessage(), offset);
  if (from.offset === 0) {
    // The client's first bytes differ (its file changed): never splice two versions.
    await storeCall(what, () => write.restart());
    return { offset: 0 };
  }
  return { offset, prefix };
}

async function drainBody(conn: FrameConn, size: number | null, pool?: BufferPool): Promise<void> {
  try {
    await receiveBody(conn, size, null, { pool });
  } catch (err) {
    // The refusal is the answer; only a broken stream matters here.
    if (err instanceof ProtocolError || err instanceof ConnectionError) throw err;
  }
}

/** DOWNLOAD: OK with size, body from an open handle, end trailer with the SHA-256. */
export async function handleDownload(
  ctx: HandlerContext,
  req: DownloadRequest,
  log: LogFields,
): Promise<void> {
  log.path = req.path;
  log.bytes = 0;
  const path = parseRemotePath(req.path, `Cannot download ${quotePath(req.path)}`);
  log.path = path.text;
  const what = `Cannot download "${path.text || "/"}"`;
  await using file = await storeCall(what, () => ctx.store.openRead(path));
  log.size = file.size;
  // A failing read becomes the abort trailer's code and message.
  const source: ByteSource = { read: (p) => storeCall(what, () => file.read(p)) };
  // A resume: the client's bytes are checked against this file's own first bytes. If they
  // differ (the file changed meanwhile), the whole file is sent: two versions never mix.
  let offset: number | undefined;
  let prefix: Hash | undefined;
  if (req.offset !== undefined) {
    offset = 0;
    if (req.offset <= file.size) {
      const hash = await hashPrefix(source, req.offset);
      if (hash !== null && hash.copy().digest("hex") === req.sha256) {
        offset = req.offset;
        prefix = hash;
      }
    }
    // The reader moved on while hashing: without a match, read the file again from its start.
    if (offset === 0) return await downloadWhole(ctx, path, what, log);
    log.offset = offset;
  }
  await ctx.respond(downloadResponse(file.size, file.mtime, offset));
  const body = await sendBody(ctx.conn, source, file.size - (offset ?? 0), {
    pool: ctx.pool,
    onProgress: (done) => (log.bytes = done),
  }, prefix);
  log.sha256 = body.sha256;
}

/** The whole file, after a resume whose bytes did not match (announced as offset 0). */
async function downloadWhole(
  ctx: HandlerContext,
  path: ReturnType<typeof parseRemotePath>,
  what: string,
  log: LogFields,
): Promise<void> {
  await using file = await storeCall(what, () => ctx.store.openRead(path));
  log.size = file.size;
  log.offset = 0;
  await ctx.respond(downloadResponse(file.size, file.mtime, 0));
  const source: ByteSource = { read: (p) => storeCall(what, () => file.read(p)) };
  const body = await sendBody(ctx.conn, source, file.size, {
    pool: ctx.pool,
    onProgress: (done) => (log.bytes = done),
  });
  log.sha256 = body.sha256;
}

/** Files up to this size are read whole when a download runs ahead of its answer. */
export const DOWNLOAD_HOLD_BYTES = 64 * 1024;

/** A download run ahead of its answer (see {@link openDownload}). */
export interface DownloadAhead {
  /** The answer, and for a small file its body and trailer (messages or encoded frames). */
  parts: (object | Uint8Array)[];
  /** Why a small file's body could not be read (its parts end with an abort trailer). */
  failure: FileshareError | null;
  /** Streams a larger file's body after `parts` and closes it; null for a small file. */
  stream: ((conn: FrameConn) => Promise<void>) | null;
  /** Closes the file (safe to repeat; a stream that never runs leaves it open). */
  close(): Promise<void>;
}

/**
 * DOWNLOAD ahead of its answer, for a session that runs requests ahead: opens the file now
 * and reads a small one whole (if `mayHold` its size), so that its answer is a ready write
 * when its turn comes; a larger file is kept open and streamed then. The same answer and body as
 * {@link handleDownload} gives a download that is not a resume (without `offset`).
 */
export async function openDownload(
  ctx: HandlerContext,
  req: DownloadRequest,
  log: LogFields,
  mayHold: (bytes: number) => boolean = () => true,
): Promise<DownloadAhead> {
  log.path = req.path;
  log.bytes = 0;
  const path = parseRemotePath(req.path, `Cannot download ${quotePath(req.path)}`);
  log.path = path.text;
  const what = `Cannot download "${path.text || "/"}"`;
  const file = await storeCall(what, () => ctx.store.openRead(path));
  let open = true;
  const close = async () => {
    if (open) await file.close();
    open = false;
  };
  const size = file.size;
  log.size = size;
  const head = downloadResponse(size, file.mtime);
  if (size > DOWNLOAD_HOLD_BYTES || !mayHold(size)) {
    const stream = async (conn: FrameConn) => {
      try {
        // A failing read becomes the abort trailer's code and message.
        const source: ByteSource = { read: (p) => storeCall(what, () => file.read(p)) };
        const body = await sendBody(conn, source, size, {
          pool: ctx.pool,
          onProgress: (done) => (log.bytes = done),
        });
        log.sha256 = body.sha256;
      } finally {
        await close();
      }
    };
    return { parts: [head], failure: null, stream, close };
  }
  try {
    const frame = new Uint8Array(HEADER_BYTES + size);
    for (let done = 0; done < size;) {
      const n = await storeCall(what, () => file.read(frame.subarray(HEADER_BYTES + done)));
      if (n === null || n === 0) {
        throw new FileshareError(
          "INTEGRITY",
          `Source ended after ${done} of ${size} bytes (file changed during transfer)`,
        );
      }
      done += n;
    }
    const sha256 = createHash("sha256").update(frame.subarray(HEADER_BYTES)).digest("hex");
    log.bytes = size;
    log.sha256 = sha256;
    const body = size > 0 ? [writeDataHeader(frame)] : [];
    return { parts: [head, ...body, endTrailer(sha256)], failure: null, stream: null, close };
  } catch (err) {
    const mapped = toWireError(what, err);
    const wire = mapped instanceof FileshareError ? mapped : InternalError.wrap(mapped, what);
    return {
      parts: [head, abortTrailer(wire.code, wire.message)],
      failure: wire,
      stream: null,
      close,
    };
  } finally {
    await close();
  }
}

/** DELETE a file. */
export async function handleDelete(
  ctx: HandlerContext,
  req: DeleteRequest,
  log: LogFields,
): Promise<void> {
  const path = parseRemotePath(req.path, `Cannot delete ${quotePath(req.path)}`);
  log.path = path.text;
  const what = `Cannot delete "${path.text || "/"}"`;
  requireWrite(ctx, what);
  await storeCall(what, () => ctx.store.remove(path));
  await ctx.respond(okResponse());
}

/** DIR: entries in batches of {@link DIR_BATCH}, `more: true` on all but the last. */
export async function handleDir(ctx: HandlerContext, req: DirRequest, log: LogFields) {
  const path = parseRemotePath(req.path, `Cannot list ${quotePath(req.path)}`);
  log.path = path.text;
  const what = `Cannot list "${path.text || "/"}"`;
  // One batch is held back so the last one can say `more: false`.
  let batch: DirEntry[] = [];
  let count = 0;
  try {
    for await (const entry of ctx.store.list(path)) {
      if (batch.length === DIR_BATCH) {
        await ctx.conn.send(dirResponse(batch, true));
        batch = [];
      }
      batch.push(toDirEntry(entry));
      count++;
    }
  } catch (err) {
    throw toWireError(what, err);
  }
  log.entries = count;
  await ctx.respond(dirResponse(batch, false));
}

function toDirEntry(e: StoreEntry): DirEntry {
  return {
    name: e.name,
    type: e.kind === "folder" ? "dir" : "file",
    size: e.size,
    mtime: e.mtime.toISOString(),
  };
}

/** MKDIR (with parents). */
export async function handleMkdir(ctx: HandlerContext, req: MkdirRequest, log: LogFields) {
  const path = parseRemotePath(req.path, `Cannot create folder ${quotePath(req.path)}`);
  log.path = path.text;
  const what = `Cannot create folder "${path.text || "/"}"`;
  requireWrite(ctx, what);
  await storeCall(what, () => ctx.store.mkdir(path));
  await ctx.respond(okResponse());
}

/** RMDIR, recursive only when asked. */
export async function handleRmdir(ctx: HandlerContext, req: RmdirRequest, log: LogFields) {
  const path = parseRemotePath(req.path, `Cannot remove folder ${quotePath(req.path)}`);
  log.path = path.text;
  log.recursive = req.recursive;
  const what = `Cannot remove folder "${path.text || "/"}"`;
  requireWrite(ctx, what);
  await storeCall(what, () => ctx.store.rmdir(path, req.recursive));
  await ctx.respond(okResponse());
}

/** DF: bytes under the user's root, their quota and what it leaves, the largest upload. */
export async function handleDf(ctx: HandlerContext, _req: DfRequest, log: LogFields) {
  const usage = await storeCall(
    "Cannot measure your usage",
    () => usageOf(ctx.store, ctx.limits.quota),
  );
  Object.assign(log, usage);
  await ctx.respond(dfResponse({ ...usage, maxUpload: ctx.limits.maxUpload }));
}

/** RENAME a file or folder within the root; replaces a file only with `overwrite`. */
export async function handleRename(ctx: HandlerContext, req: RenameRequest, log: LogFields) {
  log.path = req.from;
  log.to = req.to;
  log.overwrite = req.overwrite;
  let what = `Cannot rename ${quotePath(req.from)}`;
  const from = parseRemotePath(req.from, what);
  log.path = from.text;
  what = `Cannot rename "${from.text || "/"}"`;
  const to = parseRemotePath(req.to, `${what} to ${quotePath(req.to)}`);
  log.to = to.text;
  what = `Cannot rename "${from.text || "/"}" to "${to.text || "/"}"`;
  requireWrite(ctx, what);
  await storeCall(what, () => ctx.store.rename(from, to, { overwrite: req.overwrite }));
  await ctx.respond(okResponse());
}

/** BENCH_MARK: the client's load-test marker, logged as bench_start / bench_end. */
export async function handleBenchMark(
  ctx: HandlerContext,
  req: BenchMarkRequest,
  log: LogFields,
): Promise<void> {
  log.event = req.phase === "start" ? "bench_start" : "bench_end";
  log.run = req.run;
  // Marks go into the shared log that every report is built from: only writers may add them.
  requireWrite(ctx, "Cannot mark a load-test run in the log");
  Object.assign(log, req.stats);
  await ctx.respond(okResponse());
}
