import type { CommandCall, CommandContext, CommandOutput, RemoteCommand } from "./command.ts";
import { OVERWRITE } from "./flags.ts";
import { remoteJoin } from "./remote_path.ts";

/** The last segment of a remote path. */
function lastName(path: string): string {
  return path.replace(/\/+$/, "").split("/").pop() ?? "";
}

async function rename(ctx: CommandContext, call: CommandCall): Promise<CommandOutput> {
  const [oldTyped, newTyped] = call.args;
  const from = ctx.remotePath(oldTyped);
  // A NEW ending in "/" is a folder to move into, as for uploads.
  const target = ctx.remotePath(newTyped);
  const to = newTyped.endsWith("/") ? remoteJoin(target, lastName(from)) : target;
  const overwrite = call.flags.overwrite ?? false;
  await (await ctx.client()).rename(from, to, { overwrite });
  ctx.removedFolder?.(from);
  return { text: `renamed ${from} to ${to}`, json: { op: "rename", from, to, overwrite } };
}

/** `rename OLD NEW` (shell `mv`). */
export const RENAME: RemoteCommand = {
  kind: "remote",
  name: "rename",
  shellName: "mv",
  aliases: ["mv", "move"],
  surfaces: ["cli", "shell"],
  args: "OLD NEW",
  minArgs: 2,
  maxArgs: 2,
  flags: [OVERWRITE],
  argKinds: ["remote"],
  summary: "rename or move a remote file or folder; a NEW ending in / is a folder",
  about: "Rename or move a remote file or folder, in one atomic step on the server. A NEW " +
    'ending in "/" is a folder to move into. Refuses to replace an existing file unless ' +
    "--overwrite, and never replaces a folder.",
  examples: ["draft.txt final.txt", "report.pdf archive/", "photos/2025 old-photos"],
  run: rename,
};
