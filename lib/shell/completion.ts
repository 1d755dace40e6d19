/**
 * Tab completion for the shell: command words first, then local or remote names as the
 * command table says each argument is.
 * @module
 */
import type { ArgKind } from "../commands/command.ts";
import { commandWords, findCommand } from "../commands/table.ts";
import { quoteWord, splitWords } from "./words.ts";

/** A name in a folder, and whether it is a folder. */
export interface Name {
  /** The name within its folder. */
  name: string;
  /** Whether it is a folder. */
  dir: boolean;
}

/** Where completion finds names: a folder as typed so far (`""` is the current one). */
export interface NameSources {
  /** Names in a local folder, relative to the shell's local folder. */
  local(dir: string): Promise<Name[]>;
  /** Names in a remote folder, relative to the shell's remote folder. */
  remote(dir: string): Promise<Name[]>;
}

/** What the argument at `index` names; the last kind listed goes on for every later one. */
function argKind(word: string, index: number): ArgKind {
  const kinds = findCommand(word, "shell")?.argKinds ?? [];
  return kinds[Math.min(index, kinds.length - 1)] ?? "remote";
}

/**
 * Completions for the line so far, as node:readline wants them: the candidates and the
 * partial word they replace. Folders end in `/`, other names in a space; names that need it
 * are quoted.
 */
export async function completeLine(
  line: string,
  sources: NameSources,
): Promise<[string[], string]> {
  const m = /(?:^|\s)(\S*)$/.exec(line);
  const partial = m ? m[1] : "";
  let words: string[];
  try {
    words = splitWords(line.slice(0, line.length - partial.length));
  } catch {
    return [[], partial];
  }
  if (words.length === 0) {
    const hits = commandWords("shell").filter((c) => c.startsWith(partial));
    return [hits.map((c) => c + " "), partial];
  }
  const kind = argKind(words[0], words.slice(1).filter((w) => !w.startsWith("-")).length);
  const slash = partial.lastIndexOf("/");
  const dirPart = partial.slice(0, slash + 1);
  const namePart = partial.slice(slash + 1);
  try {
    const local = kind === "local" || kind === "localDir";
    const names = await (local ? sources.local(dirPart) : sources.remote(dirPart));
    const onlyDirs = kind === "localDir" || kind === "remoteDir";
    const hits = names.filter((e) => e.name.startsWith(namePart) && (!onlyDirs || e.dir))
      .map((e) => quoteWord(dirPart + e.name) + (e.dir ? "/" : " "));
    return [hits.sort(), partial];
  } catch {
    return [[], partial];
  }
}
