import { createHmac } from "node:crypto";
import {
  b64,
  DEFAULT_ITERATIONS,
  deriveCredentials,
  MIN_ITERATIONS,
  type ScramCredentials,
  unb64,
} from "./scram.ts";
import { writeFileAtomic } from "../atomic_file.ts";
import { parseRemotePath } from "../store/paths.ts";

/** A user as stored in the users file: SCRAM keys, never the password. */
export interface UserRecord {
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
  readOnly: boolean;
  created: string;
  /**
   * The folder, relative to the served root, that is this user's whole view (absent: the
   * whole root). Files written before homes existed have no such field and keep working.
   */
  home?: string;
  /** Most bytes the files under the user's root may hold (absent: no quota). */
  quota?: number;
}

/** Settings of a user besides the password, as `user add` and `user set` change them. */
export interface UserSettings {
  /** May only list and download. */
  readOnly: boolean;
  /** Home folder relative to the root (normalised, no leading slash); null: the whole root. */
  home: string | null;
  /** Byte quota of the user's root; null: none. */
  quota: number | null;
}

/** The users file's JSON shape. */
export interface UsersFileData {
  version: 1;
  /** Random key for the fake salts of unknown users (so they look like real ones). */
  secret: string;
  /**
   * The one PBKDF2 iteration count every user's keys use and unknown users are shown, so the
   * count never tells whether a user exists. Absent in older files: the most common count.
   */
  iterations?: number;
  /** Raised by `server user revoke-tickets`: every session ticket issued before is void. */
  ticketEpoch?: number;
  users: Record<string, UserRecord>;
}

/** A user as the server sees it at login. */
export interface UserLogin {
  name: string;
  credentials: ScramCredentials;
  readOnly: boolean;
  /** False for the stand-in of an unknown user: its proof can never match. */
  exists: boolean;
  /** The user's home folder relative to the root; null: the whole root. */
  home: string | null;
  /** The user's byte quota; null: none. */
  quota: number | null;
}

/** A users-file problem (bad JSON, bad name, unknown user for remove). */
export class UsersError extends Error {
  /** Creates a users-file error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsersError";
  }
}

const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** Throws UsersError unless `name` is a valid user name. */
export function validateUserName(name: string): void {
  if (!USER_NAME.test(name)) {
    throw new UsersError(
      `Invalid user name "${name}": use 1-64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit`,
    );
  }
}

/**
 * Checks a home folder as every client path is checked (relative to the root, no `..`, no
 * absolute path, portable names) and returns its normalised form; null for the root itself.
 */
export function normaliseHome(home: string): string | null {
  try {
    const path = parseRemotePath(home);
    return path.segments.length === 0 ? null : path.text;
  } catch (err) {
    throw new UsersError(`Invalid home "${home}": ${(err as Error).message}`, { cause: err });
  }
}

/** Checks a quota in bytes: a non-negative safe integer. */
function checkQuota(quota: number): number {
  if (!Number.isSafeInteger(quota) || quota < 0) {
    throw new UsersError(`Invalid quota ${quota}: use a whole number of bytes, 0 or more`);
  }
  return quota;
}

function isRecord(v: unknown): v is UserRecord {
  if (typeof v !== "object" || v === null) return false;
  const r = v as Record<string, unknown>;
  const home = r.home === undefined ||
    (typeof r.home === "string" && r.home.length > 0 && validHome(r.home));
  const quota = r.quota === undefined ||
    (Number.isSafeInteger(r.quota) && (r.quota as number) >= 0);
  return typeof r.salt === "string" && typeof r.storedKey === "string" &&
    typeof r.serverKey === "string" && Number.isSafeInteger(r.iterations) &&
    typeof r.readOnly === "boolean" && home && quota;
}

function validHome(home: string): boolean {
  try {
    return normaliseHome(home) === home;
  } catch {
    return false;
  }
}

function parse(text: string, path: string): UsersFileData {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UsersError(`Users file "${path}" is not valid JSON`, { cause: err });
  }
  const d = data as Partial<UsersFileData>;
  if (
    typeof d !== "object" || d === null || d.version !== 1 || typeof d.secret !== "string" ||
    typeof d.users !== "object" || d.users === null
  ) {
    throw new UsersError(`Users file "${path}" has an unknown format`);
  }
  if (d.iterations !== undefined && !Number.isSafeInteger(d.iterations)) {
    throw new UsersError(`Users file "${path}": bad iteration count`);
  }
  if (d.ticketEpoch !== undefined && !Number.isSafeInteger(d.ticketEpoch)) {
    throw new UsersError(`Users file "${path}": bad ticket epoch`);
  }
  for (const [name, rec] of Object.entries(d.users)) {
    if (!isRecord(rec)) throw new UsersError(`Users file "${path}": bad entry for "${name}"`);
  }
  return d as UsersFileData;
}

