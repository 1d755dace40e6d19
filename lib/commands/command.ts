/**
 * What a command is, once for both front ends: the one-shot CLI (`client upload a.txt`) and the
 * interactive shell (`put a.txt`) read the same definition for words, flags, arguments and help.
 * @module
 */
import type { FileshareClient } from "../client/client.ts";
import type { ProgressOutput } from "../cli/progress.ts";
import { UsageError } from "../cli/errors.ts";

/** A boolean flag of a command: `--overwrite`, or `-f` for short. */
export interface Flag {
  /** Long name without dashes; also the key in {@link CommandCall.flags}. */
  name: string;
  /** One-letter short form without the dash, if any. */
  short?: string;
  /** What the flag does, for help. */
  about: string;
}

/** What an argument names: a local or remote file or folder (folders only for the `Dir` kinds). */
export type ArgKind = "local" | "localDir" | "remote" | "remoteDir";

/** Help and syntax shared by every command. */
interface CommandBase {
  /** Canonical name in the one-shot CLI (`upload`). */
  name: string;
  /** The shell's name when it differs (`put`). */
  shellName?: string;
  /** Every other word that runs the command (`put` for `upload`, `exit` for `quit`). */
  aliases: readonly string[];
  /** Where the command exists. */
  surfaces: readonly ("cli" | "shell")[];
  /** Positional arguments for the usage line: `LOCAL [REMOTE]`. */
  args: string;
  /** Fewest and most positional arguments. */
  minArgs: number;
  maxArgs: number;
  flags: readonly Flag[];
  /**
   * What each positional argument names, for tab completion; the last kind goes on for every
   * later argument (`["local"]`: all local names). Default: remote names.
   */
  argKinds?: readonly ArgKind[];
  /** One line for command lists. */
  summary: string;
  /** A paragraph for `COMMAND --help`. */
  about: string;
  /** Argument lists that show the command at work, without the command word. */
  examples: readonly string[];
}

/** A command that runs against the server; both front ends run the same {@link run}. */
export interface RemoteCommand extends CommandBase {
  /** Runs against the server through {@link RemoteCommand.run}. */
  kind: "remote";
  /** Runs the command; local and remote paths go through the context's resolvers. */
  run(ctx: CommandContext, call: CommandCall): Promise<CommandOutput>;
}

/** A command the shell runs on its own state (`cd`, `lpwd`, `help`, `quit`). */
export interface ShellCommand extends CommandBase {
  /** Runs on the shell's own state. */
  kind: "shell";
}

/** Any command of the table. */
export type Command = RemoteCommand | ShellCommand;

/** The parsed words after the command word. */
export interface CommandCall {
  /** Positional arguments, checked against minArgs/maxArgs. */
  args: string[];
  /** The command's flags by long name; absent means not given. */
  flags: Readonly<Record<string, boolean>>;
}

/** What a front end supplies to a remote command. */
export interface CommandContext {
  /** The logged-in client (the shell reconnects when the connection was closed). */
  client(): Promise<FileshareClient>;
  /** A local path as typed → an absolute local path. */
  localPath(path: string): string;
  /** A remote path as typed → the root-relative path sent to the server. */
  remotePath(path: string): string;
  /** Where progress lines go, or null for none. */
  progress: ProgressOutput | null;
  /** Cancels a running transfer. */
  signal?: AbortSignal;
  /**
   * Keep a cut-off transfer's bytes for `--resume` (named in the message): the one-shot CLI
   * does; the shell does not, where Ctrl-C cancels one command and leaves nothing.
   */
  keepPartials?: boolean;
  /** Told when a remote folder is gone (the shell leaves it if it was inside). */
  removedFolder?(path: string): void;
  /** Prints a line on stderr while the command goes on (one file of many failed). */
  notice(line: string): void;
}

/** What a command prints: a line of text, and the value for `--json`. */
export interface CommandOutput {
  /** The line printed without `--json`. */
  text: string;
  /** The value printed with `--json`. */
  json: unknown;
  /**
   * Set when some of the work failed although the command ran to its end (2 of 40 files):
   * the text is printed, then this line on stderr, and the exit status is 1.
   */
  failed?: string;
}

/** Some of a command's work failed; the message says how much. */
export class PartialFailure extends Error {
  /** Creates the failure with its one line. */
  constructor(message: string) {
    super(message);
    this.name = "PartialFailure";
  }
}

/** Checks the number of positional arguments; the message shows `usage`. */
export function checkArgCount(command: Command, args: readonly string[], usage: string): void {
  if (args.length < command.minArgs) throw new UsageError(`Missing argument: ${usage}`);
  if (args.length > command.maxArgs) {
    throw new UsageError(`Unexpected argument "${args[command.maxArgs]}": ${usage}`);
  }
}

/**
 * Splits shell words into the command's flags and positional arguments. `--` ends the flags;
 * a lone `-` is an argument; any other word starting with `-` must be one of the command's
 * flags (short ones may go together: `-lR`).
 */
export function parseFlags(command: Command, words: readonly string[]): CommandCall {
  const flags: Record<string, boolean> = {};
  const args: string[] = [];
  let flagsDone = false;
  for (const word of words) {
    if (flagsDone || word === "-" || !word.startsWith("-")) {
      args.push(word);
    } else if (word === "--") {
      flagsDone = true;
    } else if (/^-[A-Za-z]{2,}$/.test(word)) {
      // Short flags together: `-lR` is `-l -R`.
      for (const letter of word.slice(1)) {
        const flag = command.flags.find((f) => f.short === letter);
        if (!flag) throw new UsageError(`Unknown option "-${letter}" in "${word}"`);
        flags[flag.name] = true;
      }
    } else {
      const flag = command.flags.find((f) =>
        word === `--${f.name}` || (f.short !== undefined && word === `-${f.short}`)
      );
      if (!flag) throw new UsageError(`Unknown option "${word}"`);
      flags[flag.name] = true;
    }
  }
  return { args, flags };
}
