import type { CommandCall, CommandContext, CommandOutput, RemoteCommand } from "./command.ts";

async function remove(ctx: CommandContext, call: CommandCall): Promise<CommandOutput> {
  const path = ctx.remotePath(call.args[0]);
  await (await ctx.client()).delete(path);
  return { text: `deleted ${path}`, json: { op: "delete", path } };
}

/** `delete REMOTE` (shell `rm`). */
export const DELETE: RemoteCommand = {
  kind: "remote",
  name: "delete",
  shellName: "rm",
  aliases: ["rm"],
  surfaces: ["cli", "shell"],
  args: "REMOTE",
  minArgs: 1,
  maxArgs: 1,
  flags: [],
  summary: "delete a remote file",
  about: "Delete a remote file.",
  examples: ["old.txt"],
  run: remove,
};
