import type { CommandCall, CommandContext, CommandOutput, RemoteCommand } from "./command.ts";
import { RECURSIVE } from "./flags.ts";

async function rmdir(ctx: CommandContext, call: CommandCall): Promise<CommandOutput> {
  const path = ctx.remotePath(call.args[0]);
  const recursive = call.flags.recursive ?? false;
  await (await ctx.client()).rmdir(path, recursive);
  ctx.removedFolder?.(path);
  return { text: `removed folder ${path}`, json: { op: "rmdir", path, recursive } };
}

/** `rmdir [--recursive] DIR`. */
export const RMDIR: RemoteCommand = {
  kind: "remote",
  name: "rmdir",
  aliases: [],
  surfaces: ["cli", "shell"],
  args: "DIR",
  minArgs: 1,
  maxArgs: 1,
  flags: [RECURSIVE],
  argKinds: ["remoteDir"],
  summary: "remove a remote folder; -r with everything in it",
  about: "Remove a remote folder; a non-empty one only with --recursive (-r).",
  examples: ["old", "--recursive old"],
  run: rmdir,
};
