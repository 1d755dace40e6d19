import { ConnectionError, FileshareError } from "../protocol/errors.ts";
import { errorLine, UsageError } from "../cli/errors.ts";
import { baseName } from "../cli/paths.ts";
import { ProgressBar } from "../cli/progress.ts";
import { BatchProgress } from "../cli/batch_progress.ts";
import type { FileshareClient } from "../client/client.ts";
import type { UploadJob } from "../client/pipeline.ts";
import type { CommandCall, CommandContext, CommandOutput, RemoteCommand } from "./command.ts";
import { FOLLOW_SYMLINKS, NO_TIMES, OVERWRITE, RECURSIVE_TRANSFER, RESUME } from "./flags.ts";
import { hasWildcard, matchNames, splitPattern } from "./glob.ts";
import { walkLocal } from "./local_tree.ts";
import { remoteJoin } from "./remote_path.ts";
import { runBatch } from "./batch_run.ts";
import { alreadyThereNotice, notAlreadyThere, remoteStamps } from "./already_there.ts";
import { transferJson, transferSummary } from "./transfer_summary.ts";

/**
 * Where an upload goes: REMOTE as given, else the local file's name; a REMOTE ending in `/`
 * is a folder to upload into.
 */
function uploadTarget(ctx: CommandContext, local: string, remote: string | undefined): string {
  const given = remote ?? baseName(local);
  const target = ctx.remotePath(given);
  return given.endsWith("/") ? remoteJoin(target, baseName(local)) : target;
}

/** The size of the local file, or a one-line error naming it. */
async function localFileSize(local: string, typed: string): Promise<number> {
  const info = await Deno.stat(local).catch((err) => {
    if (err instanceof Deno.errors.NotFound) {
      throw new FileshareError("NOT_FOUND", `Cannot upload "${typed}": local file not found`);
    }
    throw err;
  });
  if (info.isDirectory) {
    throw new FileshareError("BAD_REQUEST", `Cannot upload "${typed}": is a folder (use -r)`);
  }
  if (!info.isFile) throw new FileshareError("BAD_REQUEST", `Cannot upload "${typed}": not a file`);
  return info.size;
}

function transferOptions(ctx: CommandContext, call: CommandCall) {
  return {
    overwrite: call.flags.overwrite ?? false,
    times: !(call.flags["no-times"] ?? false),
    signal: ctx.signal,
    resume: call.flags.resume ?? false,
    // Cut off, the bytes stay for --resume in the one-shot CLI, and in the shell when resuming
    // already; the shell's Ctrl-C otherwise cancels one command and leaves nothing.
    keepPartial: (ctx.keepPartials ?? false) || (call.flags.resume ?? false),
  };
}

/** Whether a transfer was cut off (cancelled, connection lost, timed out), not refused. */
function cutOff(err: unknown): boolean {
  return err instanceof ConnectionError ||
    (err instanceof FileshareError && (err.code === "CANCELLED" || err.code === "TIMEOUT"));
}

const KEPT_ADVICE = "the server keeps what it received for a while: rerun with --resume to " +
  "continue";

/** One file, as before: a progress bar of its own and the one summary line. */
async function uploadOne(
  ctx: CommandContext,
  call: CommandCall,
  typed: string,
  remoteArg: string | undefined,
): Promise<CommandOutput> {
  const local = ctx.localPath(typed);
  const remote = uploadTarget(ctx, typed, remoteArg);
  const size = await localFileSize(local, typed);
  const client = await ctx.client();
  const bar = ctx.progress ? new ProgressBar(ctx.progress, remote, size) : null;
  let sent = 0;
  try {
    const r = await client.uploadFile(local, remote, {
      ...transferOptions(ctx, call),
      onProgress: (done) => {
        sent = done;
        bar?.update(done);
      },
    });
    return {
      text: transferSummary("uploaded", remote, r),
      json: transferJson("upload", { local, remote }, r),
    };
  } catch (err) {
    if (
      cutOff(err) && sent > 0 && (ctx.keepPartials || call.flags.resume) && err instanceof Error
    ) {
      err.message += `; ${KEPT_ADVICE}`;
    }
    throw err;
  } finally {
    bar?.clear();
  }
}

/** stdin to REMOTE: a body of unknown length, verified and stored atomically all the same. */
async function uploadStdin(
  ctx: CommandContext,
  call: CommandCall,
  remoteArg: string | undefined,
): Promise<CommandOutput> {
  if (remoteArg === undefined || remoteArg.endsWith("/")) {
    throw new UsageError('Uploading stdin ("-") needs a REMOTE file name');
  }
  if (call.flags.resume) {
    throw new UsageError('Cannot resume an upload of stdin ("-"): a stream cannot be read again');
  }
  const remote = ctx.remotePath(remoteArg);
  const client = await ctx.client();
  const r = await client.upload(Deno.stdin, null, remote, {
    ...transferOptions(ctx, call),
    mtime: new Date(),
  });
  return {
    text: transferSummary("uploaded", remote, r),
    json: transferJson("upload", { local: "-", remote }, r),
  };
}

