/**
 * The one-shot CLI: `client [options] COMMAND ARGS` runs one command of the table and prints
 * its line (or its JSON value).
 * @module
 */
import { FileshareClient } from "../client/client.ts";
import { errorLine, StoppedBySignal, UsageError } from "../cli/errors.ts";
import { parseServerAddress } from "../cli/address.ts";
import { env, password, userName } from "../cli/credentials.ts";
import { FileTicketStore, type TicketStore } from "../client/ticket_store.ts";
import { defaultKnownServersPath } from "../tls/known_servers.ts";
import { userPath } from "../cli/paths.ts";
import { CLIENT_NAME } from "../cli/version.ts";
import { type ProgressOutput, stderrProgressOutput } from "../cli/progress.ts";
import { checkArgCount, type CommandContext, type Flag, PartialFailure } from "./command.ts";
import { usageLine } from "./help.ts";
import { COMMANDS, findCommand } from "./table.ts";
import type { ServerTrust } from "../tls/trust.ts";

/** The global flags of the one-shot CLI that change what a command does or prints. */
export interface OneShotOptions {
  /** `HOST:PORT` of the server. */
  server: string;
  /** `--user` (else FILESHARE_USER, else a prompt). */
  user?: string;
  /** `--password-stdin`: the password is the first line of stdin. */
  "password-stdin": boolean;
  /** `--json`: print the command's JSON value instead of its line. */
  json: boolean;
  /** `--quiet`: no progress bar. */
  quiet: boolean;
  /** The command flags given anywhere on the line (`--overwrite`, `-r`...), by long name. */
  flags: Record<string, boolean | undefined>;
  /** How to trust the server's certificate (false: no TLS). */
  tls: ServerTrust | false;
}

/** Every command flag of the table, one per long name, for the CLI's usage. */
export function commandFlags(): Flag[] {
  const byName = new Map<string, Flag>();
  for (const c of COMMANDS) for (const f of c.flags) byName.set(f.name, f);
  return [...byName.values()];
}

/**
 * Session tickets beside the known-servers file; none when there is no config folder or
 * FILESHARE_TICKETS=0.
 */
function ticketStore(): TicketStore | undefined {
  if (env("FILESHARE_TICKETS") === "0") return undefined;
  try {
    return new FileTicketStore(defaultKnownServersPath().replace(/known_servers$/, "tickets"));
  } catch {
    return undefined;
  }
}

/** A `node:util` parseArgs option of a boolean flag. */
type BooleanOption = { type: "boolean"; short?: string };

/**
 * The command flags as parseArgs options, for the CLI's one parseArgs call, and how to read
 * them back by long name. One name may have several short forms across commands (`-r` for
 * `upload --recursive`, `-R` for `dir --recursive`): each extra one gets a hidden option.
 */
export function commandFlagOptions(): {
  options: Record<string, BooleanOption>;
  read(values: Record<string, unknown>): Record<string, boolean>;
} {
  const options: Record<string, BooleanOption> = {};
  const keys = new Map<string, string[]>();
  for (const c of COMMANDS) {
    for (const f of c.flags) {
      const forms = keys.get(f.name) ?? [];
      keys.set(f.name, forms);
      if (!(f.name in options)) {
        options[f.name] = { type: "boolean", ...(f.short ? { short: f.short } : {}) };
        forms.push(f.name);
      } else if (f.short && !Object.values(options).some((o) => o.short === f.short)) {
        const key = `${f.name}\u0000${f.short}`;
        options[key] = { type: "boolean", short: f.short };
        forms.push(key);
      }
    }
  }
  return {
    options,
    read: (values) =>
      Object.fromEntries(
        [...keys].map(([name, forms]) => [name, forms.some((k) => values[k] === true)]),
      ),
  };
}