/**
 * Where a users document lives: a local file ({@link fileUsersStorage}) or a shared KV
 * bucket (`lib/auth/kv_users_storage.ts`). `version` changes whenever the document does.
 */
export interface UsersStorage {
  /** For messages: the file path or the KV bucket. */
  readonly describe: string;
  /** The document and its version; null when there is none yet. */
  read(): Promise<{ text: string; version: string } | null>;
  /** The current version without reading the document; null when there is none. */
  version(): Promise<string | null>;
  /**
   * Replaces the document, if it is still at `expected` (null: absent) where the storage can
   * check that, else throws {@link UsersError}; returns the new version.
   */
  write(text: string, expected: string | null): Promise<string>;
}

/** The users file on local disk, saved atomically with mode 0600. */
export function fileUsersStorage(path: string): UsersStorage {
  const version = async () => {
    try {
      // The inode too: saves replace the file (rename), and two saves within one tick of the
      // file system's coarse clock share an mtime (a quick user set was missed).
      const info = await Deno.stat(path);
      return `${info.mtime?.getTime() ?? 0}:${info.ino ?? 0}:${info.size}`;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw err;
    }
  };
  return {
    describe: path,
    version,
    read: async () => {
      try {
        const text = await Deno.readTextFile(path);
        return { text, version: (await version()) ?? "0" };
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return null;
        throw new UsersError(`Cannot read users file "${path}": ${(err as Error).message}`, {
          cause: err,
        });
      }
    },
    write: async (text) => {
      await writeFileAtomic(path, text, 0o600);
      return (await version()) ?? "0";
    },
  };
}

/**
 * The users document: load, look up, add, remove, change password, save. The server calls
 * {@link UsersFile.refresh} before each login so `server user ...` changes (through any
 * server sharing the storage) apply without a restart.
 */
export class UsersFile {
  #storage: UsersStorage;
  #data: UsersFileData;
  #version: string | null;
  /** Decoded keys by name, so a login of a real user does no more work than an unknown one. */
  #decoded = new Map<string, ScramCredentials>();
  #secret: Uint8Array;
  #refreshing: Promise<void> | null = null;
  /** The most common iteration count (older files without `iterations`), computed once. */
  #common: number | undefined;

  private constructor(storage: UsersStorage, data: UsersFileData, version: string | null) {
    this.#storage = storage;
    this.#data = data;
    this.#version = version;
    this.#secret = unb64(data.secret);
  }