/** Local names for the typed arguments: wildcards expanded, the rest as typed. */
async function expandLocal(ctx: CommandContext, typed: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const arg of typed) {
    // Only a name with a wildcard is looked at here (one that exists is taken as typed).
    if (!hasWildcard(arg) || await Deno.lstat(ctx.localPath(arg)).then(() => true, () => false)) {
      out.push(arg);
      continue;
    }
    const { dir, name } = splitPattern(arg);
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(ctx.localPath(dir || "."))) names.push(e.name);
    } catch {
      // an unreadable folder matches nothing
    }
    const matched = matchNames(name, names);
    if (matched.length === 0) {
      throw new FileshareError("NOT_FOUND", `No local file matches "${arg}"`);
    }
    out.push(...matched.map((n) => (dir ? `${dir}/${n}` : n)));
  }
  return out;
}

/** lstat of each path (null where it fails), 64 at a time. */
async function lstatAll(paths: readonly string[]): Promise<(Deno.FileInfo | null)[]> {
  const out: (Deno.FileInfo | null)[] = [];
  for (let i = 0; i < paths.length; i += 64) {
    out.push(
      ...await Promise.all(paths.slice(i, i + 64).map((p) => Deno.lstat(p).catch(() => null))),
    );
  }
  return out;
}

/** Creates a remote folder unless it is there already. */
async function ensureRemoteFolder(client: FileshareClient, path: string): Promise<void> {
  if (path === "") return;
  try {
    await client.mkdir(path);
  } catch (err) {
    if (!(err instanceof FileshareError && err.reason === "exists_folder")) throw err;
  }
}

/**
 * Several files and whole folders: one overall progress line, one line per failure while the
 * rest go on, a summary at the end.
 */
async function uploadMany(
  ctx: CommandContext,
  call: CommandCall,
  sources: readonly string[],
  dest: string | undefined,
): Promise<CommandOutput> {
  const recursive = call.flags.recursive ?? false;
  const follow = call.flags["follow-symlinks"] ?? false;
  // Several sources, or a destination ending in "/": each goes into the destination folder.
  const into = dest === undefined || dest.endsWith("/") || sources.length > 1;
  const base = ctx.remotePath(dest ?? "");
  const jobs: UploadJob[] = [];
  const folders: string[] = [];
  let failed = 0;
  let skipped = 0;
  let total = 0;
  const fail = (line: string) => {
    failed++;
    ctx.notice(line);
  };
  const locals = sources.map((typed) => ctx.localPath(typed));
  // Looked at in parallel batches: one at a time, 1,000 files waited 1,000 times in turn.
  const infos = await lstatAll(locals);
  for (const [i, typed] of sources.entries()) {
    const local = locals[i];
    const info = infos[i];
    const target = into ? remoteJoin(base, baseName(local)) : base;
    // What a link leads to (a link is not followed only by -r without --follow-symlinks).
    const followed = info?.isSymlink ? await Deno.stat(local).catch(() => info) : info;
    if (info === null || followed === null) {
      fail(`Cannot upload "${typed}": local file not found`);
    } else if (info.isSymlink && !follow && recursive) {
      skipped++;
      ctx.notice(`skipped "${typed}": symlink (use --follow-symlinks)`);
    } else if (followed.isDirectory) {
      if (!recursive) {
        fail(`Cannot upload "${typed}": is a folder (use -r)`);
        continue;
      }
      const tree = await walkLocal(local, follow);
      folders.push(target, ...tree.folders.map((f) => remoteJoin(target, f)));
      for (const f of tree.files) {
        jobs.push({ local: f.local, remote: remoteJoin(target, f.rel) });
        total += f.size;
      }
      for (const s of tree.skipped) {
        skipped++;
        ctx.notice(`skipped "${typed}/${s.rel}": ${s.why}`);
      }
    } else {
      jobs.push({ local, remote: target });
      total += followed.size;
    }
  }
  const client = await ctx.client();
  const options = transferOptions(ctx, call);
  if (options.resume && !options.overwrite) {
    // Files that arrived whole in the interrupted run are not sent again (nor refused).
    const stamps = await remoteStamps(client, jobs.map((j) => j.remote));
    const there = await notAlreadyThere(jobs, stamps);
    if (there.skipped > 0) {
      total -= there.skippedBytes;
      skipped += there.skipped;
      ctx.notice(alreadyThereNotice(there.skipped));
      jobs.splice(0, jobs.length, ...there.left);
    }
  }
  const started = performance.now();
  const progress = new BatchProgress(ctx.progress, jobs.length, total);
  if (into && base !== "") await ensureRemoteFolder(client, base).catch(() => {});
  for (const folder of folders) {
    await ensureRemoteFolder(client, folder).catch((err) =>
      progress.above(errorLine(err), (l) => ctx.notice(l))
    );
  }
  let cut = false;
  try {
    return await runBatch<UploadJob>(ctx, {
      op: "upload",
      verb: "uploaded",
      progress,
      started,
      skipped,
      failed: () => failed,
      fail,
      run: async (hooks) => {
        const outcomes = await client.uploadFiles(jobs, { ...options, ...hooks });
        cut = options.keepPartial && outcomes.some((o) => cutOff(o.error));
        return outcomes;
      },
      names: (job) => ({ local: job.local, remote: job.remote }),
    });
  } finally {
    // The file in progress when the batch was cut off stays on the server for a resume.
    if (cut) ctx.notice(`Cut off: ${KEPT_ADVICE}`);
  }
}

