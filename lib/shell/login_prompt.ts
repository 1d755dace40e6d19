import { FileshareClient } from "../client/client.ts";
import { FileshareError } from "../protocol/errors.ts";
import type { ShellLogin } from "./shell.ts";
import { errorLine, UsageError } from "../cli/errors.ts";
import { parseServerAddress } from "../cli/address.ts";
import { promptHidden, promptLine } from "../cli/password.ts";
import { CLIENT_NAME } from "../cli/version.ts";
import { type ServerTrust, ServerTrustError } from "../tls/trust.ts";

/** What is already known before the prompts. */
export interface LoginDefaults {
  /** Server address to offer (or to use without asking when `serverGiven`). */
  server: string;
  /** Whether `--server` named it: then it is not asked for, unless it could not be reached. */
  serverGiven: boolean;
  /** User name to offer (or to use without asking on the first attempt when `userGiven`). */
  user?: string;
  /** Whether `--user` named it: then it is not asked for on the first attempt. */
  userGiven?: boolean;
  /** From FILESHARE_PASSWORD: used for the first attempt without a prompt. */
  password?: string;
  /** How to trust the server's certificate (false: no TLS). */
  tls?: ServerTrust | false;
}

/** Most login attempts before giving up. */
export const LOGIN_ATTEMPTS = 3;

/**
 * Asks on the terminal until it holds an address of the form HOST:PORT (Enter takes
 * `current`); a typing mistake is said and asked again.
 */
async function askServer(current: string, err: (line: string) => void): Promise<string> {
  for (;;) {
    const answer = await promptLine(`Server [${current}]: `);
    if (answer === null) throw new UsageError("No server given");
    const typed = answer.trim() || current;
    try {
      parseServerAddress(typed);
      return typed;
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      err(e.message);
    }
  }
}

/**
 * Asks on the terminal for the server (default shown), the user and the password (not
 * echoed), and connects; a failed login asks again, up to {@link LOGIN_ATTEMPTS} times. The
 * password is asked only once the server has answered, so a wrong address is reported first;
 * a user named by `--user` is never asked for, so a wrong password is followed by the
 * password prompt again. The last failure is thrown, not printed.
 */
export async function interactiveLogin(
  defaults: LoginDefaults,
  err: (line: string) => void,
): Promise<{ client: FileshareClient; login: ShellLogin }> {
  let server = defaults.server;
  let user = defaults.user;
  let last: unknown = null;
  for (let attempt = 1; attempt <= LOGIN_ATTEMPTS; attempt++) {
    // A server named by --server is asked for again only when it could not be reached.
    if (!defaults.serverGiven || attempt > 1 && !(last instanceof FileshareError)) {
      server = await askServer(server, err);
    }
    const address = parseServerAddress(server);
    if (!(defaults.userGiven && user)) {
      const typed = await promptLine(user ? `User [${user}]: ` : "User: ");
      if (typed === null) throw new UsageError("No user name given");
      if (typed.trim()) user = typed.trim();
    }
    if (!user) {
      err("A user name is needed");
      continue;
    }
    const name = user;
    let password = attempt === 1 ? defaults.password : undefined;
    const login: ShellLogin = {
      ...address,
      user: name,
      password: "",
      clientName: CLIENT_NAME,
      tls: defaults.tls,
    };
    try {
      const client = await FileshareClient.connect({
        ...login,
        password: async () => {
          password ??= (await promptHidden(`Password for ${name}: `)) ?? undefined;
          if (password === undefined) throw new UsageError("No password given");
          return password;
        },
      });
      return { client, login: { ...login, password: password! } };
    } catch (e) {
      // Refused or changed certificates and a closed terminal: asking again cannot help.
      if (e instanceof ServerTrustError || e instanceof UsageError) throw e;
      last = e;
      if (attempt < LOGIN_ATTEMPTS) err(`${errorLine(e)} (try again)`);
    }
  }
  throw last;
}