/** A context whose client connects on first use and is closed by the caller. */
class OneShotContext implements CommandContext {
  #options: OneShotOptions;
  #client: Promise<FileshareClient> | null = null;
  readonly progress: ProgressOutput | null;
  /** Ctrl-C or SIGTERM: cancels the running transfer. */
  signal?: AbortSignal;
  /** A cut-off transfer keeps its bytes for --resume, and the message says so. */
  readonly keepPartials = true;

  constructor(options: OneShotOptions) {
    this.#options = options;
    this.progress = options.quiet || options.json ? null : stderrProgressOutput();
  }

  client(): Promise<FileshareClient> {
    this.#client ??= (async () => {
      const address = parseServerAddress(this.#options.server);
      const user = await userName(this.#options);
      // Asked for only when no session ticket logs in.
      const secret = () => password(this.#options, user);
      return await FileshareClient.connect({
        ...address,
        user,
        password: secret,
        clientName: CLIENT_NAME,
        tls: this.#options.tls,
        tickets: ticketStore(),
      });
    })();
    return this.#client;
  }

  localPath(path: string): string {
    return userPath(path);
  }

  notice(line: string): void {
    console.error(line);
  }

  remotePath(path: string): string {
    return path;
  }

  async close(): Promise<void> {
    const client = await this.#client?.catch(() => null);
    client?.close();
  }
}

/**
 * Runs `word args` as a one-shot command and returns what to print on stdout: the command's
 * line, or its JSON value with `--json` (`""`: nothing, e.g. after a download to stdout).
 * Usage mistakes throw {@link UsageError} before anything connects. When part of the work
 * failed, the output is printed here and {@link PartialFailure} thrown.
 */
export async function runOneShot(
  word: string,
  args: string[],
  options: OneShotOptions,
): Promise<string> {
  const command = findCommand(word, "cli");
  if (command === undefined || command.kind !== "remote") {
    throw new UsageError(`Unknown command "${word}"`);
  }
  checkArgCount(command, args, usageLine(command, "cli"));
  const flags = Object.fromEntries(
    command.flags.map((f) => [f.name, options.flags[f.name] ?? false]),
  );
  const ctx = new OneShotContext(options);
  using stop = stopOnSignals();
  ctx.signal = stop.signal;
  try {
    const out = await command.run(ctx, { args, flags });
    const stdout = options.json ? JSON.stringify(out.json) : out.text;
    if (out.failed === undefined) return stdout;
    if (stdout !== "") console.log(stdout);
    throw new PartialFailure(out.failed);
  } catch (err) {
    // Cancelled by a signal: the command's own line (what was kept), the signal's exit code.
    if (stop.stoppedBy !== null) {
      throw new StoppedBySignal(errorLine(err), stop.stoppedBy, { cause: err });
    }
    throw err;
  } finally {
    await ctx.close();
  }
}

/**
 * Ctrl-C and SIGTERM cancel the running command, so a transfer ends cleanly: a download's
 * partial file is removed or kept for --resume with a message, never left silently. A second
 * signal ends the process at once (130 for SIGINT, 143 for SIGTERM).
 */
function stopOnSignals(): Disposable & {
  signal: AbortSignal;
  readonly stoppedBy: "SIGINT" | "SIGTERM" | null;
} {
  const controller = new AbortController();
  const signals: ("SIGINT" | "SIGTERM")[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM"];
  let stoppedBy: "SIGINT" | "SIGTERM" | null = null;
  const handlers = signals.map((sig) => {
    const h = () => {
      if (controller.signal.aborted) Deno.exit(sig === "SIGINT" ? 130 : 143);
      stoppedBy = sig;
      controller.abort();
    };
    Deno.addSignalListener(sig, h);
    return [sig, h] as const;
  });
  return {
    signal: controller.signal,
    get stoppedBy() {
      return stoppedBy;
    },
    [Symbol.dispose]: () => handlers.forEach(([sig, h]) => Deno.removeSignalListener(sig, h)),
  };
}