async function upload(ctx: CommandContext, call: CommandCall): Promise<CommandOutput> {
  const args = call.args;
  if (args[0] === "-") {
    if (args.length > 2) throw new UsageError('Upload stdin ("-") alone, to one REMOTE file');
    return await uploadStdin(ctx, call, args[1]);
  }
  const sources = await expandLocal(ctx, args.length === 1 ? args : args.slice(0, -1));
  const dest = args.length === 1 ? undefined : args.at(-1)!;
  if (sources.length === 1 && !call.flags.recursive && args.length <= 2) {
    return await uploadOne(ctx, call, sources[0], dest);
  }
  // `upload A B C DIR`: the last argument is a folder even without its "/".
  const folder = args.length > 2 && !dest!.endsWith("/") ? `${dest}/` : dest;
  return await uploadMany(ctx, call, sources, folder);
}

async function mput(ctx: CommandContext, call: CommandCall): Promise<CommandOutput> {
  const sources = await expandLocal(ctx, call.args);
  return await uploadMany(ctx, call, sources, "./");
}

const UPLOAD_FLAGS = [OVERWRITE, RECURSIVE_TRANSFER, FOLLOW_SYMLINKS, NO_TIMES, RESUME];

/** `upload LOCAL... [REMOTE]` (shell `put`). */
export const UPLOAD: RemoteCommand = {
  kind: "remote",
  name: "upload",
  shellName: "put",
  aliases: ["put"],
  surfaces: ["cli", "shell"],
  args: "LOCAL... [REMOTE]",
  minArgs: 1,
  maxArgs: Infinity,
  flags: UPLOAD_FLAGS,
  argKinds: ["local"],
  summary: "upload files or (-r) folders; a REMOTE ending in / is a folder; - is stdin",
  about: "Upload a local file. REMOTE defaults to the file's name in the current remote folder " +
    '(the shared root for the one-shot CLI); a REMOTE ending in "/" is a folder to upload ' +
    "into. Several files (or wildcards: *, ?, [..]) go into the folder named last. -r uploads " +
    "a folder with everything in it, creating remote folders as needed; local symlinks are " +
    'skipped and counted unless --follow-symlinks. "-" uploads stdin to REMOTE. Files keep ' +
    "their modification time unless --no-times. Refuses to replace a file unless --overwrite. " +
    "An upload cut off in the one-shot CLI is kept by the server (24 h by default, never " +
    "listed); --resume (-a) continues each file after what was kept once its SHA-256 matches " +
    "the file's first bytes (else it starts again), and checks the whole file's SHA-256 at " +
    "the end; files already there whole (same size and time) are skipped. A stream (stdin) " +
    "cannot be resumed.",
  examples: [
    "report.pdf docs/",
    "report.pdf",
    "a.txt b.txt c.txt docs/",
    "-r photos backup/",
    "- backup.tar < backup.tar",
    "--resume big.iso",
  ],
  run: upload,
};

/** Shell `reput LOCAL... [REMOTE]`: `put --resume`, as in sftp. */
export const REPUT: RemoteCommand = {
  ...UPLOAD,
  name: "reput",
  shellName: "reput",
  aliases: [],
  surfaces: ["shell"],
  flags: UPLOAD_FLAGS.filter((f) => f !== RESUME),
  summary: "continue an interrupted upload (put --resume)",
  examples: ["big.iso", "-r photos backup/"],
  run: (ctx, call) => upload(ctx, { ...call, flags: { ...call.flags, resume: true } }),
};

/** `mput PATTERN...`: files matching local wildcards into the current remote folder. */
export const MPUT: RemoteCommand = {
  kind: "remote",
  name: "mput",
  aliases: [],
  surfaces: ["shell"],
  args: "PATTERN...",
  minArgs: 1,
  maxArgs: Infinity,
  flags: UPLOAD_FLAGS,
  argKinds: ["local"],
  summary: "upload local files matching *, ? or [..] into the remote folder",
  about: "Upload every local file matching the patterns (*, ?, [..], expanded in the local " +
    "folder) into the current remote folder; -r takes matching folders too.",
  examples: ["*.jpg", "report-202[56]-??.pdf"],
  run: mput,
};
