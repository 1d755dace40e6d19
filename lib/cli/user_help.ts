/**
 * Help of `server user` and of each of its commands (`server user add --help`).
 * @module
 */

const STORAGE = `Storage (every user command):
  --users FILE           users file (default ./users.json)
  --store nats://HOST:PORT[,HOST:PORT...]
                         the users of servers sharing a NATS cluster (instead of --users)
  --bucket NAME          NATS bucket (default fileshare; users in NAME-users)`;

const HELP: Record<string, string> = {
  add: `Usage: server user add NAME [--read-only] [--home PATH] [--quota SIZE] [--password-stdin]
                       [--iterations N]

Adds a user. The password is asked twice on a terminal (not echoed), or read from the
first line of stdin with --password-stdin. A running server picks the change up without
a restart.

Options:
  --read-only            the user may list and download, not upload or delete
  --home PATH            confine the user to this folder of the root (relative to the
                         root, no ".."; created at their first login)
  --quota SIZE           cap the bytes under the user's root (1000, 512KiB, 10MB, 2GiB)
  --password-stdin       read the password from the first line of stdin
  --iterations N         PBKDF2 iterations for the stored keys (default 600000, at least 4096)

${STORAGE}

Examples:
  server user add alice --home alice --quota 10GiB
  echo "$BOB_PW" | server user add bob --read-only --password-stdin`,
  set: `Usage: server user set NAME [--home PATH | --no-home] [--read-only | --read-write]
                       [--quota SIZE | --quota none]

Changes a user's settings; flags not given leave a setting as it is.

Options:
  --home PATH, --no-home       confine the user to a folder of the root, or give the whole root
  --read-only, --read-write    list and download only, or write too
  --quota SIZE, --quota none   cap the bytes under the user's root, or lift the cap

${STORAGE}

Example:
  server user set alice --quota 20GiB`,
  passwd: `Usage: server user passwd NAME [--password-stdin] [--iterations N]

Sets a new password for an existing user: asked twice on a terminal, or the first line of
stdin with --password-stdin.

Options:
  --password-stdin       read the password from the first line of stdin
  --iterations N         PBKDF2 iterations for the stored keys (default 600000, at least 4096)

${STORAGE}

Example:
  server user passwd alice`,
  remove: `Usage: server user remove NAME

Removes a user: they can no longer log in.

${STORAGE}

Example:
  server user remove bob`,
  list: `Usage: server user list

Lists the users, one a line, with their settings in brackets (read-only, home, quota).

${STORAGE}

Example:
  server user list --users /srv/fileshare/users.json`,
};

/** The help of `server user ACTION`, or of `server user` when the action is not one of them. */
export function userCommandHelp(action: string | undefined): string {
  if (action !== undefined && Object.hasOwn(HELP, action)) return HELP[action];
  return `Usage: server user add|set|passwd|remove|list ...

Manages the users who may log in. Each command has its own help:
  server user add --help

  server user add NAME [--read-only] [--home PATH] [--quota SIZE] [--password-stdin]
  server user set NAME [--home PATH | --no-home] [--read-only | --read-write] [--quota SIZE]
  server user passwd NAME [--password-stdin] [--iterations N]
  server user remove NAME
  server user list

${STORAGE}`;
}
