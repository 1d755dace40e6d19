/**
 * The interactive file shell: one line in, one command of the table run.
 * @module
 */
import { FileshareClient } from "../client/client.ts";
import type { ConnectOptions } from "../client/options.ts";
import { FileshareError } from "../protocol/errors.ts";
import { errorLine, UsageError } from "../cli/errors.ts";
import { palette } from "../cli/color.ts";
import type { ProgressOutput } from "../cli/progress.ts";
import {
  checkArgCount,
  type Command,
  type CommandCall,
  type CommandContext,
  parseFlags,
  PartialFailure,
  type RemoteCommand,
} from "../commands/command.ts";
import { shellCommandHelp, shellCommandList, usageLine } from "../commands/help.ts";
import { findCommand } from "../commands/table.ts";
import { displayRemote, resolveRemote } from "../commands/remote_path.ts";
import { completeLine, type Name } from "./completion.ts";
import { localJoin } from "./local_path.ts";
import { splitWords } from "./words.ts";

/** How the shell reaches the server: it reconnects with the same login when needed. */
export type ShellLogin = Pick<
  ConnectOptions,
  "hostname" | "port" | "user" | "password" | "clientName" | "tls"
>;

/** Options of a {@link Shell}. */
export interface ShellOptions {
  /** Address and credentials, kept for reconnecting. */
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
  /** Whether to colour the prompt and error lines. */
  color: boolean;
  /** Flags every command that has them gets, as if typed (`client --fsync` sets `fsync`). */
  defaultFlags?: Readonly<Record<string, boolean>>;
}

/** Thrown by `quit`. */
export class ShellExit extends Error {
  /** Creates the exit signal. */
  constructor() {
    super("quit");
    this.name = "ShellExit";
  }
}

/** Listings kept for completion, so that a burst of Tabs asks the server once. */
const LIST_CACHE_MS = 3000;

/**
 * The interactive file shell over {@link FileshareClient}. Remote commands come from the
 * command table and run exactly as in the one-shot CLI, with paths resolved against the
 * shell's remote and local folders; `cd`, `lcd`, `pwd`, `lpwd`, `help` and `quit` act on the
 * shell itself. Interactive and script front ends (`runInteractiveShell`, `runScriptShell`)
 * feed it lines.
 */
export class Shell {
  #o: ShellOptions;
  #client: FileshareClient | null;
  #cwd = "";
  #lcwd: string;
  #running: AbortController | null = null;
  #listCache = new Map<string, { at: number; names: Name[] }>();
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

  /** Whether a remote command is running (Ctrl-C cancels its transfer). */
  get busy(): boolean {
    return this.#running !== null;
  }

  /** Cancels the running transfer, if any; returns whether a command was running. */
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

  /** Completions for the line so far (see `completeLine`). */
  complete(line: string): Promise<[string[], string]> {
    return completeLine(line, {
      local: (dir) => this.#localNames(localJoin(this.#lcwd, dir || ".")),
      remote: (dir) => this.#remoteNames(resolveRemote(this.#cwd, dir || ".")),
    });
  }

  async #run(line: string): Promise<void> {
    const words = splitWords(line);
    if (words.length === 0 || words[0].startsWith("#")) return;
    const [word, ...rest] = words;
    const command = findCommand(word, "shell");
    if (command === undefined) throw new UsageError(`Unknown command "${word}" (type "help")`);
    if (rest.includes("--help") || rest.includes("-h")) return this.#help([word]);
    const call = parseFlags(command, rest);
    checkArgCount(command, call.args, usageLine(command, "shell"));
    if (command.kind === "remote") return await this.#remote(command, call);
    return await this.#builtin(command, call.args);
  }

  /** Runs a command of the table against the server, with Ctrl-C wired to its signal. */
  async #remote(command: RemoteCommand, call: CommandCall): Promise<void> {
    const controller = new AbortController();
    this.#running = controller;
    try {
      const defaults = Object.entries(this.#o.defaultFlags ?? {})
        .filter(([name]) => command.flags.some((f) => f.name === name));
      const flags = { ...Object.fromEntries(defaults), ...call.flags };
      const out = await command.run(this.#context(controller.signal), { ...call, flags });
      if (out.text !== "") this.#o.out(out.text);
      if (out.failed !== undefined) throw new PartialFailure(out.failed);
    } finally {
      this.#running = null;
      this.#listCache.clear();
    }
  }

  #context(signal: AbortSignal): CommandContext {
    return {
      client: () => this.client(),
      localPath: (path) => localJoin(this.#lcwd, path),
      remotePath: (path) => resolveRemote(this.#cwd, path),
      progress: this.#o.progress,
      signal,
      notice: (line) => this.#o.err(this.#style.red(line)),
      removedFolder: (path) => {
        if (this.#cwd === path || this.#cwd.startsWith(path + "/")) {
          this.#cwd = resolveRemote(path, "..");
        }
      },
    };
  }

  async #builtin(command: Command, args: string[]): Promise<void> {
    switch (command.name) {
      case "help":
        return this.#help(args);
      case "quit":
        throw new ShellExit();
      case "pwd":
        return this.#o.out(displayRemote(this.#cwd));
      case "lpwd":
        return this.#o.out(this.#lcwd);
      case "lcd":
        return await this.#lcd(args[0] ?? "~");
      case "cd":
        return await this.#cd(args[0] ?? "/");
    }
  }

  async #lcd(typed: string): Promise<void> {
    const target = localJoin(this.#lcwd, typed);
    const info = await Deno.stat(target).catch(() => null);
    if (!info?.isDirectory) throw new UsageError(`Cannot lcd "${typed}": not a local folder`);
    this.#lcwd = target;
  }

  /** Changes the remote folder after checking that it exists and may be listed. */
  async #cd(typed: string): Promise<void> {
    const target = resolveRemote(this.#cwd, typed);
    const client = await this.client();
    try {
      await client.list(target);
    } catch (err) {
      if (!(err instanceof FileshareError)) throw err;
      const reason = await this.#whyNotFolder(target, err);
      if (reason === null) throw err;
      throw new FileshareError(err.code, `Cannot cd "${typed}": ${reason}`, { cause: err });
    }
    this.#cwd = target;
  }

  /** Why listing `target` failed, when its parent tells: no such folder, or not a folder. */
  async #whyNotFolder(target: string, err: FileshareError): Promise<string | null> {
    if (err.code === "NOT_FOUND") return "no such folder";
    if (err.code !== "BAD_REQUEST" || target === "") return null;
    const name = target.split("/").pop();
    const parent = await (await this.client()).list(resolveRemote(target, "..")).catch(() => []);
    const entry = parent.find((e) => e.name === name);
    return entry === undefined ? null : entry.type === "file" ? "not a folder" : null;
  }

  #help(args: string[]): void {
    if (args.length === 0) return this.#o.out(shellCommandList());
    const command = findCommand(args[0], "shell");
    if (!command) throw new UsageError(`No help for "${args[0]}"`);
    this.#o.out(shellCommandHelp(command));
  }

  async #remoteNames(dir: string): Promise<Name[]> {
    const hit = this.#listCache.get(dir);
    if (hit && performance.now() - hit.at < LIST_CACHE_MS) return hit.names;
    const names = (await (await this.client()).list(dir)).map((e) => ({
      name: e.name,
      dir: e.type === "dir",
    }));
    this.#listCache.set(dir, { at: performance.now(), names });
    return names;
  }

  async #localNames(dir: string): Promise<Name[]> {
    const out: Name[] = [];
    for await (const e of Deno.readDir(dir)) out.push({ name: e.name, dir: e.isDirectory });
    return out;
  }
}