  #adopt(data: UsersFileData, version: string | null): void {
    this.#data = data;
    this.#version = version;
    this.#secret = unb64(data.secret);
    this.#decoded.clear();
    this.#common = undefined;
  }

  /** The file's path (or the shared storage's description). */
  get path(): string {
    return this.#storage.describe;
  }

  /** Loads the users file; null when it does not exist. */
  static load(path: string): Promise<UsersFile | null> {
    return UsersFile.loadFrom(fileUsersStorage(path));
  }

  /** Loads the users document from any storage; null when there is none yet. */
  static async loadFrom(storage: UsersStorage): Promise<UsersFile | null> {
    const got = await storage.read();
    if (got === null) return null;
    return new UsersFile(storage, parse(got.text, storage.describe), got.version);
  }

  /** A new, empty users file in memory (not yet saved). */
  static create(path: string): UsersFile {
    return UsersFile.createIn(fileUsersStorage(path));
  }

  /** A new, empty users document for any storage (not yet saved). */
  static createIn(storage: UsersStorage): UsersFile {
    const secret = b64(crypto.getRandomValues(new Uint8Array(32)));
    return new UsersFile(storage, { version: 1, secret, users: {} }, null);
  }

  /**
   * Reloads the document if it changed since it was read. Calls that overlap share one
   * check, so a busy server looks at the storage once per burst, not once per command.
   */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#reload().finally(() => (this.#refreshing = null));
    return this.#refreshing;
  }

  async #reload(): Promise<void> {
    let version: string | null;
    try {
      version = await this.#storage.version();
    } catch {
      return;
    }
    if (version === null || version === this.#version) return;
    const fresh = await UsersFile.loadFrom(this.#storage);
    if (fresh) this.#adopt(fresh.#data, fresh.#version);
  }

  /** Saves (a file atomically with mode 0600; a shared document only over what was read). */
  async save(): Promise<void> {
    this.#version = await this.#storage.write(
      JSON.stringify(this.#data, null, 2) + "\n",
      this.#version,
    );
  }

  /** User names with their settings, sorted. */
  list(): ({ name: string; created: string } & UserSettings)[] {
    return Object.entries(this.#data.users)
      .map(([name, r]) => ({ name, created: r.created, ...settingsOf(r) }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Whether the user exists. */
  has(name: string): boolean {
    return Object.hasOwn(this.#data.users, name);
  }

  /**
   * The iteration count of this document: set explicitly, else the most common count among
   * the users (older files), else `fallback`.
   */
  iterations(fallback = DEFAULT_ITERATIONS): number {
    if (this.#data.iterations !== undefined) return this.#data.iterations;
    if (Object.keys(this.#data.users).length === 0) return fallback;
    this.#common ??= this.#mostCommon();
    return this.#common;
  }

  #mostCommon(): number {
    const counts = new Map<number, number>();
    for (const r of Object.values(this.#data.users)) {
      counts.set(r.iterations, (counts.get(r.iterations) ?? 0) + 1);
    }
    let best = DEFAULT_ITERATIONS;
    let most = 0;
    for (const [n, c] of counts) {
      if (c > most || (c === most && n > best)) [best, most] = [n, c];
    }
    return best;
  }

  /** Users whose keys use another iteration count than {@link iterations}: they can be told. */
  outliers(): string[] {
    const n = this.iterations();
    return this.list().map((u) => u.name).filter((u) => this.#data.users[u].iterations !== n);
  }

  /** Adds a user (throws if present). */
  async add(
    name: string,
    password: string,
    options: { iterations?: number } & Partial<UserSettings> = {},
  ): Promise<void> {
    validateUserName(name);
    if (this.has(name)) throw new UsersError(`User "${name}" already exists`);
    const iterations = this.#shared(name, options.iterations);
    const record = await this.#record(password, iterations, {
      readOnly: options.readOnly ?? false,
      created: new Date().toISOString(),
    });
    applySettings(record, options);
    this.#checkHomeApart(name, record.home);
    this.#data.users[name] = record;
    this.#data.iterations = iterations;
  }

  /**
   * Refuses a home that is another user's home, or inside or around it: each user with a home
   * must see only their own files (a user without a home sees the whole root, on purpose).
   */
  #checkHomeApart(name: string, home: string | undefined): void {
    if (home === undefined) return;
    for (const [other, record] of Object.entries(this.#data.users)) {
      if (other === name || record.home === undefined) continue;
      const [a, b] = [home, record.home];
      if (a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`)) {
        throw new UsersError(
          `Home "${home}" overlaps "${record.home}", the home of user "${other}": homes must not be inside one another`,
        );
      }
    }
  }

  /**
   * Changes an existing user's settings (read-only, home, quota); fields left out stay as
   * they are, `null` clears a home or quota.
   */
  set(name: string, changes: Partial<UserSettings>): UserSettings {
    const record = this.has(name) ? this.#data.users[name] : undefined;
    if (!record) throw new UsersError(`No user "${name}"`);
    const next = { ...record };
    applySettings(next, changes);
    this.#checkHomeApart(name, next.home);
    this.#data.users[name] = next;
    return settingsOf(next);
  }

  /** Sets a new password for an existing user, keeping its other settings. */
  async passwd(name: string, password: string, iterations?: number): Promise<void> {
    const old = this.#data.users[name];
    if (!old || !this.has(name)) throw new UsersError(`No user "${name}"`);
    const n = this.#shared(name, iterations);
    this.#data.users[name] = await this.#record(password, n, old);
    this.#data.iterations = n;
    this.#decoded.delete(name);
    this.#common = undefined;
  }

  /**
   * The iteration count for `name`'s new keys: the document's, unless `wanted` differs and
   * no other user holds the document's count (then `wanted` becomes the document's).
   */
  #shared(name: string, wanted: number | undefined): number {
    if (wanted !== undefined && (!Number.isSafeInteger(wanted) || wanted < MIN_ITERATIONS)) {
      throw new UsersError(`Iterations must be at least ${MIN_ITERATIONS}`);
    }
    const others = Object.keys(this.#data.users).filter((u) => u !== name);
    if (others.length === 0) return wanted ?? this.iterations();
    const current = this.iterations();
    if (wanted === undefined || wanted === current) return current;
    throw new UsersError(
      `Cannot use ${wanted} iterations for "${name}": every user shares one count (${current}) ` +
        `so that a login cannot tell which users exist (leave out --iterations)`,
    );
  }

  /** Removes a user (throws if absent). */
  remove(name: string): void {
    if (!this.has(name)) throw new UsersError(`No user "${name}"`);
    delete this.#data.users[name];
    this.#decoded.delete(name);
    this.#common = undefined;
  }

  async #record(
    password: string,
    iterations: number,
    keep: { readOnly: boolean; created: string; home?: string; quota?: number },
  ): Promise<UserRecord> {
    if (password.length === 0) throw new UsersError("Password must not be empty");
    if (!Number.isSafeInteger(iterations) || iterations < MIN_ITERATIONS) {
      throw new UsersError(`Iterations must be at least ${MIN_ITERATIONS}`);
    }
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const c = await deriveCredentials(password, salt, iterations);
    return {
      salt: b64(c.salt),
      iterations,
      storedKey: b64(c.storedKey),
      serverKey: b64(c.serverKey),
      readOnly: keep.readOnly,
      created: keep.created,
      // Only set fields are written: a user without home or quota looks as before.
      ...(keep.home === undefined ? {} : { home: keep.home }),
      ...(keep.quota === undefined ? {} : { quota: keep.quota }),
    };
  }

  /**
   * Credentials for a login. An unknown user gets a stand-in with a salt derived from the
   * secret and the name (the same every time) and the document's iteration count, so the
   * server's answers do not tell whether the user exists. Both paths do the same work: the
   * stand-in is computed for every name, and real users' keys are decoded once and kept.
   */
  lookup(name: string, defaultIterations = DEFAULT_ITERATIONS): UserLogin {
    const secret = this.#secret;
    const mac = (label: string) =>
      new Uint8Array(createHmac("sha256", secret).update(`${label}\0${name}`).digest());
    const standIn: ScramCredentials = {
      salt: mac("salt").slice(0, 16),
      iterations: this.iterations(defaultIterations),
      storedKey: mac("stored"),
      serverKey: mac("server"),
    };
    const rec = Object.hasOwn(this.#data.users, name) ? this.#data.users[name] : undefined;
    if (rec === undefined) {
      return { name, exists: false, readOnly: true, home: null, quota: null, credentials: standIn };
    }
    let credentials = this.#decoded.get(name);
    if (credentials === undefined) {
      credentials = {
        salt: unb64(rec.salt),
        iterations: rec.iterations,
        storedKey: unb64(rec.storedKey),
        serverKey: unb64(rec.serverKey),
      };
      this.#decoded.set(name, credentials);
    }
    return { name, exists: true, ...settingsOf(rec), credentials };
  }

  /**
   * The key session tickets are sealed with: derived from the document's secret and its
   * ticket epoch, so every server sharing the users accepts them and
   * {@link UsersFile.revokeTickets} voids them all.
   */
  ticketSecret(): Uint8Array {
    const epoch = this.#data.ticketEpoch ?? 0;
    return new Uint8Array(createHmac("sha256", this.#secret).update(`ticket\0${epoch}`).digest());
  }

  /** Voids every session ticket issued so far (takes effect once saved). */
  revokeTickets(): void {
    this.#data.ticketEpoch = (this.#data.ticketEpoch ?? 0) + 1;
  }

  /** The user's current record (read-only flag and keys); undefined when there is none. */
  user(name: string): Readonly<UserRecord> | undefined {
    return Object.hasOwn(this.#data.users, name) ? this.#data.users[name] : undefined;
  }
}

function settingsOf(r: UserRecord): UserSettings {
  return { readOnly: r.readOnly, home: r.home ?? null, quota: r.quota ?? null };
}

/** Applies validated setting changes to a record; null removes a home or quota field. */
function applySettings(record: UserRecord, changes: Partial<UserSettings>): void {
  if (changes.readOnly !== undefined) record.readOnly = changes.readOnly;
  if (changes.home !== undefined) {
    const home = changes.home === null ? null : normaliseHome(changes.home);
    if (home === null) delete record.home;
    else record.home = home;
  }
  if (changes.quota !== undefined) {
    if (changes.quota === null) delete record.quota;
    else record.quota = checkQuota(changes.quota);
  }
}

/** A random password of 20 characters from an unambiguous alphabet (~114 bits). */
export function randomPassword(): string {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  const out: string[] = [];
  const bytes = crypto.getRandomValues(new Uint8Array(64));
  for (const b of bytes) {
    if (b < 256 - (256 % alphabet.length)) out.push(alphabet[b % alphabet.length]);
    if (out.length === 20) break;
  }
  return out.join("");
}
