import type { DirEntry } from "../protocol/messages.ts";
import type { FileshareClient } from "../client/client.ts";
import { formatBytes } from "../cli/format.ts";
import type { CommandCall, CommandContext, CommandOutput, RemoteCommand } from "./command.ts";
import { LONG, RECURSIVE_LIST } from "./flags.ts";
import { remoteJoin } from "./remote_path.ts";

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

/**
 * `ls -l`: type word, exact size in bytes, modification time to the second in UTC, name:
 * `file  1048576  2026-11-24 16:40:12Z  a.bin`.
 */
export function formatLongListing(entries: readonly DirEntry[]): string {
  if (entries.length === 0) return "(empty)";
  const sizes = entries.map((e) => String(e.size));
  const width = Math.max(...sizes.map((s) => s.length));
  return entries.map((e, i) =>
    `${e.type === "dir" ? "dir " : "file"}  ${sizes[i].padStart(width)}  ${
      e.mtime.slice(0, 19).replace("T", " ")
    }Z  ${e.name}${e.type === "dir" ? "/" : ""}`
  ).join("\n");
}

/** One folder of a recursive listing: its root-relative path and its entries. */
export interface FolderListing {
  /** Root-relative path of the folder (`""` for the root). */
  path: string;
  /** Its entries, sorted by name. */
  entries: DirEntry[];
}

/** Most folders one recursive listing visits (a bound on requests). */
const MAX_FOLDERS = 100_000;

/** Lists `path` and every folder below it, depth first, parents before children. */
export async function listTree(client: FileshareClient, path: string): Promise<FolderListing[]> {
  const out: FolderListing[] = [];
  const todo = [path];
  while (todo.length > 0 && out.length < MAX_FOLDERS) {
    const folder = todo.shift()!;
    const entries = await client.list(folder);
    out.push({ path: folder, entries });
    const children = entries.filter((e) => e.type === "dir").map((e) => remoteJoin(folder, e.name));
    todo.unshift(...children);
  }
  return out;
}

async function dir(ctx: CommandContext, call: CommandCall): Promise<CommandOutput> {
  const path = ctx.remotePath(call.args[0] ?? "");
  const client = await ctx.client();
  const format = call.flags.long ? formatLongListing : formatListing;
  if (!call.flags.recursive) {
    const entries = await client.list(path);
    return { text: format(entries), json: entries };
  }
  const tree = await listTree(client, path);
  return {
    text: tree.map((f) => `${f.path === "" ? "/" : f.path}:\n${format(f.entries)}`).join("\n\n"),
    json: tree.flatMap((f) => f.entries.map((e) => ({ ...e, path: remoteJoin(f.path, e.name) }))),
  };
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
  flags: [LONG, RECURSIVE_LIST],
  summary: "list a remote folder; -l exact sizes, -R every folder below",
  about: "List a remote folder (default the shared root, in the shell the current folder): " +
    "type, size, modified time, name. --long (-l) shows the size in bytes and the time in " +
    "UTC; --recursive (-R) lists every folder below too, each under its path (with --json: " +
    "one list of entries, each with its path).",
  examples: ["", "photos", "-l photos", "--recursive photos"],
  run: dir,
};
