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
import denoConfig from "./deno.json" with { type: "json" };
import { FileshareClient } from "./lib/client/client.ts";
import { COMMAND_ALIASES, runCommand } from "./lib/client/commands.ts";
import { benchMain } from "./lib/client/bench_cli.ts";
import { asCliError, errorLine, exitCodeFor, UsageError } from "./lib/cli/errors.ts";
import { DEFAULT_SERVER, parseServerAddress } from "./lib/cli/address.ts";
import { credentials, env } from "./lib/cli/credentials.ts";

const USAGE = `Usage: client [options] COMMAND [ARGS]

Commands:
  upload LOCAL [REMOTE] [--overwrite]     (alias put)
  download REMOTE [LOCAL] [--overwrite]   (alias get)
  delete REMOTE                           (alias rm)
  dir [REMOTE_DIR] [--json]               (alias ls)
  mkdir REMOTE_DIR
  rmdir REMOTE_DIR [--recursive]
  subfolder create|delete PATH            (the original spelling of mkdir/rmdir)

Options:
  --server HOST:PORT   server to use (default ${DEFAULT_SERVER}, env FILESHARE_SERVER)
  --user NAME          user name (env FILESHARE_USER)
  --password-stdin     read the password from the first line of stdin
                       (else env FILESHARE_PASSWORD, else a hidden prompt on a terminal)
  --overwrite          replace an existing destination file
  -r, --recursive      rmdir: remove the folder with everything in it
  --json               print the result as JSON
  -h, --help           show this help
  --version            print the version

Examples:
  client --server 10.0.0.5:9000 --user alice upload photo.jpg photos/
  client download photos/photo.jpg ./copy.jpg
  client ls photos --json

Exit codes: 0 success, 1 failure (one line on stderr), 2 usage error.`;

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
        recursive: { type: "boolean", short: "r", default: false },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
        version: { type: "boolean", default: false },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (values.version) {
      console.log(`fileshare client ${denoConfig.version}`);
      return 0;
    }
    let [command, ...rest] = positionals;
    if (command === undefined) throw new UsageError("Missing command");
    if (command === "subfolder") {
      const [action, ...more] = rest;
      if (action !== "create" && action !== "delete") {
        throw new UsageError(`"subfolder" takes "create" or "delete", got "${action ?? ""}"`);
      }
      command = action === "create" ? "mkdir" : "rmdir";
      rest = more;
    }
    if (!(command in COMMAND_ALIASES)) throw new UsageError(`Unknown command "${command}"`);
    const address = parseServerAddress(values.server ?? env("FILESHARE_SERVER") ?? DEFAULT_SERVER);
    const { user, password } = await credentials(values);
    await using client = await FileshareClient.connect({ ...address, user, password });
    const out = await runCommand(client, command, rest, {
      overwrite: values.overwrite,
      recursive: values.recursive,
      json: values.json,
    });
    console.log(values.json ? JSON.stringify(out.json) : out.text);
    return 0;
  } catch (err) {
    const e = asCliError(err);
    const code = exitCodeFor(e);
    console.error(code === 2 ? `${errorLine(e)}\n\n${USAGE}` : errorLine(e));
    return code;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
