/**
 * The shell's two front ends: a terminal with line editing, and a script read from stdin.
 * @module
 */
import readline from "node:readline";
import process from "node:process";
import { type Shell, ShellExit } from "./shell.ts";

/**
 * Runs the shell on a terminal with node:readline: prompt, history, tab completion; Ctrl-C
 * cancels a running transfer or clears the line; Ctrl-D or `quit` leaves. Returns exit code 0.
 */
export async function runInteractiveShell(shell: Shell): Promise<number> {
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: true,
    historySize: 500,
    removeHistoryDuplicates: true,
    completer: (
      line: string,
      callback: (err: Error | null, result: [string[], string]) => void,
    ) => {
      shell.complete(line).then((r) => callback(null, r), () => callback(null, [[], line]));
    },
  });
  rl.on("SIGINT", () => {
    // During a transfer Ctrl-C only cancels: the transfer clears its progress line and
    // prints "Transfer cancelled" itself.
    if (shell.cancel()) return;
    // Clear the line and show a fresh prompt, as shells do.
    rl.write(null, { ctrl: true, name: "e" });
    rl.write(null, { ctrl: true, name: "u" });
    process.stdout.write("^C\n");
    rl.prompt();
  });
  try {
    rl.setPrompt(shell.prompt());
    rl.prompt();
    for await (const line of rl) {
      try {
        await shell.execute(line);
      } catch (err) {
        if (err instanceof ShellExit) break;
        throw err;
      }
      rl.setPrompt(shell.prompt());
      rl.prompt();
    }
  } finally {
    rl.close();
    shell.close();
  }
  return 0;
}

/**
 * Runs commands read line by line from stdin (not a terminal): no prompts, stops at the first
 * failure with exit 1 unless `keepGoing`, in which case it runs everything and exits 1 if any
 * command failed.
 */
export async function runScriptShell(shell: Shell, keepGoing: boolean): Promise<number> {
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  let failed = false;
  try {
    for await (const line of rl) {
      let ok: boolean;
      try {
        ok = await shell.execute(line);
      } catch (err) {
        if (err instanceof ShellExit) break;
        throw err;
      }
      if (!ok) {
        failed = true;
        if (!keepGoing) break;
      }
    }
  } finally {
    rl.close();
    shell.close();
  }
  return failed ? 1 : 0;
}
