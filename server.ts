/**
 * fileshare server: serves a folder to authenticated clients, and manages its users.
 *
 * @example
 * ```sh
 * deno task server --port 9000 --root ./server_docs
 * deno task server user add alice --password-stdin < alice.pw
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { randomPassword, UsersError, UsersFile, validateUserName } from "./lib/auth/users.ts";
import { DEFAULT_ITERATIONS, MIN_ITERATIONS } from "./lib/auth/scram.ts";
import { weakPasswordReason } from "./lib/auth/password_policy.ts";
import { ActivityLog } from "./lib/log/activity_log.ts";
import { LocalStore } from "./lib/store/local_store.ts";
import { NatsStore } from "./lib/store/nats_store.ts";
import { type Store, StoreError } from "./lib/store/store.ts";
import { KvUsersStorage } from "./lib/auth/kv_users_storage.ts";
import {
  fileUsersStorage,
  normaliseHome,
  type UserSettings,
  type UsersStorage,
} from "./lib/auth/users.ts";
import { parseSizeFlag } from "./lib/cli/size_flag.ts";
import { formatBytes } from "./lib/units.ts";
import { parseStorageOptions, type StorageChoice } from "./lib/cli/storage_options.ts";
import {
  DEFAULT_LIMITS,
  DEFAULT_TICKET_LIFETIME_MS,
  FileshareServer,
  type FloodLimits,
} from "./lib/server/server.ts";
import { LOGIN_GUARD_DEFAULTS } from "./lib/server/login_guard.ts";
import { type Cidr, parseCidr } from "./lib/server/cidr.ts";
import { reportCliError, UsageError } from "./lib/cli/errors.ts";
import { userPath } from "./lib/cli/paths.ts";
import { parseSize } from "./lib/load/size.ts";
import { SERVER_NAME, VERSION } from "./lib/cli/version.ts";
import { parseIntFlag } from "./lib/cli/int_flag.ts";
import { HELP_OPTIONS, helpOrVersion } from "./lib/cli/help.ts";
import { promptHidden, readStdinLine, stdinIsTerminal } from "./lib/cli/password.ts";
import { serverTls, type ServerTlsFlags } from "./lib/cli/server_tls.ts";
import { listenError, logError, rootError } from "./lib/cli/start_errors.ts";
import { userCommandHelp } from "./lib/cli/user_help.ts";
import type { ServerCertificate } from "./lib/tls/server_certificate.ts";

const USAGE = `Usage:
  server [options]                       serve the shared folder
  server user add NAME [--read-only] [--home PATH] [--quota SIZE] [--password-stdin]
                   [--allow-weak] [--iterations N]
  server user set NAME [--home PATH | --no-home] [--read-only | --read-write]
                   [--quota SIZE | --quota none]
  server user remove NAME
  server user list
  server user passwd NAME [--password-stdin] [--allow-weak] [--iterations N]
  server user revoke-tickets             void every session ticket issued so far
  (user commands take --users FILE, or --store nats://... [--bucket NAME])
  --home PATH confines the user to that folder of the root (created at their first login;
  relative to the root, no ".."); without it the user sees the whole root. --quota SIZE
  (1000, 512KiB, 10MB, 2GiB) caps the bytes of the files under the user's root.
  New passwords need at least 10 characters unless --allow-weak. Every user shares one
  iteration count (default 600000; --iterations sets it for the first user only), so a
  login's answer never tells whether a user exists.

Options:
  --host HOST            interface to listen on (default 0.0.0.0)
  --port PORT            TCP port (default 9000; 0 picks a free port)
  --root DIR             shared folder (default ./server_docs)
  --users FILE           users file (default ./users.json)
  --store nats://HOST:PORT[,HOST:PORT...]
                         keep files and users in a NATS JetStream cluster shared by
                         several servers instead of --root and --users
  --bucket NAME          NATS bucket (default fileshare; users in NAME-users)
  --replicas N           replicas of buckets created now (default 3, 1 on a single node)
  --log FILE             activity log, JSON lines (default ./fileshare.jsonl)
  --log-max-size SIZE    rotate the log at this size, e.g. 100MiB (default 100MiB; 0: never)
  --log-keep N           rotated logs kept: FILE.1 (newest) .. FILE.N (default 5)
  --no-fsync             do not fsync uploads (faster, for scratch data)
  --idle-timeout SECS    close idle connections after this long (default 300)
  --grace SECS           on SIGINT/SIGTERM, let transfers finish this long (default 10)
  --max-connections N    connections served at once (default 4096)
  --max-upload SIZE      refuse an upload bigger than SIZE with LIMIT (default: none)
  --ban-time SECS        after 20 failed logins from one address within 15 minutes,
                         refuse it for this long (default 900); beyond 5 failures its
                         attempts already wait their turn, 1 s more per failure
  --trusted-network CIDR never delay or ban logins from this network, e.g. 10.0.0.0/8
                         (repeat the flag, or separate networks with commas)
  --ticket-lifetime SECS session tickets let a client's next commands log in without
                         the password's PBKDF2 for this long (default 600; 0: none)
  --partial-ttl SECS     keep an interrupted upload this long after its last byte, for
                         upload --resume (default 86400, a day; 0 keeps none)
  --tls-cert FILE        TLS certificate chain, PEM (default: the server's own, made on
                         first start next to the users file)
  --tls-key FILE         private key of --tls-cert, PEM
  --no-tls               serve without encryption (passwords' SCRAM exchange and file
                         contents cross the network in clear); --tls is the default
  --max-per-address N    connections from one address at once (default 1024)
  --max-unauthenticated N  connections still logging in at once; the oldest makes room
                         for a new one (default 256, at most half of --max-connections)
  --login-timeout SECS   TLS handshake, protocol handshake and login must be done within
                         this (default 30)
  --min-rate BYTES       slowest transfer tolerated, bytes/s (default 1024; 0: none)
  --stall-timeout SECS   longest pause inside a transfer or a message (default 60)
  -h, --help             show this help
  --version              print the version

Relative paths resolve against the folder you ran the command from.
At every start the server prints its certificate's SHA-256 fingerprint; clients compare
it the first time they connect. When ready it prints "listening on HOST:PORT".`;

async function readNewPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin) {
    const line = await readStdinLine();
    if (!line) throw new UsageError("No password on stdin (--password-stdin reads the first line)");
    return line;
  }
  if (!stdinIsTerminal()) {
    throw new UsageError("stdin is not a terminal: pass the password with --password-stdin");
  }
  const first = await promptHidden("New password: ");
  const second = await promptHidden("Repeat password: ");
  if (!first) throw new UsageError("Password must not be empty");
  if (first !== second) throw new UsageError("Passwords do not match");
  return first;
}

async function userCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      users: { type: "string", default: "users.json" },
      store: { type: "string" },
      bucket: { type: "string" },
      replicas: { type: "string" },
      "read-only": { type: "boolean", default: false },
      "read-write": { type: "boolean", default: false },
      home: { type: "string" },
      "no-home": { type: "boolean", default: false },
      quota: { type: "string" },
      "password-stdin": { type: "boolean", default: false },
      "allow-weak": { type: "boolean", default: false },
      iterations: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [action, name, ...extra] = positionals;
  if (helpOrVersion({ help: values.help }, "server", userCommandHelp(action))) return 0;
  if (extra.length > 0) throw new UsageError(`Unexpected argument "${extra[0]}"`);
  // Absent: the count the users already share (600,000 for the first user).
  const iterations = values.iterations === undefined ? undefined : parseIntFlag(
    values.iterations,
    "iterations",
    { fallback: DEFAULT_ITERATIONS, min: MIN_ITERATIONS },
  );
  const choice = parseStorageOptions(values.store, values.bucket, values.replicas);
  await using storage = await openUsersStorage(choice, values.users);
  const file = (await UsersFile.loadFrom(storage)) ?? UsersFile.createIn(storage);
  switch (action) {
    case "list": {
      for (const u of file.list()) console.log(`${u.name}${describeSettings(u)}`);
      return 0;
    }
    case "set": {
      if (!name) throw new UsageError(`"user set" needs a user name`);
      const changes = settingChanges(values);
      if (Object.keys(changes).length === 0) {
        throw new UsageError(
          '"user set" needs --home PATH, --no-home, --read-only, --read-write or --quota SIZE',
        );
      }
      const now = file.set(name, changes);
      await file.save();
      console.log(`Changed "${name}":${describeSettings(now) || " full access to the root"}`);
      return 0;
    }
    case "add":
    case "passwd": {
      if (!name) throw new UsageError(`"user ${action}" needs a user name`);
      if (action === "add") validateUserName(name);
      if (action === "add" && file.has(name)) throw new UsersError(`User "${name}" already exists`);
      if (action === "passwd" && !file.has(name)) throw new UsersError(`No user "${name}"`);
      const password = await readNewPassword(values["password-stdin"]);
      const weak = weakPasswordReason(password);
      if (weak !== null && !values["allow-weak"]) throw new UsageError(weak);
      if (action === "add") {
        await file.add(name, password, { ...settingChanges(values), iterations });
      } else await file.passwd(name, password, iterations);
      await file.save();
      console.log(action === "add" ? `Added user "${name}"` : `Changed the password of "${name}"`);
      return 0;
    }
    case "revoke-tickets": {
      if (name) throw new UsageError(`Unexpected argument "${name}"`);
      file.revokeTickets();
      await file.save();
      console.log("Revoked every session ticket: each user's next command logs in in full");
      return 0;
    }
    case "remove": {
      if (!name) throw new UsageError(`"user remove" needs a user name`);
      file.remove(name);
      await file.save();
      console.log(`Removed user "${name}"`);
      return 0;
    }
    default:
      throw new UsageError(
        action
          ? `Unknown user command "${action}"`
          : "Missing user command (add, set, remove, list, passwd, revoke-tickets)",
      );
  }
}

/** The settings `user add` and `user set` were given; absent flags leave a setting alone. */
function settingChanges(values: {
  "read-only": boolean;
  "read-write": boolean;
  home?: string;
  "no-home": boolean;
  quota?: string;
}): Partial<UserSettings> {
  if (values["read-only"] && values["read-write"]) {
    throw new UsageError("Choose one of --read-only and --read-write");
  }
  if (values.home !== undefined && values["no-home"]) {
    throw new UsageError("Choose one of --home PATH and --no-home");
  }
  const changes: Partial<UserSettings> = {};
  if (values["read-only"]) changes.readOnly = true;
  if (values["read-write"]) changes.readOnly = false;
  // Checked here, before a password is asked for.
  if (values.home !== undefined) changes.home = normaliseHome(values.home);
  if (values["no-home"]) changes.home = null;
  if (values.quota !== undefined) changes.quota = parseSizeFlag(values.quota, "quota");
  return changes;
}

