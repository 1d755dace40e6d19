import { FileshareError } from "../protocol/errors.ts";
import { baseName } from "../cli/paths.ts";
import { ProgressBar } from "../cli/progress.ts";
import type { CommandCall, CommandContext, CommandOutput, RemoteCommand } from "./command.ts";
import { OVERWRITE } from "./flags.ts";
import { remoteJoin } from "./remote_path.ts";
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
  if (!info.isFile) throw new FileshareError("BAD_REQUEST", `Cannot upload "${typed}": not a file`);
  return info.size;
}

async function upload(ctx: CommandContext, call: CommandCall): Promise<CommandOutput> {
  const [typed, remoteArg] = call.args;
  const local = ctx.localPath(typed);
  const remote = uploadTarget(ctx, typed, remoteArg);
  const size = await localFileSize(local, typed);
  const client = await ctx.client();
  const bar = ctx.progress ? new ProgressBar(ctx.progress, remote, size) : null;
  try {
    const r = await client.uploadFile(local, remote, {
      overwrite: call.flags.overwrite ?? false,
      onProgress: bar ? (done) => bar.update(done) : undefined,
      signal: ctx.signal,
    });
    return {
      text: transferSummary("uploaded", remote, r),
      json: transferJson("upload", { local, remote }, r),
    };
  } finally {
    bar?.clear();
  }
}

/** `upload LOCAL [REMOTE]` (shell `put`). */
export const UPLOAD: RemoteCommand = {
  kind: "remote",
  name: "upload",
  shellName: "put",
  aliases: ["put"],
  surfaces: ["cli", "shell"],
  args: "LOCAL [REMOTE]",
  minArgs: 1,
  maxArgs: 2,
  flags: [OVERWRITE],
  argKinds: ["local", "remote"],
  summary: "upload a file; a REMOTE ending in / is a folder",
  about: "Upload a local file. REMOTE defaults to the file's name in the current remote folder " +
    '(the shared root for the one-shot CLI); a REMOTE ending in "/" is a folder to upload ' +
    "into. Refuses to replace a file unless --overwrite.",
  examples: ["report.pdf docs/", "report.pdf", "a.txt b.txt --overwrite"],
  run: upload,
};
