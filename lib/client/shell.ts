import readline from "node:readline";
import process from "node:process";
import { FileshareClient } from "./client.ts";
import { runCommand } from "./commands.ts";
import { ProgressBar, type ProgressOutput } from "./progress.ts";
import { displayRemote, quoteWord, resolveRemote, splitWords } from "./remote_path.ts";
import { FileshareError } from "../protocol/errors.ts";
import { errorLine } from "../cli/errors.ts";
import { palette } from "../cli/color.ts";

/** How the shell reaches the server: reconnects with the same login when needed. */
export interface ShellLogin {
  hostname: string;
  port: number;
  user: string;
  password: string;
  /** Name and version for the handshake. */
  clientName?: string;
}

/** Options of a {@link Shell}. */
export interface ShellOptions {
  login: ShellLogin;
  /** An already connected client for that login (else the shell connects). */
  client?: FileshareClient;
  /** Local folder for relative local paths. */
  localCwd: string;
  /** Where command output goes (stdout). */
  out: (text: string) => void;
  /** Where error lines go (stderr). */
  err: (text: string) => void;
  /** Progress bars, or null for none. */
  progress: ProgressOutput | null;
  color: boolean;
  /** `get`: fsync each file before it takes its name (default off, as rsync and scp). */
  fsync?: boolean;
}

interface CommandHelp {
  usage: string;
  about: string;
  example?: string;
}

/** Shell commands, their aliases and help. */
export const SHELL_HELP: Record<string, CommandHelp> = {
  help: {
    usage: "help [COMMAND]",
    about: "list commands, or show one command's help",
    example: "help put",
  },
  ls: { usage: "ls [DIR]", about: "list a remote folder (alias dir)", example: "ls photos" },
  cd: {
    usage: "cd DIR",
    about: "change the remote folder (/ is the shared root)",
    example: "cd ../music",
  },
  pwd: { usage: "pwd", about: "show the remote folder" },
  lcd: { usage: "lcd DIR", about: "change the local folder", example: "lcd ~/Downloads" },
  lpwd: { usage: "lpwd", about: "show the local folder" },
  put: {
    usage: "put [-f] LOCAL [REMOTE]",
    about: "upload a file (alias upload); -f replaces",
    example: "put report.pdf docs/",
  },
  get: {
    usage: "get [-f] REMOTE [LOCAL]",
    about: "download a file (alias download); -f replaces",
    example: "get docs/report.pdf",
  },
  rm: { usage: "rm REMOTE", about: "delete a remote file (alias delete)", example: "rm old.txt" },
  mkdir: {
    usage: "mkdir DIR",
    about: "create a remote folder (and parents)",
    example: "mkdir 2026/november",
  },
  rmdir: {
    usage: "rmdir [-r] DIR",
    about: "remove a remote folder; -r with its contents",
    example: "rmdir -r tmp",
  },
  quit: { usage: "quit", about: "leave the shell (alias exit, or Ctrl-D)" },
};

const ALIASES: Record<string, string> = {
  dir: "ls",
  upload: "put",
  download: "get",
  delete: "rm",
  exit: "quit",
};

/** All words that start a command, for completion. */
export const SHELL_COMMANDS = [...Object.keys(SHELL_HELP), ...Object.keys(ALIASES)].sort();

/** Thrown by `quit`. */
export class ShellExit extends Error {
  /** Creates the exit signal. */
  constructor() {
    super("quit");
    this.name = "ShellExit";
  }
}

function flags(
  args: string[],
  allowed: Record<string, string>,
): { set: Set<string>; rest: string[] } {
  const set = new Set<string>();
  const rest: string[] = [];
  for (const a of args) {
    if (a in allowed) set.add(allowed[a]);
    else if (a.startsWith("-") && a.length > 1) {
      throw new FileshareError("BAD_REQUEST", `Unknown option "${a}"`);
    } else rest.push(a);
  }
  return { set, rest };
}

function localJoin(cwd: string, path: string): string {
  if (path.startsWith("/")) return path;
  if (path === "~" || path.startsWith("~/")) {
    let home: string | undefined;
    try {
      home = Deno.env.get("HOME");
    } catch {
      home = undefined;
    }
    if (home) return home + path.slice(1);
  }
  const parts = cwd.split("/").filter(Boolean);
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") parts.pop();
    else parts.push(seg);
  }
  return "/" + parts.join("/");
}

/**
 * The interactive file shell over {@link FileshareClient}: one line in, one command run.
 * Interactive and script front ends ({@link runInteractiveShell}, {@link runScriptShell})
 * feed it lines.
 */
export class Shell {
  #o: ShellOptions;
  #client: FileshareClient | null;
  #cwd = "";
  #lcwd: string;
  #running: AbortController | null = null;
  #listCache = new Map<string, { at: number; names: { name: string; dir: boolean }[] }>();
  #style: ReturnType<typeof palette>;

  /** Creates a shell; it connects on first use if no client was given. */
  constructor(options: ShellOptions) {
    this.#o = options;
    this.#client = options.client ?? null;
    this.#lcwd = options.localCwd;
    this.#style = palette(options.color);
  }