/** `  (read-only, home "alice", quota 10.0 MiB)`, or "" for a user with none of these. */
function describeSettings(u: UserSettings): string {
  const parts: string[] = [];
  if (u.readOnly) parts.push("read-only");
  if (u.home !== null) parts.push(`home "${u.home}"`);
  if (u.quota !== null) parts.push(`quota ${formatBytes(u.quota)} (${u.quota} bytes)`);
  return parts.length === 0 ? "" : `  (${parts.join(", ")})`;
}

/** The users document's storage, closed with `await using`. */
async function openUsersStorage(
  choice: StorageChoice,
  usersFlag: string,
): Promise<UsersStorage & AsyncDisposable> {
  if (choice.kind === "nats") return await KvUsersStorage.open(choice);
  return { ...fileUsersStorage(userPath(usersFlag)), [Symbol.asyncDispose]: async () => {} };
}

/** Opens the file store: the local root, or the NATS bucket. */
async function openStore(choice: StorageChoice, root: string, fsync: boolean): Promise<Store> {
  if (choice.kind === "nats") return await NatsStore.open(choice);
  const path = userPath(root);
  try {
    return await LocalStore.open(path, { fsync });
  } catch (err) {
    throw await rootError(path, err);
  }
}

/** The checked flags of `server [options]`. */
interface ServeFlags {
  host: string;
  port: number;
  /** The --root flag as given (resolved when the local store opens). */
  root: string;
  users: string;
  storage: StorageChoice;
  log: string;
  /** Rotate the log at this size (0: never). */
  logMaxBytes: number;
  /** Rotated logs kept. */
  logKeep: number;
  fsync: boolean;
  /** Encryption: on by default with the server's own certificate, or the admin's. */
  tls: ServerTlsFlags;
  idleTimeoutMs: number;
  graceMs: number;
  maxConnections: number;
  /** Largest upload accepted, in bytes; null: no limit. */
  maxUpload: number | null;
  ticketLifetimeMs: number;
  banMs: number;
  trusted: Cidr[];
  /** Flood limits (see {@link DEFAULT_LIMITS}). */
  limits: FloodLimits;
  partialTtlMs: number;
}

