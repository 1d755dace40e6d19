/**
 * Help text for both front ends, rendered from the command table.
 * @module
 */
import type { Command } from "./command.ts";
import { commandsOf, shownName, type Surface, wordsOf } from "./table.ts";

/**
 * The usage line. The CLI puts long flags after the arguments
 * (`client rename OLD NEW [--overwrite]`; more than two as `[options]`, which the help lists),
 * the shell short flags first (`put [-f] [-r] LOCAL... [REMOTE]`).
 */
export function usageLine(command: Command, surface: Surface): string {
  const name = shownName(command, surface);
  if (surface === "cli") {
    const flags = command.flags.length > 2
      ? ["[options]"]
      : command.flags.map((f) => `[--${f.name}]`);
    return ["client", name, command.args, ...flags].filter((s) => s !== "").join(" ");
  }
  const flags = command.flags.map((f) => `[${f.short ? `-${f.short}` : `--${f.name}`}]`);
  return [name, ...flags, command.args].filter((s) => s !== "").join(" ");
}

function examples(command: Command, surface: Surface): string[] {
  const prefix = surface === "cli" ? `client ${command.name}` : shownName(command, surface);
  return command.examples.map((args) => `${prefix} ${args}`.trim());
}

/** Splits a paragraph into lines of at most `width` columns at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  return line === "" ? lines : [...lines, line];
}

function aliases(command: Command, surface: Surface): string[] {
  return wordsOf(command, surface).slice(1);
}

/** `client COMMAND --help`: usage, the paragraph, aliases, flags and examples. */
export function cliCommandHelp(command: Command): string {
  const alias = aliases(command, "cli");
  return [
    `Usage: ${usageLine(command, "cli")}`,
    "",
    ...wrap(command.about, 80),
    ...(alias.length ? ["", `Alias: ${alias.join(", ")}`] : []),
    ...(command.flags.length
      ? [
        "",
        "Options:",
        ...command.flags.map((f) => `  --${f.name}${f.short ? `, -${f.short}` : ""}  ${f.about}`),
      ]
      : []),
    "",
    "Examples:",
    ...examples(command, "cli").map((e) => `  ${e}`),
  ].join("\n");
}

/** The `Commands:` lines of `client --help`. */
export function cliCommandList(): string[] {
  const lines = commandsOf("cli").map((c) => {
    const usage = usageLine(c, "cli").slice("client ".length);
    const alias = aliases(c, "cli");
    return [usage, alias.length ? `(alias ${alias.join(", ")})` : c.summary];
  });
  const width = Math.max(...lines.map(([usage]) => usage.length));
  return lines.map(([usage, note]) => `  ${usage.padEnd(width)}   ${note}`);
}

/** The shell's `help COMMAND`: usage, summary, aliases and an example. */
export function shellCommandHelp(command: Command): string {
  const alias = aliases(command, "shell");
  const example = examples(command, "shell")[0];
  return [
    usageLine(command, "shell"),
    `  ${command.summary}`,
    ...(alias.length ? [`  aliases: ${alias.join(", ")}`] : []),
    ...(example ? [`  example: ${example}`] : []),
  ].join("\n");
}

/** The shell's `help`: every command with its summary. */
export function shellCommandList(): string {
  const commands = commandsOf("shell");
  const width = Math.max(...commands.map((c) => usageLine(c, "shell").length));
  return [
    "Commands (remote paths are relative to the remote folder, / is the shared root):",
    ...commands.map((c) => {
      const alias = aliases(c, "shell");
      const note = alias.length ? ` (alias ${alias.join(", ")})` : "";
      return `  ${usageLine(c, "shell").padEnd(width)}  ${c.summary}${note}`;
    }),
    "Tab completes commands and names; Up/Down recall history; Ctrl-C cancels a transfer.",
  ].join("\n");
}
