import type { DirEntry } from "../protocol/messages.ts";
import { formatBytes } from "../cli/format.ts";
import type { CommandCall, CommandContext, CommandOutput, RemoteCommand } from "./command.ts";

/** A listing as aligned text: type, size, modified time, name. */
export function formatListing(entries: readonly DirEntry[]): string {
  if (entries.length === 0) return "(empty)";
  const sizes = entries.map((e) => (e.type === "dir" ? "-" : formatBytes(e.size)));
  const width = Math.max(...sizes.map((s) => s.length));
  return entries.map((e, i) =>
    `${e.type === "dir" ? "d" : "-"}  ${sizes[i].padStart(width)}  ${
      e.mtime.slice(0, 19).replace("T", " ")
    }  ${e.name}${e.type === "dir" ? "/" : ""}`
  ).join("\n");
}

async function dir(ctx: CommandContext, call: CommandCall): Promise<CommandOutput> {
  const entries = await (await ctx.client()).list(ctx.remotePath(call.args[0] ?? ""));
  return { text: formatListing(entries), json: entries };
}

/** `dir [DIR]` (shell `ls`). */
export const DIR: RemoteCommand = {
  kind: "remote",
  name: "dir",
  shellName: "ls",
  aliases: ["ls"],
  surfaces: ["cli", "shell"],
  args: "[DIR]",
  minArgs: 0,
  maxArgs: 1,
  flags: [],
  summary: "list a remote folder",
  about: "List a remote folder (default the shared root, in the shell the current folder): " +
    "type, size, modified time, name.",
  examples: ["", "photos"],
  run: dir,
};
