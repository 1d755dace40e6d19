/**
 * Frees the sockets of TLS connections closed before their handshake finished. The runtime
 * (Deno 2.9) keeps such a socket open, inside its pending handshake, until the peer sends
 * something or closes; a peer that stays silent would pin one descriptor per connection for
 * as long as it likes, however soon the server gave up on it. `shutdown(2)` on the descriptor
 * ends that pending read at once, and the runtime then closes the socket itself.
 *
 * The descriptor is found by its connection: the socket inode of the (local, remote) address
 * pair in `/proc/net/tcp` or `/proc/net/tcp6`, then the descriptor in `/proc/self/fd` that
 * links to that inode. Linux only, and only with FFI and `/proc/self/fd` allowed (the server's
 * `--allow-all`); elsewhere {@link SocketReaper.available} is false and reaping does nothing.
 * @module
 */

const SHUT_RDWR = 2;
/** Reaps are gathered for this long, so that a flood costs one scan of /proc per batch. */
const BATCH_MS = 100;

interface Shutdown {
  shutdown(fd: number, how: number): number;
}

function loadShutdown(): Shutdown | null {
  if (Deno.build.os !== "linux") return null;
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return null;
  try {
    Deno.readLinkSync("/proc/self/fd/0");
  } catch (err) {
    // NotFound (no stdin) still shows that /proc/self/fd may be read.
    if (!(err instanceof Deno.errors.NotFound)) return null;
  }
  try {
    const lib = Deno.dlopen("libc.so.6", {
      shutdown: { parameters: ["i32", "i32"], result: "i32" },
    });
    return { shutdown: (fd, how) => lib.symbols.shutdown(fd, how) };
  } catch {
    return null;
  }
}

/** `a.b.c.d` as /proc/net/tcp writes it: the 32-bit word in host (little-endian) order. */
function hexV4(ip: string): string | null {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    return null;
  }
  return parts.reverse().map((p) => p.toString(16).padStart(2, "0")).join("").toUpperCase();
}

/** An IPv6 address as /proc/net/tcp6 writes it: four 32-bit words, each little-endian. */
function hexV6(ip: string): string | null {
  let text = ip.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = v4[1].split(".").map(Number);
    text = text.slice(0, -v4[1].length) +
      `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...Array(fill).fill("0"), ...tail];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  const bytes = groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
  let out = "";
  for (let w = 0; w < 16; w += 4) {
    for (let i = 3; i >= 0; i--) out += bytes[w + i].toString(16).padStart(2, "0");
  }
  return out.toUpperCase();
}

/** The `local remote` key of a connection as /proc/net/tcp{,6} lists it, with its table. */
function procKey(local: Deno.NetAddr, remote: Deno.NetAddr): [string, string] | null {
  const v6 = local.hostname.includes(":");
  const hex = v6 ? hexV6 : hexV4;
  const l = hex(local.hostname);
  const r = hex(remote.hostname);
  if (l === null || r === null) return null;
  const port = (p: number) => p.toString(16).padStart(4, "0").toUpperCase();
  return [v6 ? "tcp6" : "tcp", `${l}:${port(local.port)} ${r}:${port(remote.port)}`];
}

/**
 * Shuts down the sockets of closed, never-handshaken TLS connections, in batches.
 *
 * @example
 * ```ts
 * import { SocketReaper } from "./socket_reaper.ts";
 *
 * const reaper = new SocketReaper();
 * // After closing a TLS connection whose handshake never finished:
 * // reaper.reap(conn);
 * reaper.close();
 * ```
 */
export class SocketReaper {
  #libc: Shutdown | null = loadShutdown();
  #queue = new Map<string, string>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Whether reaping works here (Linux, FFI and /proc/self/fd allowed). */
  get available(): boolean {
    return this.#libc !== null;
  }

  /** Queues the socket of `conn` (already closed by the caller) for shutdown. */
  reap(conn: Deno.Conn): void {
    if (this.#libc === null) return;
    const key = procKey(conn.localAddr as Deno.NetAddr, conn.remoteAddr as Deno.NetAddr);
    if (key === null) return;
    this.#queue.set(key[1], key[0]);
    this.#timer ??= setTimeout(() => this.flush(), BATCH_MS);
  }

  /** Shuts down every queued socket now; returns how many were found and shut down. */
  flush(): number {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#queue.size === 0 || this.#libc === null) return 0;
    const queue = this.#queue;
    this.#queue = new Map();
    const inodes = new Set<string>();
    for (const table of new Set(queue.values())) {
      let text: string;
      try {
        text = Deno.readTextFileSync(`/proc/net/${table}`);
      } catch {
        continue;
      }
      for (const line of text.split("\n")) {
        const f = line.trim().split(/\s+/);
        if (f.length > 9 && queue.has(`${f[1]} ${f[2]}`) && f[9] !== "0") {
          inodes.add(`socket:[${f[9]}]`);
        }
      }
    }
    if (inodes.size === 0) return 0;
    let done = 0;
    for (const e of Deno.readDirSync("/proc/self/fd")) {
      const path = `/proc/self/fd/${e.name}`;
      try {
        if (!inodes.has(Deno.readLinkSync(path))) continue;
        // Checked again right before: the descriptor must still be that socket.
        if (!inodes.has(Deno.readLinkSync(path))) continue;
      } catch {
        continue; // closed meanwhile
      }
      if (this.#libc.shutdown(Number(e.name), SHUT_RDWR) === 0) done++;
    }
    return done;
  }

  /** Shuts down what is queued and stops the batch timer. */
  close(): void {
    this.flush();
  }
}
