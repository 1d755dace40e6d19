import type { CommandCall, CommandContext, CommandOutput, RemoteCommand } from "./command.ts";

async function mkdir(ctx: CommandContext, call: CommandCall): Promise<CommandOutput> {
  const path = ctx.remotePath(call.args[0]);
  await (await ctx.client()).mkdir(path);
  return { text: `created folder ${path}`, json: { op: "mkdir", path } };
}

/** `mkdir DIR`. */
export const MKDIR: RemoteCommand = {
  kind: "remote",
  name: "mkdir",
  aliases: [],
  surfaces: ["cli", "shell"],
  args: "DIR",
  minArgs: 1,
  maxArgs: 1,
  flags: [],
  argKinds: ["remoteDir"],
  summary: "create a remote folder and its parents",
  about: "Create a remote folder and any missing parents.",
  examples: ["photos/2026"],
  run: mkdir,
};
