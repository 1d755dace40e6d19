import { formatBytes } from "../cli/format.ts";
import type { CommandContext, CommandOutput, RemoteCommand } from "./command.ts";

/** A byte count for people: `512 B`, or `1.5 MiB (1572864 bytes)` so limits stay exact. */
function bytes(n: number): string {
  return n < 1024 ? `${n} B` : `${formatBytes(n)} (${n} bytes)`;
}

async function df(ctx: CommandContext): Promise<CommandOutput> {
  const usage = await (await ctx.client()).df();
  const lines = [
    `used   ${bytes(usage.used)}`,
    `quota  ${usage.quota === null ? "none" : bytes(usage.quota)}`,
    `free   ${usage.free === null ? "no quota" : bytes(usage.free)}`,
  ];
  if (usage.maxUpload !== null) lines.push(`largest upload  ${bytes(usage.maxUpload)}`);
  return { text: lines.join("\n"), json: { op: "df", ...usage } };
}

/** `df` (alias `quota`): the account's usage, quota and free bytes. */
export const DF: RemoteCommand = {
  kind: "remote",
  name: "df",
  aliases: ["quota"],
  surfaces: ["cli", "shell"],
  args: "",
  minArgs: 0,
  maxArgs: 0,
  flags: [],
  summary: "show your usage, quota and free bytes",
  about: "Show the bytes your files take (under your home folder, or the whole shared root " +
    "for an account without one), your quota and what it leaves free, and the server's " +
    "largest upload if it sets one.",
  examples: [""],
  run: df,
};