/** Parses `server [options]`; null when it answered --help or --version. */
function parseServeFlags(args: string[]): ServeFlags | null {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      host: { type: "string", default: "0.0.0.0" },
      port: { type: "string", default: "9000" },
      root: { type: "string", default: "server_docs" },
      users: { type: "string", default: "users.json" },
      store: { type: "string" },
      bucket: { type: "string" },
      replicas: { type: "string" },
      log: { type: "string", default: "fileshare.jsonl" },
      "log-max-size": { type: "string", default: "100MiB" },
      "log-keep": { type: "string" },
      "no-fsync": { type: "boolean", default: false },
      "idle-timeout": { type: "string" },
      grace: { type: "string" },
      "max-connections": { type: "string" },
      "max-upload": { type: "string" },
      "ticket-lifetime": { type: "string" },
      "ban-time": { type: "string" },
      "trusted-network": { type: "string", multiple: true },
      "partial-ttl": { type: "string" },
      tls: { type: "boolean", default: false },
      "no-tls": { type: "boolean", default: false },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "max-per-address": { type: "string" },
      "max-unauthenticated": { type: "string" },
      "login-timeout": { type: "string" },
      "min-rate": { type: "string" },
      "stall-timeout": { type: "string" },
      ...HELP_OPTIONS,
    },
  });
  if (helpOrVersion(values, "server", USAGE)) return null;
  if (positionals.length > 0) throw new UsageError(`Unexpected argument "${positionals[0]}"`);
  const logMaxBytes = parseSize(values["log-max-size"]);
  if (logMaxBytes === null) {
    throw new UsageError(
      `Invalid --log-max-size "${values["log-max-size"]}": expected a size such as 100MiB`,
    );
  }
  const seconds = (
    flag: "idle-timeout" | "grace" | "login-timeout" | "stall-timeout" | "partial-ttl",
    fallback: number,
    min: number,
  ) => parseIntFlag(values[flag], flag, { fallback, min }) * 1000;
  return {
    host: values.host,
    port: parseIntFlag(values.port, "port", { fallback: 9000, max: 65535 }),
    idleTimeoutMs: seconds("idle-timeout", 300, 1),
    graceMs: seconds("grace", 10, 0),
    partialTtlMs: seconds("partial-ttl", 86400, 0),
    maxConnections: parseIntFlag(values["max-connections"], "max-connections", {
      fallback: 4096,
      min: 1,
    }),
    maxUpload: values["max-upload"] === undefined
      ? null
      : parseSizeFlag(values["max-upload"], "max-upload"),
    ticketLifetimeMs: parseIntFlag(values["ticket-lifetime"], "ticket-lifetime", {
      fallback: DEFAULT_TICKET_LIFETIME_MS / 1000,
      max: 86_400,
    }) * 1000,
    banMs: parseIntFlag(values["ban-time"], "ban-time", {
      fallback: LOGIN_GUARD_DEFAULTS.banMs / 1000,
      min: 1,
    }) * 1000,
    trusted: (values["trusted-network"] ?? []).flatMap((v) => v.split(",")).map((v) => {
      try {
        return parseCidr(v);
      } catch (err) {
        throw new UsageError(`Invalid --trusted-network: ${(err as Error).message}`);
      }
    }),
    limits: {
      maxPerAddress: parseIntFlag(values["max-per-address"], "max-per-address", {
        fallback: DEFAULT_LIMITS.maxPerAddress,
        min: 1,
      }),
      maxUnauthenticated: parseIntFlag(values["max-unauthenticated"], "max-unauthenticated", {
        fallback: DEFAULT_LIMITS.maxUnauthenticated,
        min: 1,
      }),
      loginTimeoutMs: seconds("login-timeout", DEFAULT_LIMITS.loginTimeoutMs / 1000, 1),
      minBytesPerSecond: parseIntFlag(values["min-rate"], "min-rate", {
        fallback: DEFAULT_LIMITS.minBytesPerSecond,
      }),
      stallMs: seconds("stall-timeout", DEFAULT_LIMITS.stallMs / 1000, 1),
    },
    storage: parseStorageOptions(values.store, values.bucket, values.replicas),
    root: values.root,
    users: values.users,
    log: userPath(values.log),
    logMaxBytes,
    logKeep: parseIntFlag(values["log-keep"], "log-keep", { fallback: 5, min: 1 }),
    fsync: !values["no-fsync"],
    tls: {
      enabled: !values["no-tls"],
      tlsGiven: values.tls,
      certPath: values["tls-cert"] === undefined ? undefined : userPath(values["tls-cert"]),
      keyPath: values["tls-key"] === undefined ? undefined : userPath(values["tls-key"]),
      // Next to the users file (for a shared NATS store: next to where it would be on disk).
      ownDir: userPath(values.users).replace(/[\\/][^\\/]*$/, "") || ".",
    },
  };
}

