import { baseName } from "../cli/paths.ts";
import { ProgressBar } from "../cli/progress.ts";
import type { CommandCall, CommandContext, CommandOutput, RemoteCommand } from "./command.ts";
import { FSYNC, OVERWRITE } from "./flags.ts";
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

async function download(ctx: CommandContext, call: CommandCall): Promise<CommandOutput> {
  const remote = ctx.remotePath(call.args[0]);
  const local = await downloadTarget(ctx, remote, call.args[1]);
  const client = await ctx.client();
  let bar: ProgressBar | null = null;
  try {
    const r = await client.downloadFile(remote, local, {
      overwrite: call.flags.overwrite ?? false,
      fsync: call.flags.fsync ?? false,
      onSize: (size) => {
        if (ctx.progress) bar = new ProgressBar(ctx.progress, remote, size);
      },
      onProgress: (done) => bar?.update(done),
      signal: ctx.signal,
    });
    return {
      text: transferSummary("downloaded", remote, r),
      json: transferJson("download", { local, remote }, r),
    };
  } finally {
    (bar as ProgressBar | null)?.clear();
  }
}

/** `download REMOTE [LOCAL]` (shell `get`). */
export const DOWNLOAD: RemoteCommand = {
  kind: "remote",
  name: "download",
  shellName: "get",
  aliases: ["get"],
  surfaces: ["cli", "shell"],
  args: "REMOTE [LOCAL]",
  minArgs: 1,
  maxArgs: 2,
  flags: [OVERWRITE, FSYNC],
  argKinds: ["remote", "local"],
  summary: "download a file, SHA-256 verified",
  about: "Download a file, verified by SHA-256, to LOCAL (default: its name in the current " +
    "local folder; a folder means into it). Never replaces a local file unless --overwrite. " +
    "--fsync flushes it to disk before it takes its name (off by default, as with rsync).",
  examples: ["docs/report.pdf", "docs/report.pdf ~/Desktop/"],
  run: download,
};
