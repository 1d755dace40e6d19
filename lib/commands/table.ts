/**
 * The one command table: the one-shot CLI and the shell look words up here, print help from
 * here, and run the same definitions.
 * @module
 */
import type { Command } from "./command.ts";
import { MPUT, REPUT, UPLOAD } from "./upload.ts";
import { DOWNLOAD, MGET, REGET } from "./download.ts";
import { DELETE } from "./delete.ts";
import { DIR } from "./dir.ts";
import { MKDIR } from "./mkdir.ts";
import { RMDIR } from "./rmdir.ts";
import { RENAME } from "./rename.ts";
import { SUBFOLDER } from "./subfolder.ts";
import { DF } from "./df.ts";
import { SHELL_COMMANDS } from "./shell_commands.ts";

/** Which front end is asking: the one-shot CLI or the interactive shell. */
export type Surface = "cli" | "shell";

/** Every command, in the order help lists them. */
export const COMMANDS: readonly Command[] = [
  UPLOAD,
  DOWNLOAD,
  MPUT,
  MGET,
  REPUT,
  REGET,
  DELETE,
  DIR,
  MKDIR,
  RMDIR,
  RENAME,
  SUBFOLDER,
  DF,
  ...SHELL_COMMANDS,
];

/** The commands of one front end. */
export function commandsOf(surface: Surface): Command[] {
  return COMMANDS.filter((c) => c.surfaces.includes(surface));
}

/** The name a front end shows for a command (`put` in the shell, `upload` in the CLI). */
export function shownName(command: Command, surface: Surface): string {
  return surface === "shell" ? command.shellName ?? command.name : command.name;
}

/** Every word that runs `command`, the shown name first. */
export function wordsOf(command: Command, surface: Surface): string[] {
  const shown = shownName(command, surface);
  const all = [shown, command.name, ...(command.shellName ? [command.shellName] : [])];
  return [...new Set([...all, ...command.aliases])];
}

/** The command a word runs on a front end (name or alias), or undefined. */
export function findCommand(word: string, surface: Surface): Command | undefined {
  return commandsOf(surface).find((c) => wordsOf(c, surface).includes(word));
}

/** All words that start a command on a front end, sorted (for completion). */
export function commandWords(surface: Surface): string[] {
  return commandsOf(surface).flatMap((c) => wordsOf(c, surface)).sort();
}