/**
 * Listens for SIGINT/SIGTERM (SIGINT only on Windows). Installed before the server announces
 * readiness, so a stop right after the "listening on" line is still a graceful one.
 */
function stopSignals(): { received: Promise<Deno.Signal>; remove(): void } {
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const stop = Promise.withResolvers<Deno.Signal>();
  const handlers = signals.map((sig) => {
    const h = () => stop.resolve(sig);
    Deno.addSignalListener(sig, h);
    return [sig, h] as const;
  });
  return {
    received: stop.promise,
    remove: () => handlers.forEach(([sig, h]) => Deno.removeSignalListener(sig, h)),
  };
}

/**
 * Loads the users; on the first run creates them with an "admin" user and shows its password
 * once. If another server sharing the storage created them meanwhile, uses theirs.
 */
async function loadOrCreateUsers(storage: UsersStorage): Promise<UsersFile> {
  const existing = await UsersFile.loadFrom(storage);
  if (existing !== null) return existing;
  const fresh = UsersFile.createIn(storage);
  const password = randomPassword();
  await fresh.add("admin", password);
  try {
    await fresh.save();
  } catch (err) {
    const theirs = await UsersFile.loadFrom(storage);
    if (theirs === null) throw err;
    return theirs;
  }
  console.log(
    `Created "${storage.describe}" with the user "admin" and the password:\n\n    ${password}\n`,
  );
  console.log("This password is shown only once. Add users with: deno task server user add NAME\n");
  return fresh;
}

