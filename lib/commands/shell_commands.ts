import type { ShellCommand } from "./command.ts";

function shellCommand(
  name: string,
  args: string,
  summary: string,
  more: Partial<ShellCommand> = {},
): ShellCommand {
  const optional = args === "" || args.startsWith("[");
  return {
    kind: "shell",
    name,
    aliases: [],
    surfaces: ["shell"],
    args,
    minArgs: optional ? 0 : 1,
    maxArgs: args === "" ? 0 : 1,
    flags: [],
    summary,
    about: summary[0].toUpperCase() + summary.slice(1) + ".",
    examples: [],
    ...more,
  };
}

/** The shell's own commands: they change or show the shell's state, or leave it. */
export const SHELL_COMMANDS: readonly ShellCommand[] = [
  shellCommand("cd", "[DIR]", "change the remote folder (/ is the shared root)", {
    examples: ["../music"],
    argKinds: ["remoteDir"],
  }),
  shellCommand("pwd", "", "show the remote folder"),
  shellCommand("lcd", "[DIR]", "change the local folder", {
    examples: ["~/Downloads"],
    argKinds: ["localDir"],
  }),
  shellCommand("lpwd", "", "show the local folder"),
  shellCommand("help", "[COMMAND]", "list the commands, or show one command's help", {
    examples: ["put"],
  }),
  shellCommand("quit", "", "leave the shell (or Ctrl-D)", { aliases: ["exit"] }),
];
