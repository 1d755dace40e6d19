import { FileshareError } from "../protocol/errors.ts";
import { errorLine, UsageError } from "../cli/errors.ts";
import { baseName } from "../cli/paths.ts";
import { ProgressBar } from "../cli/progress.ts";
import { BatchProgress } from "../cli/batch_progress.ts";
import type { FileshareClient } from "../client/client.ts";
import type { DownloadJob } from "../client/pipeline.ts";
import { writeAll } from "../write_all.ts";
import type { CommandCall, CommandContext, CommandOutput, RemoteCommand } from "./command.ts";
import { FSYNC, NO_TIMES, OVERWRITE, RECURSIVE_TRANSFER, RESUME } from "./flags.ts";
import { hasWildcard, matchNames, splitPattern } from "./glob.ts";
import { listTree } from "./dir.ts";
import { remoteJoin } from "./remote_path.ts";
import { runBatch } from "./batch_run.ts";
import {
  alreadyThereNotice,
  type FileStamp,
  notAlreadyThere,
  remoteStamps,
} from "./already_there.ts";
import { transferJson, transferSummary } from "./transfer_summary.ts";

/** Where a download goes: LOCAL as given, else the remote name; a local folder means into it. */
async function downloadTarget(
  ctx: CommandContext,
  remote: string,
  typed: string | undefined,
): Promise<string> {
  const local = ctx.localPath(typed ?? baseName(remote));
  const info = await Deno.stat(local).catch(() => null);
  return info?.isDirectory ? `${local.replace(/\/+$/, "")}/${baseName(remote)}` : local;
}

function transferOptions(ctx: CommandContext, call: CommandCall) {
  return {
    overwrite: call.flags.overwrite ?? false,
    fsync: call.flags.fsync ?? false,
    times: !(call.flags["no-times"] ?? false),
    signal: ctx.signal,
    resume: call.flags.resume ?? false,
    // Cut off, the bytes stay for --resume in the one-shot CLI, and in the shell when resuming
    // already; the shell's Ctrl-C otherwise cancels one command and leaves nothing.
    keepPartial: (ctx.keepPartials ?? false) || (call.flags.resume ?? false),
  };
}

async function downloadOne(
  ctx: CommandContext,
  call: CommandCall,
  remote: string,
  localArg: string | undefined,
): Promise<CommandOutput> {
  const local = await downloadTarget(ctx, remote, localArg);
  const client = await ctx.client();
  let bar: ProgressBar | null = null;
  try {
    const r = await client.downloadFile(remote, local, {
      ...transferOptions(ctx, call),
      onSize: (size) => {
        if (ctx.progress) bar = new ProgressBar(ctx.progress, remote, size);
      },
      onProgress: (done) => bar?.update(done),
    });
    return {
      text: transferSummary("downloaded", remote, r),
      json: transferJson("download", { local, remote }, r),
    };
  } finally {
    (bar as ProgressBar | null)?.clear();
  }
}

/**
 * REMOTE to stdout, for pipes (`| tar x`). The bytes reach stdout as they arrive; the SHA-256
 * is checked at the end and a mismatch fails the command (exit 1), so a pipeline can tell.
 * The summary goes to stderr: stdout carries only the file.
 */
async function downloadStdout(ctx: CommandContext, remote: string): Promise<CommandOutput> {
  const client = await ctx.client();
  const r = await client.download(remote, () =>
    Promise.resolve({
      write: async (p: Uint8Array) => {
        await writeAll(Deno.stdout, p);
        return p.length;
      },
    }), { signal: ctx.signal });
  ctx.notice(transferSummary("downloaded", remote, r));
  return { text: "", json: transferJson("download", { local: "-", remote }, r) };
}

/** A name from a listing that is safe to use as one local path segment. */
function safeName(name: string): boolean {
  return name !== "" && name !== "." && name !== ".." && !/[\\/\0]/.test(name);
}

