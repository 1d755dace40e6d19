import { FileshareClient } from "../client/client.ts";
import { parseServerAddress } from "../cli/address.ts";
import { palette, useColor } from "../cli/color.ts";
import { credentials, env } from "../cli/credentials.ts";
import { stdinIsTerminal } from "../cli/password.ts";
import { userCwd } from "../cli/paths.ts";
import { stderrProgressOutput } from "../cli/progress.ts";
import { CLIENT_NAME } from "../cli/version.ts";
import { interactiveLogin } from "./login_prompt.ts";
import { Shell, type ShellOptions } from "./shell.ts";
import { runInteractiveShell, runScriptShell } from "./shell_loop.ts";
import type { ServerTrust } from "../tls/trust.ts";

/** The client flags the shell uses. */
export interface StartShellOptions {
  /** `HOST:PORT`: from --server, FILESHARE_SERVER or the default. */
  server: string;
  /** Whether --server named it (then the interactive login does not ask). */
  serverGiven: boolean;
  /** `--user` (else FILESHARE_USER, else asked). */
  user?: string;
  /** `--password-stdin`: the first line of stdin is the password, the rest the script. */
  "password-stdin": boolean;
  /** `--quiet`: no progress bars. */
  quiet: boolean;
  /** `--keep-going`: a script runs every line even after a failure. */
  "keep-going": boolean;
  /** `get` flushes each file to disk before it takes its name, as `get --fsync` does. */
  fsync?: boolean;
  /** How to trust the server's certificate (false: no TLS). */
  tls: ServerTrust | false;
}

/**
 * `client` without a command: on a terminal, prompts for the login and runs the interactive
 * shell; otherwise logs in from flags and environment and runs the script on stdin. Returns
 * the exit code.
 */
export async function startShell(options: StartShellOptions): Promise<number> {
  const color = useColor(Deno.stderr.isTerminal());
  const err = (line: string) => console.error(palette(color).red(line));
  const common: Omit<ShellOptions, "login"> = {
    localCwd: userCwd(),
    out: (text: string) => console.log(text),
    err,
    progress: options.quiet ? null : stderrProgressOutput(),
    color,
    defaultFlags: options.fsync ? { fsync: true } : {},
  };
  if (stdinIsTerminal() && !options["password-stdin"]) {
    const { client, login } = await interactiveLogin({
      server: options.server,
      serverGiven: options.serverGiven,
      user: options.user ?? env("FILESHARE_USER"),
      userGiven: options.user !== undefined,
      password: env("FILESHARE_PASSWORD"),
      tls: options.tls,
    }, err);
    console.log(
      `Connected to ${login.hostname}:${login.port} as ${login.user}. Type "help" for commands.`,
    );
    return await runInteractiveShell(new Shell({ ...common, login, client }));
  }
  const address = parseServerAddress(options.server);
  const { user, password } = await credentials(options);
  const login = { ...address, user, password, clientName: CLIENT_NAME, tls: options.tls };
  const client = await FileshareClient.connect(login);
  return await runScriptShell(new Shell({ ...common, login, client }), options["keep-going"]);
}
