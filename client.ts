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
import { FileshareClient } from "./lib/client/client.ts";
import { COMMAND_ALIASES, COMMAND_HELP, commandHelp, runCommand } from "./lib/client/commands.ts";
import { benchMain } from "./lib/client/bench_cli.ts";
import { reportCliError, UsageError } from "./lib/cli/errors.ts";
import { DEFAULT_SERVER, parseServerAddress } from "./lib/cli/address.ts";
import { credentials, env } from "./lib/cli/credentials.ts";
import { stdinIsTerminal } from "./lib/cli/password.ts";
import { userCwd } from "./lib/cli/paths.ts";
import { palette, useColor } from "./lib/cli/color.ts";
import { ProgressBar, stderrProgressOutput } from "./lib/client/progress.ts";
import { runInteractiveShell, runScriptShell, Shell } from "./lib/client/shell.ts";
import { interactiveLogin } from "./lib/client/login.ts";
import { CLIENT_NAME, VERSION } from "./lib/cli/version.ts";

const USAGE = `Usage: client [options] COMMAND [ARGS]
       client [options]            (no command: interactive shell, or a script on stdin)

Commands:
  upload LOCAL [REMOTE] [--overwrite]     (alias put)
  download REMOTE [LOCAL] [--overwrite] [--fsync]   (alias get)
  delete REMOTE                           (alias rm)
  dir [REMOTE_DIR] [--json]               (alias ls)
  mkdir REMOTE_DIR
  rmdir REMOTE_DIR [--recursive]
  subfolder create|delete PATH            (the original spelling of mkdir/rmdir)
  bench [--clients N --files M --size SIZE --op upload|download|mixed]   load test

Options:
  --server HOST:PORT   server to use (default ${DEFAULT_SERVER}, env FILESHARE_SERVER)
  --user NAME          user name (env FILESHARE_USER)
  --password-stdin     read the password from the first line of stdin
                       (else env FILESHARE_PASSWORD, else a hidden prompt on a terminal)
  --overwrite          replace an existing destination file
  --fsync              downloads: flush each file to disk before it takes its name
                       (off by default, as with rsync and scp)
  -r, --recursive      rmdir: remove the folder with everything in it
  --json               print the result as one JSON value on stdout (nothing else there)
  -q, --quiet          no progress bar
  --keep-going         script mode: run every line even after a failure (exit 1 if any)
  -h, --help           show this help
  --version            print the version

Examples:
  client                                   log in at the prompts and use the shell
  client --server 10.0.0.5:9000 --user alice upload photo.jpg photos/
  client download photos/photo.jpg ./copy.jpg
  client ls photos --json

Exit codes: 0 success, 1 failure (one line on stderr), 2 usage error.`;

/** The shell: interactive on a terminal, else a script read from stdin. */
async function shell(
  values: {
    user?: string;
    "password-stdin": boolean;
    quiet: boolean;
    "keep-going": boolean;
    server?: string;
    fsync: boolean;
  },
  server: string,
): Promise<number> {
  const color = useColor(Deno.stderr.isTerminal());
  const style = palette(color);
  const err = (line: string) => console.error(style.red(line));
  const common = {
    localCwd: userCwd(),
    out: (text: string) => console.log(text),
    err,
    progress: values.quiet ? null : stderrProgressOutput(),
    color,
    fsync: values.fsync,
  };
  if (stdinIsTerminal() && !values["password-stdin"]) {
    const { client, login } = await interactiveLogin({
      server,
      serverGiven: values.server !== undefined,
      user: values.user ?? env("FILESHARE_USER"),
      userGiven: values.user !== undefined,
      password: env("FILESHARE_PASSWORD"),
    }, err);
    console.log(
      `Connected to ${login.hostname}:${login.port} as ${login.user}. Type "help" for commands.`,
    );
    return await runInteractiveShell(new Shell({ ...common, login, client }));
  }
  const address = parseServerAddress(server);
  const { user, password } = await credentials(values);
  const login = { ...address, user, password, clientName: CLIENT_NAME };
  const client = await FileshareClient.connect(login);
  return await runScriptShell(new Shell({ ...common, login, client }), values["keep-going"]);
}

/** Index of the command word: the first argument that is neither a flag nor a flag's value. */
function commandIndex(args: string[]): number {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--server" || args[i] === "--user") i++;
    else if (!args[i].startsWith("-")) return i;
  }
  return -1;
}

/** Runs the client CLI with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    const bench = commandIndex(args);
    if (bench >= 0 && args[bench] === "bench") {
      return await benchMain([...args.slice(0, bench), ...args.slice(bench + 1)]);
    }
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        server: { type: "string" },
        user: { type: "string" },
        "password-stdin": { type: "boolean", default: false },
        overwrite: { type: "boolean", default: false },
        fsync: { type: "boolean", default: false },
        recursive: { type: "boolean", short: "r", default: false },
        json: { type: "boolean", default: false },
        quiet: { type: "boolean", short: "q", default: false },
        "keep-going": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
        version: { type: "boolean", default: false },
      },
    });
    let [command, ...rest] = positionals;
    if (values.help) {
      console.log(command && COMMAND_HELP[COMMAND_ALIASES[command]] ? commandHelp(command) : USAGE);
      return 0;
    }
    if (values.version) {
      console.log(`fileshare client ${VERSION}`);
      return 0;
    }
    const server = values.server ?? env("FILESHARE_SERVER") ?? DEFAULT_SERVER;
    if (command === undefined) return await shell(values, server);
    if (command === "subfolder") {
      const [action, ...more] = rest;
      if (action !== "create" && action !== "delete") {
        throw new UsageError(`"subfolder" takes "create" or "delete", got "${action ?? ""}"`);
      }
      command = action === "create" ? "mkdir" : "rmdir";
      rest = more;
    }
    if (!(command in COMMAND_ALIASES)) throw new UsageError(`Unknown command "${command}"`);
    const address = parseServerAddress(server);
    const { user, password } = await credentials(values);
    await using client = await FileshareClient.connect({
      ...address,
      user,
      password,
      clientName: CLIENT_NAME,
    });
    const progress = values.quiet || values.json ? null : stderrProgressOutput();
    let bar: ProgressBar | null = null;
    const out = await runCommand(client, command, rest, {
      overwrite: values.overwrite,
      recursive: values.recursive,
      fsync: values.fsync,
      progress: progress
        ? (label, total) => {
          bar = new ProgressBar(progress, label, total);
          return (done) => bar?.update(done);
        }
        : undefined,
      progressDone: () => (bar as ProgressBar | null)?.clear(),
    });
    console.log(values.json ? JSON.stringify(out.json) : out.text);
    return 0;
  } catch (err) {
    return reportCliError(err, USAGE);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
