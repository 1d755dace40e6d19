import type { FrameConn } from "../protocol/conn.ts";
import { ConnectionError, FileshareError, ProtocolError } from "../protocol/errors.ts";
import type {
  BenchMarkRequest,
  DeleteRequest,
  DirRequest,
  DownloadRequest,
  MkdirRequest,
  RmdirRequest,
  UploadRequest,
} from "../protocol/messages.ts";
import {
  type CommandResponse,
  dirResponse,
  downloadResponse,
  okResponse,
  readyResponse,
  uploadResponse,
} from "../protocol/responses.ts";
import { parseRemotePath, quotePath } from "../store/paths.ts";
import type { Store, WriteHandle } from "../store/store.ts";
import { receiveBody, sendBody } from "../transfer.ts";
import type { ActivityEvent } from "../log/events.ts";

/** What a handler sees of its session. */
export interface HandlerContext {
  conn: FrameConn;
  store: Store;
  readOnly: boolean;
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
 * UPLOAD: checks, READY (skipped for an eager upload, whose body follows the request at once),
 * body into an atomic write, commit, OK.
 */
export async function handleUpload(
  ctx: HandlerContext,
  req: UploadRequest,
  log: LogFields,
): Promise<void> {
  log.size = req.size;
  log.bytes = 0;
  log.overwrite = req.overwrite;
  let write: WriteHandle;
  try {
    const path = parseRemotePath(req.path, `Cannot upload ${quotePath(req.path)}`);
    log.path = path.text;
    requireWrite(ctx, `Cannot upload "${path.text}"`);
    write = await ctx.store.createWrite(path, { overwrite: req.overwrite });
  } catch (err) {
    // An eager body is already on its way: read and drop it so the answer stays in step.
    if (req.eager) await drainBody(ctx.conn, req.size);
    throw err;
  }
  try {
    if (!req.eager) await ctx.conn.send(readyResponse());
    const body = await receiveBody(ctx.conn, req.size, write, {
      onProgress: (done) => (log.bytes = done),
    });
    await write.commit();
    log.sha256 = body.sha256;
    await ctx.respond(uploadResponse(body.bytes, body.sha256));
  } finally {
    await write.abort();
  }
}

async function drainBody(conn: FrameConn, size: number): Promise<void> {
  try {
    await receiveBody(conn, size, null);
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
  const path = parseRemotePath(req.path, `Cannot download ${quotePath(req.path)}`);
  log.path = path.text;
  log.bytes = 0;
  using file = await ctx.store.openRead(path);
  log.size = file.size;
  await ctx.respond(downloadResponse(file.size, file.mtime));
  const body = await sendBody(ctx.conn, file, file.size, {
    onProgress: (done) => (log.bytes = done),
  });
  log.sha256 = body.sha256;
}

/** DELETE a file. */
export async function handleDelete(
  ctx: HandlerContext,
  req: DeleteRequest,
  log: LogFields,
): Promise<void> {
  const path = parseRemotePath(req.path, `Cannot delete ${quotePath(req.path)}`);
  log.path = path.text;
  requireWrite(ctx, `Cannot delete "${path.text}"`);
  await ctx.store.remove(path);
  await ctx.respond(okResponse());
}

/** DIR: entries in batches of {@link DIR_BATCH}, `more: true` on all but the last. */
export async function handleDir(ctx: HandlerContext, req: DirRequest, log: LogFields) {
  const path = parseRemotePath(req.path, `Cannot list ${quotePath(req.path)}`);
  log.path = path.text;
  const entries = await ctx.store.list(path);
  log.entries = entries.length;
  for (let i = DIR_BATCH; i < entries.length; i += DIR_BATCH) {
    await ctx.conn.send(dirResponse(entries.slice(i - DIR_BATCH, i), true));
  }
  const last = entries.length === 0 ? 0 : Math.floor((entries.length - 1) / DIR_BATCH) * DIR_BATCH;
  await ctx.respond(dirResponse(entries.slice(last), false));
}

/** MKDIR (with parents). */
export async function handleMkdir(ctx: HandlerContext, req: MkdirRequest, log: LogFields) {
  const path = parseRemotePath(req.path, `Cannot create folder ${quotePath(req.path)}`);
  log.path = path.text;
  requireWrite(ctx, `Cannot create folder "${path.text}"`);
  await ctx.store.mkdir(path);
  await ctx.respond(okResponse());
}

/** RMDIR, recursive only when asked. */
export async function handleRmdir(ctx: HandlerContext, req: RmdirRequest, log: LogFields) {
  const path = parseRemotePath(req.path, `Cannot remove folder ${quotePath(req.path)}`);
  log.path = path.text;
  log.recursive = req.recursive;
  requireWrite(ctx, `Cannot remove folder "${path.text}"`);
  await ctx.store.rmdir(path, req.recursive);
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
  Object.assign(log, req.stats);
  await ctx.respond(okResponse());
}
