import { UsageError } from "./errors.ts";
import { promptHidden, promptLine, readStdinLine, stdinIsTerminal } from "./password.ts";

/** An environment variable, or undefined when unset, empty or not permitted. */
export function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/** The user name: `--user` or FILESHARE_USER, else a prompt on a terminal. */
export async function userName(
  values: { user?: string; "password-stdin": boolean },
): Promise<string> {
  let user = values.user ?? env("FILESHARE_USER");
  if (!user) {
    if (!stdinIsTerminal() || values["password-stdin"]) {
      throw new UsageError("No user name: pass --user NAME or set FILESHARE_USER");
    }
    user = (await promptLine("User: "))?.trim() || undefined;
    if (!user) throw new UsageError("No user name given");
  }
  return user;
}

/** The password: `--password-stdin`, FILESHARE_PASSWORD, or a hidden prompt on a terminal. */
export async function password(
  values: { "password-stdin": boolean },
  user: string,
): Promise<string> {
  let password: string | undefined;
  if (values["password-stdin"]) {
    password = (await readStdinLine()) ?? undefined;
    if (!password) {
      throw new UsageError("No password on stdin (--password-stdin reads the first line)");
    }
  } else {
    password = env("FILESHARE_PASSWORD");
  }
  if (password === undefined) {
    if (!stdinIsTerminal()) {
      throw new UsageError("No password: use --password-stdin, FILESHARE_PASSWORD or a terminal");
    }
    password = (await promptHidden(`Password for ${user}: `)) ?? undefined;
    if (!password) throw new UsageError("No password given");
  }
  return password;
}

/**
 * User and password for a connection: `--user` or FILESHARE_USER (else a prompt on a terminal);
 * the password from `--password-stdin`, FILESHARE_PASSWORD, or a hidden prompt on a terminal.
 */
export async function credentials(
  values: { user?: string; "password-stdin": boolean },
): Promise<{ user: string; password: string }> {
  const user = await userName(values);
  return { user, password: await password(values, user) };
}
