/**
 * fileshare client: upload, download, delete, list and manage folders on a fileshare server.
 *
 * @example
 * ```sh
 * export FILESHARE_SERVER=10.0.0.5:9000 FILESHARE_USER=alice
 * deno task client upload report.pdf docs/report.pdf
 * deno task client dir docs --json
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { cliCommandHelp, cliCommandList } from "./lib/commands/help.ts";
import { commandFlagOptions, runOneShot } from "./lib/commands/one_shot.ts";
import { findCommand } from "./lib/commands/table.ts";
import { benchMain } from "./lib/load/bench_command.ts";
import { startShell } from "./lib/shell/start_shell.ts";
import { reportCliError } from "./lib/cli/errors.ts";
import { DEFAULT_SERVER } from "./lib/cli/address.ts";
import { env } from "./lib/cli/credentials.ts";
import { stdinIsTerminal } from "./lib/cli/password.ts";
import {
  TRUST_FLAGS,
  TRUST_USAGE,
  TRUST_VALUE_FLAGS,
  trustFromFlags,
} from "./lib/cli/trust_flags.ts";
import { HELP_OPTIONS, helpOrVersion } from "./lib/cli/help.ts";

const USAGE = `Usage: client [options] COMMAND [ARGS]
       client [options]            (no command: interactive shell, or a script on stdin)

Commands:
${cliCommandList().join("\n")}
  bench [--clients N --files M --size SIZE --op upload|download|mixed]   load test

Options:
  --server HOST:PORT   server to use (default ${DEFAULT_SERVER}, env FILESHARE_SERVER)
  --user NAME          user name (env FILESHARE_USER)
  --password-stdin     read the password from the first line of stdin
                       (else env FILESHARE_PASSWORD, else a hidden prompt on a terminal)
                       After a full login a one-shot command keeps a session ticket
                       (10 minutes, ~/.config/fileshare/tickets): the next commands to
                       that server as that user log in with it, without the password.
                       FILESHARE_TICKETS=0 logs in in full every time and keeps none
  -f, --overwrite      replace an existing destination file (upload, download, rename)
  --fsync              downloads: flush each file to disk before it takes its name
                       (off by default, as with rsync and scp)
  -r, --recursive      upload/download: whole folders; rmdir: the folder with everything in it
  -L, --follow-symlinks  upload -r: follow local symlinks (default: skip and count them)
  --no-times           upload/download: do not carry the modification time
  -R, --recursive      dir: list every folder below too
  -l, --long           dir: type, size in bytes, modification time (UTC)
  --json               print the result as one JSON value on stdout (nothing else there)
  -q, --quiet          no progress bar
  --keep-going         script mode: run every line even after a failure (exit 1 if any)
${TRUST_USAGE}
  -h, --help           show this help, or with a command that command's help
  --version            print the version

Examples:
  client                                   log in at the prompts and use the shell
  client --server 10.0.0.5:9000 --user alice upload photo.jpg photos/
  client download photos/photo.jpg ./copy.jpg
  client upload -r photos backup/          a folder; several files: upload a b c DIR/
  tar c docs | client upload - docs.tar    stdin; client download docs.tar - | tar x
  client ls photos --json
  client rename photos/2025 archive/

Exit codes: 0 success, 1 failure (one line on stderr; for many files, after the
summary), 2 usage error, 130 stopped by Ctrl-C.`;

/** Index of the command word: the first argument that is neither a flag nor a flag's value. */
function commandIndex(args: string[]): number {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--server" || args[i] === "--user" || TRUST_VALUE_FLAGS.includes(args[i])) i++;
    else if (!args[i].startsWith("-")) return i;
  }
  return -1;
}

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...commandFlagOptions().options,
      server: { type: "string" },
      user: { type: "string" },
      "password-stdin": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      quiet: { type: "boolean", short: "q", default: false },
      "keep-going": { type: "boolean", default: false },
      ...HELP_OPTIONS,
      ...TRUST_FLAGS,
    },
  });
}

/** Runs the client CLI with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    const bench = commandIndex(args);
    if (bench >= 0 && args[bench] === "bench") {
      return await benchMain([...args.slice(0, bench), ...args.slice(bench + 1)]);
    }
    const { values, positionals } = parse(args);
    const [word, ...rest] = positionals;
    const command = word === undefined ? undefined : findCommand(word, "cli");
    if (helpOrVersion(values, "client", command ? cliCommandHelp(command) : USAGE)) return 0;
    const server = values.server ?? env("FILESHARE_SERVER") ?? DEFAULT_SERVER;
    const tls = await trustFromFlags(values, stdinIsTerminal() && !values["password-stdin"]);
    if (word === undefined) {
      return await startShell({
        ...values,
        server,
        serverGiven: values.server !== undefined,
        tls,
      });
    }
    const flags = commandFlagOptions().read(values as Record<string, unknown>);
    const stdout = await runOneShot(word, rest, { ...values, server, flags, tls });
    if (stdout !== "") console.log(stdout);
    return 0;
  } catch (err) {
    return reportCliError(err, USAGE);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