  /** The remote folder, root-relative (`""` is the root). */
  get cwd(): string {
    return this.#cwd;
  }

  /** The local folder. */
  get localCwd(): string {
    return this.#lcwd;
  }

  /** `alice@10.0.0.5:9000:/photos> ` */
  prompt(): string {
    const l = this.#o.login;
    return `${this.#style.bold(`${l.user}@${l.hostname}:${l.port}`)}:${
      this.#style.cyan(displayRemote(this.#cwd))
    }> `;
  }

  /** Whether a transfer is running (Ctrl-C cancels it). */
  get busy(): boolean {
    return this.#running !== null;
  }

  /** Cancels the running transfer, if any. */
  cancel(): boolean {
    if (!this.#running) return false;
    this.#running.abort();
    return true;
  }

  /** The connected client; reconnects after a cancelled download closed the connection. */
  async client(): Promise<FileshareClient> {
    if (this.#client === null || this.#client.closed) {
      this.#client = await FileshareClient.connect(this.#o.login);
    }
    return this.#client;
  }

  /** Closes the connection. */
  close(): void {
    this.#client?.close();
  }

  /** Runs one line; returns false when the command failed (the error line is printed). */
  async execute(line: string): Promise<boolean> {
    try {
      await this.#run(line);
      return true;
    } catch (err) {
      if (err instanceof ShellExit) throw err;
      this.#o.err(this.#style.red(err instanceof SyntaxError ? err.message : errorLine(err)));
      return false;
    }
  }

  async #run(line: string): Promise<void> {
    const words = splitWords(line);
    if (words.length === 0 || words[0].startsWith("#")) return;
    const [word, ...args] = words;
    const cmd = ALIASES[word] ?? word;
    if (!(cmd in SHELL_HELP)) {
      throw new FileshareError("BAD_REQUEST", `Unknown command "${word}" (type "help")`);
    }
    if (args.includes("--help") || args.includes("-h")) return this.#help([cmd]);
    const remote = (p: string) => resolveRemote(this.#cwd, p);
    switch (cmd) {
      case "help":
        return this.#help(args);
      case "quit":
        throw new ShellExit();
      case "pwd":
        return this.#o.out(displayRemote(this.#cwd));
      case "lpwd":
        return this.#o.out(this.#lcwd);
      case "lcd": {
        const target = localJoin(this.#lcwd, args[0] ?? "~");
        const info = await Deno.stat(target).catch(() => null);
        if (!info?.isDirectory) {
          throw new FileshareError(
            "NOT_FOUND",
            `Cannot lcd "${args[0] ?? "~"}": not a local folder`,
          );
        }
        this.#lcwd = target;
        return;
      }
      case "cd": {
        const target = remote(args[0] ?? "/");
        // Listing checks that the folder exists, is a folder and may be read.
        await (await this.client()).list(target).catch((err) => {
          throw new FileshareError(
            err.code ?? "NOT_FOUND",
            `Cannot cd "${args[0] ?? "/"}": ${
              /not a folder/.test(err.message)
                ? "not a folder"
                : /not found/.test(err.message)
                ? "no such folder"
                : err.message
            }`,
          );
        });
        this.#cwd = target;
        return;
      }
      case "ls": {
        const out = await runCommand(
          await this.client(),
          "dir",
          [remote(args[0] ?? "."), ...args.slice(1)],
          {
            overwrite: false,
            recursive: false,
          },
        );
        return this.#o.out(out.text);
      }
      case "rm":
      case "mkdir": {
        if (args.length !== 1) {
          throw new FileshareError("BAD_REQUEST", `Usage: ${SHELL_HELP[cmd].usage}`);
        }
        const out = await runCommand(await this.client(), cmd === "rm" ? "delete" : "mkdir", [
          remote(args[0]),
        ], {
          overwrite: false,
          recursive: false,
        });
        this.#listCache.clear();
        return this.#o.out(out.text);
      }
      case "rmdir": {
        const { set, rest } = flags(args, { "-r": "r", "--recursive": "r" });
        if (rest.length !== 1) {
          throw new FileshareError("BAD_REQUEST", `Usage: ${SHELL_HELP.rmdir.usage}`);
        }
        const target = remote(rest[0]);
        if (target === "") throw new FileshareError("DENIED", "Cannot remove the shared root");
        const out = await runCommand(await this.client(), "rmdir", [target], {
          overwrite: false,
          recursive: set.has("r"),
        });
        if (this.#cwd === target || this.#cwd.startsWith(target + "/")) {
          this.#cwd = resolveRemote(target, "..");
        }
        this.#listCache.clear();
        return this.#o.out(out.text);
      }
      case "put":
      case "get":
        return await this.#transfer(cmd, args);
    }
  }

  async #transfer(cmd: "put" | "get", args: string[]): Promise<void> {
    const { set, rest } = flags(args, { "-f": "f", "--overwrite": "f" });
    if (rest.length < 1 || rest.length > 2) {
      throw new FileshareError("BAD_REQUEST", `Usage: ${SHELL_HELP[cmd].usage}`);
    }
    const base = (p: string) => p.replace(/\/+$/, "").split("/").pop() ?? p;
    let local: string;
    let remote: string;
    if (cmd === "put") {
      local = localJoin(this.#lcwd, rest[0]);
      const given = rest[1] ?? base(rest[0]);
      remote = resolveRemote(this.#cwd, given) + (given.endsWith("/") ? "/" : "");
      if (remote === "/") remote = "";
    } else {
      remote = resolveRemote(this.#cwd, rest[0]);
      local = localJoin(this.#lcwd, rest[1] ?? base(remote));
    }
    const controller = new AbortController();
    this.#running = controller;
    let bar: ProgressBar | null = null;
    try {
      const out = await runCommand(
        await this.client(),
        cmd === "put" ? "upload" : "download",
        cmd === "put" ? (remote === "" ? [local, "/"] : [local, remote]) : [remote, local],
        {
          overwrite: set.has("f"),
          recursive: false,
          fsync: this.#o.fsync,
          signal: controller.signal,
          progress: this.#o.progress
            ? (label, total) => {
              bar = new ProgressBar(this.#o.progress!, label, total);
              return (done) => bar?.update(done);
            }
            : undefined,
          progressDone: () => (bar as ProgressBar | null)?.clear(),
        },
      );
      this.#listCache.clear();
      this.#o.out(out.text);
    } finally {
      this.#running = null;
    }
  }

  #help(args: string[]): void {
    if (args.length > 0) {
      const cmd = ALIASES[args[0]] ?? args[0];
      const h = SHELL_HELP[cmd];
      if (!h) throw new FileshareError("BAD_REQUEST", `No help for "${args[0]}"`);
      const aliases = Object.entries(ALIASES).filter(([, v]) => v === cmd).map(([k]) => k);
      this.#o.out(
        [
          `${h.usage}`,
          `  ${h.about}`,
          ...(aliases.length ? [`  aliases: ${aliases.join(", ")}`] : []),
          ...(h.example ? [`  example: ${h.example}`] : []),
        ].join("\n"),
      );
      return;
    }
    const width = Math.max(...Object.values(SHELL_HELP).map((h) => h.usage.length));
    this.#o.out(
      [
        "Commands (remote paths are relative to the remote folder, / is the shared root):",
        ...Object.values(SHELL_HELP).map((h) => `  ${h.usage.padEnd(width)}  ${h.about}`),
        "Tab completes commands and names; Up/Down recall history; Ctrl-C cancels a transfer.",
      ].join("\n"),
    );
  }

  async #remoteNames(dir: string): Promise<{ name: string; dir: boolean }[]> {
    const hit = this.#listCache.get(dir);
    if (hit && performance.now() - hit.at < 3000) return hit.names;
    const names = (await (await this.client()).list(dir)).map((e) => ({
      name: e.name,
      dir: e.type === "dir",
    }));
    this.#listCache.set(dir, { at: performance.now(), names });
    return names;
  }

  async #localNames(dir: string): Promise<{ name: string; dir: boolean }[]> {
    const out: { name: string; dir: boolean }[] = [];
    for await (const e of Deno.readDir(dir)) out.push({ name: e.name, dir: e.isDirectory });
    return out;
  }

  /**
   * Completions for the line so far: command names for the first word, remote (or, for the
   * local argument of put/lcd/get's second word, local) names after that.
   */
  async complete(line: string): Promise<[string[], string]> {
    const m = /(?:^|\s)(\S*)$/.exec(line);
    const partial = m ? m[1] : "";
    const before = line.slice(0, line.length - partial.length);
    let words: string[];
    try {
      words = splitWords(before);
    } catch {
      return [[], partial];
    }
    if (words.length === 0) {
      return [SHELL_COMMANDS.filter((c) => c.startsWith(partial)).map((c) => c + " "), partial];
    }
    const cmd = ALIASES[words[0]] ?? words[0];
    const argIndex = words.slice(1).filter((w) => !w.startsWith("-")).length;
    const local = cmd === "lcd" || (cmd === "put" && argIndex === 0) ||
      (cmd === "get" && argIndex === 1);
    const slash = partial.lastIndexOf("/");
    const dirPart = slash >= 0 ? partial.slice(0, slash + 1) : "";
    const namePart = slash >= 0 ? partial.slice(slash + 1) : partial;
    try {
      const entries = local
        ? await this.#localNames(localJoin(this.#lcwd, dirPart || "."))
        : await this.#remoteNames(resolveRemote(this.#cwd, dirPart || "."));
      const onlyDirs = cmd === "cd" || cmd === "lcd" || cmd === "rmdir" || cmd === "mkdir";
      const hits = entries.filter((e) => e.name.startsWith(namePart) && (!onlyDirs || e.dir))
        .map((e) => quoteWord(dirPart + e.name) + (e.dir ? "/" : " "));
      return [hits.sort(), partial];
    } catch {
      return [[], partial];
    }
  }
}

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