/** Says at start whether connections are encrypted, and the certificate's fingerprint. */
function announceTls(tls: ServerCertificate | null): void {
  if (tls === null) {
    console.error(
      "WARNING: TLS is off (--no-tls): logins and file contents cross the network in clear, " +
        "and clients cannot tell this server from an impostor. Use it only on a trusted network.",
    );
    return;
  }
  if (tls.created) console.log(`Created a TLS key and self-signed certificate: "${tls.certPath}"`);
  console.log(`TLS certificate SHA-256 fingerprint: ${tls.fingerprint}`);
}

/** Serves until SIGINT/SIGTERM, then shuts down gracefully; the activity log frames the run. */
async function serve(flags: ServeFlags): Promise<number> {
  const signals = stopSignals();
  // Users and files: both on local disk, or both in the shared NATS cluster.
  await using usersStorage = await openUsersStorage(flags.storage, flags.users);
  const users = await loadOrCreateUsers(usersStorage);
  const outliers = users.outliers();
  if (outliers.length > 0) {
    console.error(
      `WARNING: ${outliers.map((u) => `"${u}"`).join(", ")} use another iteration count than ` +
        `the other users (${users.iterations()}), so a login attempt can tell they exist; ` +
        `give them a new password with "server user passwd NAME" to fix it`,
    );
  }
  const tls = await serverTls(flags.tls);
  const store = await openStore(flags.storage, flags.root, flags.fsync);
  const log = await ActivityLog.open(flags.log, {
    maxBytes: flags.logMaxBytes,
    keep: flags.logKeep,
  }).catch((err) => {
    throw logError(flags.log, err);
  });
  let server: FileshareServer;
  try {
    server = FileshareServer.listen({
      hostname: flags.host,
      port: flags.port,
      idleTimeoutMs: flags.idleTimeoutMs,
      graceMs: flags.graceMs,
      maxConnections: flags.maxConnections,
      maxUploadBytes: flags.maxUpload ?? undefined,
      ...flags.limits,
      partialTtlMs: flags.partialTtlMs,
      serverName: SERVER_NAME,
      defaultIterations: DEFAULT_ITERATIONS,
      authFailDelayMs: 200,
      ticketLifetimeMs: flags.ticketLifetimeMs,
      loginGuard: { banMs: flags.banMs, allow: flags.trusted },
      tls: tls ?? undefined,
    }, { store, users, log });
  } catch (err) {
    await store.close();
    await log.close();
    throw listenError(flags.host, flags.port, err);
  }
  const started = performance.now();
  const { host } = flags;
  const port = server.addr.port;
  const root = store.location;
  log.write({ event: "server_start", ok: true, host, port, version: VERSION, pid: Deno.pid, root });
  announceTls(tls);
  if (store instanceof LocalStore && !store.raceFree && Deno.build.os === "linux") {
    console.error(
      "WARNING: symlink race protection is off: without --allow-all (as in deno task server " +
        "and the executables) a local user who can write in the shared folder could make " +
        "requests reach files outside it (see docs/security.md).",
    );
  }
  console.log(`listening on ${host}:${port}`);

  const reason = await signals.received;
  console.log(`${reason}: stopping (in-flight transfers get ${flags.graceMs / 1000} s)`);
  // The listeners stay until the log is closed: a second signal during shutdown is absorbed
  // instead of killing the process before server_stop is written.
  await server.shutdown();
  await store.close();
  const ms = Math.round(performance.now() - started);
  log.write({ event: "server_stop", ok: true, pid: Deno.pid, reason, ms });
  await log.close();
  signals.remove();
  console.log("stopped");
  return 0;
}

/** Runs the server CLI with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    if (args[0] === "user") return await userCommand(args.slice(1));
    const flags = parseServeFlags(args);
    return flags === null ? 0 : await serve(flags);
  } catch (err) {
    if (err instanceof StoreError) {
      console.error(`Cannot open the store: ${err.detail}`);
      return 1;
    }
    return reportCliError(err, USAGE);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
