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
      return String((await Deno.stat(path)).mtime?.getTime() ?? 0);
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

  private constructor(storage: UsersStorage, data: UsersFileData, version: string | null) {
    this.#storage = storage;
    this.#data = data;
    this.#version = version;
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

  /** Reloads the document if it changed since it was read. */
  async refresh(): Promise<void> {
    let version: string | null;
    try {
      version = await this.#storage.version();
    } catch {
      return;
    }
    if (version === null || version === this.#version) return;
    const fresh = await UsersFile.loadFrom(this.#storage);
    if (fresh) {
      this.#data = fresh.#data;
      this.#version = fresh.#version;
    }
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

  /** Adds a user (throws if present). */
  async add(
    name: string,
    password: string,
    options: { iterations?: number } & Partial<UserSettings> = {},
  ): Promise<void> {
    validateUserName(name);
    if (this.has(name)) throw new UsersError(`User "${name}" already exists`);
    const record = await this.#record(password, options.iterations, {
      readOnly: options.readOnly ?? false,
      created: new Date().toISOString(),
    });
    applySettings(record, options);
    this.#data.users[name] = record;
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
    this.#data.users[name] = next;
    return settingsOf(next);
  }

  /** Sets a new password for an existing user, keeping its other settings. */
  async passwd(name: string, password: string, iterations?: number): Promise<void> {
    const old = this.#data.users[name];
    if (!old || !this.has(name)) throw new UsersError(`No user "${name}"`);
    this.#data.users[name] = await this.#record(password, iterations, old);
  }

  /** Removes a user (throws if absent). */
  remove(name: string): void {
    if (!this.has(name)) throw new UsersError(`No user "${name}"`);
    delete this.#data.users[name];
  }

  async #record(
    password: string,
    iterations = DEFAULT_ITERATIONS,
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
   * secret and the name (the same every time) and the default iteration count, so the server's
   * answers do not tell whether the user exists.
   */
  lookup(name: string, defaultIterations = DEFAULT_ITERATIONS): UserLogin {
    const rec = this.has(name) ? this.#data.users[name] : undefined;
    if (rec) {
      return {
        name,
        exists: true,
        ...settingsOf(rec),
        credentials: {
          salt: unb64(rec.salt),
          iterations: rec.iterations,
          storedKey: unb64(rec.storedKey),
          serverKey: unb64(rec.serverKey),
        },
      };
    }
    const secret = unb64(this.#data.secret);
    const mac = (label: string) =>
      new Uint8Array(createHmac("sha256", secret).update(`${label}\0${name}`).digest());
    return {
      name,
      exists: false,
      readOnly: true,
      home: null,
      quota: null,
      credentials: {
        salt: mac("salt").slice(0, 16),
        iterations: defaultIterations,
        storedKey: mac("stored"),
        serverKey: mac("server"),
      },
    };
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