/** Remote paths for the typed arguments: wildcards matched against the server's listing. */
async function expandRemote(
  ctx: CommandContext,
  client: FileshareClient,
  typed: readonly string[],
): Promise<{ path: string; dir: boolean }[]> {
  const out: { path: string; dir: boolean }[] = [];
  for (const arg of typed) {
    const { dir, name } = splitPattern(arg);
    const folder = ctx.remotePath(dir || ".");
    if (!hasWildcard(name)) {
      out.push({ path: ctx.remotePath(arg), dir: false });
      continue;
    }
    const entries = await client.list(folder);
    const matched = matchNames(name, entries.map((e) => e.name));
    if (matched.length === 0) {
      throw new FileshareError("NOT_FOUND", `No remote file matches "${arg}"`);
    }
    for (const m of matched) {
      out.push({
        path: remoteJoin(folder, m),
        dir: entries.find((e) => e.name === m)?.type === "dir",
      });
    }
  }
  return out;
}

/** Several files and whole folders into a local folder, with one progress line. */
async function downloadMany(
  ctx: CommandContext,
  call: CommandCall,
  sources: readonly string[],
  dest: string | undefined,
): Promise<CommandOutput> {
  const recursive = call.flags.recursive ?? false;
  const client = await ctx.client();
  const remotes = await expandRemote(ctx, client, sources);
  const base = ctx.localPath(dest ?? ".");
  const baseInfo = await Deno.stat(base).catch(() => null);
  // Into the folder when it exists, is named with a final "/" or several things go there;
  // else the copy takes its name. A missing folder is made, as upload makes a remote one.
  const into = baseInfo?.isDirectory === true || remotes.length > 1 ||
    (dest?.endsWith("/") ?? false);
  if (into && baseInfo && !baseInfo.isDirectory) {
    throw new FileshareError("BAD_REQUEST", `Cannot download into "${dest}": not a folder`);
  }
  const jobs: DownloadJob[] = [];
  /** Sizes and times of the remote files, as the listings gave them. */
  const listed = new Map<string, FileStamp>();
  const folders: string[] = into && !baseInfo ? [base] : [];
  let failed = 0;
  let skipped = 0;
  let total = 0;
  const fail = (line: string) => {
    failed++;
    ctx.notice(line);
  };
  for (const { path, dir } of remotes) {
    const target = into ? `${base.replace(/\/+$/, "")}/${baseName(path)}` : base;
    if (!recursive) {
      if (dir) fail(`Cannot download "${path}": is a folder (use -r)`);
      else jobs.push({ remote: path, local: target });
      continue;
    }
    let tree;
    try {
      tree = await listTree(client, path);
    } catch (err) {
      // Not a folder: a file among folders.
      if (err instanceof FileshareError && err.reason === "not_folder") {
        jobs.push({ remote: path, local: target });
      } else fail(errorLine(err));
      continue;
    }
    folders.push(target);
    for (const folder of tree) {
      const rel = folder.path.slice(path.length).replace(/^\//, "");
      const localDir = rel === "" ? target : `${target}/${rel}`;
      for (const e of folder.entries) {
        if (!safeName(e.name)) {
          skipped++;
          ctx.notice(`skipped ${JSON.stringify(e.name)} in "${folder.path}": not a usable name`);
        } else if (e.type === "dir") {
          folders.push(`${localDir}/${e.name}`);
        } else {
          const remote = remoteJoin(folder.path, e.name);
          jobs.push({ remote, local: `${localDir}/${e.name}` });
          listed.set(remote, { size: e.size, mtime: new Date(e.mtime) });
          total += e.size;
        }
      }
    }
  }
  for (const folder of folders) await Deno.mkdir(folder, { recursive: true });
  const options = transferOptions(ctx, call);
  if (options.resume && !options.overwrite) {
    // Files that arrived whole in the interrupted run are not fetched again (nor refused).
    const unlisted = jobs.filter((j) => !listed.has(j.remote)).map((j) => j.remote);
    for (const [path, stamp] of await remoteStamps(client, unlisted)) listed.set(path, stamp);
    const there = await notAlreadyThere(jobs, listed);
    if (there.skipped > 0) {
      total -= there.skippedBytes;
      skipped += there.skipped;
      ctx.notice(alreadyThereNotice(there.skipped));
      jobs.splice(0, jobs.length, ...there.left);
    }
  }
  const started = performance.now();
  const progress = new BatchProgress(ctx.progress, jobs.length, total);
  return await runBatch<DownloadJob>(ctx, {
    op: "download",
    verb: "downloaded",
    progress,
    started,
    skipped,
    failed: () => failed,
    fail,
    run: (hooks) => client.downloadFiles(jobs, { ...options, ...hooks }),
    names: (job) => ({ remote: job.remote, local: job.local }),
  });
}

async function download(ctx: CommandContext, call: CommandCall): Promise<CommandOutput> {
  const args = call.args;
  const dest = args.length === 1 ? undefined : args.at(-1)!;
  const sources = args.length === 1 ? args : args.slice(0, -1);
  if (dest === "-") {
    if (sources.length !== 1 || call.flags.recursive) {
      throw new UsageError('Download one file to stdout ("-")');
    }
    if (call.flags.resume) {
      throw new UsageError('Cannot resume a download to stdout ("-"): resume into a file');
    }
    return await downloadStdout(ctx, ctx.remotePath(sources[0]));
  }
  if (sources.length === 1 && !call.flags.recursive && !hasWildcard(sources[0])) {
    return await downloadOne(ctx, call, ctx.remotePath(sources[0]), dest);
  }
  return await downloadMany(ctx, call, sources, dest);
}

async function mget(ctx: CommandContext, call: CommandCall): Promise<CommandOutput> {
  return await downloadMany(ctx, call, call.args, ".");
}

const DOWNLOAD_FLAGS = [OVERWRITE, FSYNC, RECURSIVE_TRANSFER, NO_TIMES, RESUME];

/** `download REMOTE... [LOCAL]` (shell `get`). */
export const DOWNLOAD: RemoteCommand = {
  kind: "remote",
  name: "download",
  shellName: "get",
  aliases: ["get"],
  surfaces: ["cli", "shell"],
  args: "REMOTE... [LOCAL]",
  minArgs: 1,
  maxArgs: Infinity,
  flags: DOWNLOAD_FLAGS,
  argKinds: ["remote"],
  summary: "download files or (-r) folders, SHA-256 verified; - is stdout",
  about: "Download a file, verified by SHA-256, to LOCAL (default: its name in the current " +
    "local folder; a folder means into it). Several files (or remote wildcards: *, ?, [..], " +
    "matched against the listing) go into the local folder named last, made if missing. -r " +
    'downloads a folder with everything in it (into LOCAL when it exists or ends in "/"). ' +
    '"-" as LOCAL writes the file to stdout. Files get the ' +
    "server's modification time unless --no-times. Never replaces a local file unless " +
    "--overwrite. --fsync flushes each file to disk before it takes its name (off by " +
    "default, as with rsync). A download cut off in the one-shot CLI keeps what arrived in a " +
    "hidden partial file next to LOCAL, named in the message; --resume (-a) continues each " +
    "file after it once its SHA-256 matches the server's first bytes (else it starts again), " +
    "and checks the whole file's SHA-256 at the end; files already there whole (same size " +
    "and time) are skipped.",
  examples: [
    "docs/report.pdf",
    "docs/report.pdf ~/Desktop/",
    "'docs/*.pdf' ./pdfs/",
    "-r photos ./backup",
    "backup.tar - | tar x",
    "--resume big.iso",
  ],
  run: download,
};

/** Shell `reget REMOTE... [LOCAL]`: `get --resume`, as in sftp. */
export const REGET: RemoteCommand = {
  ...DOWNLOAD,
  name: "reget",
  shellName: "reget",
  aliases: [],
  surfaces: ["shell"],
  flags: DOWNLOAD_FLAGS.filter((f) => f !== RESUME),
  summary: "continue an interrupted download (get --resume)",
  examples: ["big.iso", "-r photos ./backup"],
  run: (ctx, call) => download(ctx, { ...call, flags: { ...call.flags, resume: true } }),
};

/** `mget PATTERN...`: remote files matching wildcards into the current local folder. */
export const MGET: RemoteCommand = {
  kind: "remote",
  name: "mget",
  aliases: [],
  surfaces: ["shell"],
  args: "PATTERN...",
  minArgs: 1,
  maxArgs: Infinity,
  flags: DOWNLOAD_FLAGS,
  argKinds: ["remote"],
  summary: "download remote files matching *, ? or [..] into the local folder",
  about: "Download every remote file matching the patterns (*, ?, [..], matched against the " +
    "listing of the remote folder) into the current local folder; -r takes matching folders " +
    "too.",
  examples: ["*.jpg", "reports/q?.pdf"],
  run: mget,
};
