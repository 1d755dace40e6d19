import { UsageError } from "../cli/errors.ts";
import type { CommandCall, CommandContext, CommandOutput, RemoteCommand } from "./command.ts";
import { RECURSIVE } from "./flags.ts";
import { MKDIR } from "./mkdir.ts";
import { RMDIR } from "./rmdir.ts";

function subfolder(ctx: CommandContext, call: CommandCall): Promise<CommandOutput> {
  const [action, ...rest] = call.args;
  if (action !== "create" && action !== "delete") {
    throw new UsageError(`"subfolder" takes "create" or "delete", got "${action}"`);
  }
  return (action === "create" ? MKDIR : RMDIR).run(ctx, { ...call, args: rest });
}

/** `subfolder create|delete DIR`: the original spelling of mkdir and rmdir, CLI only. */
export const SUBFOLDER: RemoteCommand = {
  kind: "remote",
  name: "subfolder",
  aliases: [],
  surfaces: ["cli"],
  args: "create|delete DIR",
  minArgs: 2,
  maxArgs: 2,
  flags: [RECURSIVE],
  summary: "the original spelling of mkdir and rmdir",
  about: "Create (like mkdir) or delete (like rmdir) a remote folder; delete takes --recursive.",
  examples: ["create photos/2026", "delete old --recursive"],
  run: subfolder,
};
