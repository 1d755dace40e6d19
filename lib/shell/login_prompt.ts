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
 * Asks on the terminal for the server (default shown), the user and the password (not
 * echoed), and connects; a failed login asks again, up to {@link LOGIN_ATTEMPTS} times.
 */
export async function interactiveLogin(
  defaults: LoginDefaults,
  err: (line: string) => void,
): Promise<{ client: FileshareClient; login: ShellLogin }> {
  let server = defaults.server;
  let user = defaults.user;
  let last: unknown = null;
  for (let attempt = 1; attempt <= LOGIN_ATTEMPTS; attempt++) {
    if (!defaults.serverGiven || attempt > 1 && !(last instanceof FileshareError)) {
      const answer = await promptLine(`Server [${server}]: `);
      if (answer === null) throw new UsageError("No server given");
      if (answer.trim()) server = answer.trim();
    }
    const address = parseServerAddress(server);
    // A user named by --user is not asked for again, except after a failed login.
    if (!(defaults.userGiven && user && attempt === 1)) {
      const typed = await promptLine(user ? `User [${user}]: ` : "User: ");
      if (typed === null) throw new UsageError("No user name given");
      if (typed.trim()) user = typed.trim();
    }
    if (!user) {
      err("A user name is needed");
      continue;
    }
    const password = attempt === 1 && defaults.password !== undefined
      ? defaults.password
      : await promptHidden(`Password for ${user}: `);
    if (password === null) throw new UsageError("No password given");
    const login: ShellLogin = {
      ...address,
      user,
      password,
      clientName: CLIENT_NAME,
      tls: defaults.tls,
    };
    try {
      return { client: await FileshareClient.connect(login), login };
    } catch (e) {
      if (e instanceof ServerTrustError) throw e; // refused or changed: asking again cannot help
      last = e;
      err(errorLine(e) + (attempt < LOGIN_ATTEMPTS ? " (try again)" : ""));
    }
  }
  throw last;
}
