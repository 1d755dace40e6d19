import { certificateFingerprint } from "./fingerprint.ts";

/** One remembered server: the fingerprint and the certificate it presented. */
export interface KnownServer {
  /** `host:port` as the user typed it (`[v6]:port` for IPv6). */
  server: string;
  /** SHA-256 fingerprint, colon-separated upper-case hex. */
  fingerprint: string;
  /**
   * The certificates it presented (DER, its own first, then any issuers), so later
   * connections can pin them without fetching them first.
   */
  chain: Uint8Array[];
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where the known-servers file lives: `$XDG_CONFIG_HOME/fileshare/known_servers`, else
 * `~/.config/fileshare/known_servers` (`%APPDATA%\fileshare\known_servers` on Windows).
 *
 * @throws {Error} when neither a config folder nor a home folder can be found
 */
export function defaultKnownServersPath(): string {
  const xdg = env("XDG_CONFIG_HOME");
  if (xdg) return `${xdg}/fileshare/known_servers`;
  if (Deno.build.os === "windows") {
    const appData = env("APPDATA");
    if (appData) return `${appData}\\fileshare\\known_servers`;
  }
  const home = env("HOME") ?? env("USERPROFILE");
  if (!home) throw new Error("Cannot find the config folder: set HOME or XDG_CONFIG_HOME");
  return `${home}/.config/fileshare/known_servers`;
}

/** `host:port` with IPv6 literals in brackets, the key of the known-servers file. */
export function serverKey(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

function parseLine(line: string): KnownServer | null {
  const [server, fingerprint, b64] = line.trim().split(/\s+/);
  if (!server || server.startsWith("#") || !fingerprint || !b64) return null;
  let chain: Uint8Array[];
  try {
    chain = b64.split(",").map((b) => Uint8Array.from(atob(b), (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
  // A line whose certificate does not match its fingerprint was edited by hand: ignore the
  // certificate's claim and trust nothing from it.
  if (certificateFingerprint(chain[0]) !== fingerprint.toUpperCase()) return null;
  return { server, fingerprint: fingerprint.toUpperCase(), chain };
}

function base64(der: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < der.length; i += 0x8000) {
    bin += String.fromCharCode(...der.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

function formatLine(entry: KnownServer): string {
  return `${entry.server} ${entry.fingerprint} ${entry.chain.map(base64).join(",")}`;
}

/**
 * The client's known-servers file, like ssh's known_hosts: one line per server,
 * `HOST:PORT FINGERPRINT CERTIFICATES` (base64 DER, the server's own first, commas between);
 * `#` starts a comment. Written with mode 0600.
 *
 * @example
 * ```ts
 * const known = await KnownServers.load(defaultKnownServersPath());
 * known.get("10.0.0.5:9000")?.fingerprint;
 * ```
 */
export class KnownServers {
  #path: string;
  #entries: Map<string, KnownServer>;

  private constructor(path: string, entries: Map<string, KnownServer>) {
    this.#path = path;
    this.#entries = entries;
  }

  /** Reads the file; a missing file is an empty list. */
  static async load(path: string): Promise<KnownServers> {
    const entries = new Map<string, KnownServer>();
    let text = "";
    try {
      text = await Deno.readTextFile(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    for (const line of text.split("\n")) {
      const e = parseLine(line);
      if (e) entries.set(e.server, e);
    }
    return new KnownServers(path, entries);
  }

  /** The file's path. */
  get path(): string {
    return this.#path;
  }

  /** The remembered entry of `server` (`host:port`), if any. */
  get(server: string): KnownServer | undefined {
    return this.#entries.get(server);
  }

  /**
   * Remembers the certificates `chain` (its own first) for `server`, replacing an older entry, and rewrites the file (mode
   * 0600, its folder 0700), keeping other lines and comments as they were.
   */
  async remember(server: string, chain: Uint8Array[]): Promise<void> {
    const entry = { server, fingerprint: certificateFingerprint(chain[0]), chain };
    this.#entries.set(server, entry);
    let old = "";
    try {
      old = await Deno.readTextFile(this.#path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    const kept = old.split("\n").filter((l) => l.trim() && l.trim().split(/\s+/)[0] !== server);
    const dir = this.#path.replace(/[\\/][^\\/]*$/, "");
    if (dir && dir !== this.#path) await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.#path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
    await Deno.writeTextFile(tmp, [...kept, formatLine(entry)].join("\n") + "\n", {
      mode: 0o600,
    });
    try {
      await Deno.chmod(tmp, 0o600);
    } catch {
      // Windows has no modes
    }
    await Deno.rename(tmp, this.#path);
  }
}
