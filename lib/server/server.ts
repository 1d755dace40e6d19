import { FrameConn } from "../protocol/conn.ts";
import { errorResponse } from "../protocol/responses.ts";
import type { UsersFile } from "../auth/users.ts";
import type { ActivityLog } from "../log/activity_log.ts";
import type { Store } from "../store/store.ts";
import { loginDeadlineReason, Session } from "./session.ts";
import { UploadLedger } from "./quota.ts";
import { LoginGuard, type LoginGuardOptions } from "./login_guard.ts";
import { certificateFingerprint, pemCertificates } from "../tls/fingerprint.ts";
import { Admission } from "./admission.ts";
import { closeUnlessHandshaken, HANDSHAKE_DEADLINE_MS } from "../tls/handshake_deadline.ts";
import { SocketReaper } from "../tls/socket_reaper.ts";
import { BufferPool } from "../buffer_pool.ts";
import { HeldBudget } from "./held_budget.ts";
import { POOL_BUFFER_BYTES } from "../transfer.ts";

/** How long a refused TLS connection may take to finish its handshake and read LIMIT (ms). */
const REFUSED_HANDSHAKE_MS = 1000;

/** Whether an accept failed because the peer was gone before it was taken. */
function isPeerGone(err: unknown): boolean {
  return err instanceof Deno.errors.NotConnected ||
    err instanceof Deno.errors.ConnectionAborted ||
    err instanceof Deno.errors.ConnectionReset;
}

/** Settings of a running server. */
export interface ServerOptions {
  /** Interface to listen on. */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Close a connection that sends or takes nothing for this long (ms). */
  idleTimeoutMs: number;
  /** On shutdown, how long running transfers may go on (ms). */
  graceMs: number;
  /** Connections served at once; more are refused with LIMIT. */
  maxConnections: number;
  /** Name and version sent in the handshake. */
  serverName: string;
  /** Iteration count shown to unknown users. */
  defaultIterations: number;
  /** Pause after a failed login (ms). */
  authFailDelayMs: number;
  /** Refuse uploads larger than this many bytes with LIMIT (absent: no limit). */
  maxUploadBytes?: number;
  /** Certificate and key (PEM) to encrypt every connection with TLS; absent: clear text. */
  tls?: { cert: string; key: string };
  /**
   * How long a session ticket issued after a full login works (ms); 0 issues and takes none.
   * Default {@link DEFAULT_TICKET_LIFETIME_MS}.
   */
  ticketLifetimeMs?: number;
  /** Brute-force defence per address (defaults: {@link LOGIN_GUARD_DEFAULTS}). */
  loginGuard?: LoginGuardOptions;
  /** Connections from one address at once (default {@link DEFAULT_LIMITS}). */
  maxPerAddress?: number;
  /** Connections not yet logged in at once; kept below `maxConnections`. */
  maxUnauthenticated?: number;
  /** TLS handshake, protocol handshake and login must finish within this (ms) of connecting. */
  loginTimeoutMs?: number;
  /** Slowest transfer (and frame) tolerated, in bytes per second (0: none). */
  minBytesPerSecond?: number;
  /** Longest stall tolerated inside a frame or a transfer (ms). */
  stallMs?: number;
  /** 1 MiB chunk buffers shared by all transfers; beyond them transfers use 16 KiB chunks. */
  transferBuffers?: number;
  /**
   * How long a partial upload kept for resume stays after its last byte (ms); expired ones
   * are removed. Default 24 h; 0 keeps none.
   */
  partialTtlMs?: number;
}

/** Session tickets work for 10 minutes: a burst of one-shot commands, not a working day. */
export const DEFAULT_TICKET_LIFETIME_MS = 10 * 60_000;

/**
 * Flood limits that a small team never reaches and a flood always does: a team behind one
 * NAT address can hold 1,024 connections; 256 connections may be mid-login at once (the
 * oldest makes room for a new one); login must be done in 30 s; a transfer may not stall for
 * a minute or average below 1 KiB/s.
 */
export const DEFAULT_LIMITS = {
  maxPerAddress: 1024,
  maxUnauthenticated: 256,
  loginTimeoutMs: 30_000,
  minBytesPerSecond: 1024,
  stallMs: 60_000,
  transferBuffers: 32,
} as const;

/** The flood limits a server runs with, as in {@link DEFAULT_LIMITS} (each a server flag). */
export type FloodLimits = {
  -readonly [K in Exclude<keyof typeof DEFAULT_LIMITS, "transferBuffers">]: number;
};

/** How long partial uploads are kept by default: a day. */
export const DEFAULT_PARTIAL_TTL_MS = 24 * 3600 * 1000;

/** What the server is built from. */
export interface ServerParts {
  store: Store;
  users: UsersFile;
  log: ActivityLog;
}

/**
 * The listener: accepts connections, runs a {@link Session} for each, refuses connections
 * over the limit, and shuts down gracefully.
 *
 * @example Serve until SIGTERM, then let running transfers finish
 * ```ts
 * import { FileshareServer, type ServerOptions, type ServerParts } from "./server.ts";
 *
 * async function serveUntilSigterm(options: ServerOptions, parts: ServerParts): Promise<void> {
 *   const server = FileshareServer.listen(options, parts);
 *   console.log(`listening on ${server.addr.hostname}:${server.addr.port}`);
 *   const stop = Promise.withResolvers<void>();
 *   Deno.addSignalListener("SIGTERM", () => stop.resolve());
 *   await stop.promise;
 *   await server.shutdown();
 * }
 * ```
 */
export class FileshareServer {
  #listener: Deno.Listener<Deno.TcpConn | Deno.TlsConn, Deno.NetAddr>;
  #options: ServerOptions;
  #parts: ServerParts;
  #sessions = new Map<Session, Promise<void>>();
  #nextId = 1;
  #ledger = new UploadLedger();
  #accepting: Promise<void>;
  #stopping = false;
  #fingerprint: string;
  #guard: LoginGuard;
  #admission: Admission;
  #reaper = new SocketReaper();
  #pool: BufferPool;
  /** Upload bodies held in memory by all sessions (pipelined small uploads). */
  #held = new HeldBudget();
  #expiry: ReturnType<typeof setInterval> | undefined;
  #expiring: Promise<unknown> = Promise.resolve();

  private constructor(
    listener: Deno.Listener<Deno.TcpConn | Deno.TlsConn, Deno.NetAddr>,
    options: ServerOptions,
    parts: ServerParts,
  ) {
    this.#listener = listener;
    this.#options = options;
    this.#parts = parts;
    const cert = options.tls ? pemCertificates(options.tls.cert)[0] : undefined;
    this.#fingerprint = cert ? certificateFingerprint(cert) : "";
    this.#guard = new LoginGuard(options.loginGuard);
    this.#pool = new BufferPool(
      POOL_BUFFER_BYTES,
      options.transferBuffers ?? DEFAULT_LIMITS.transferBuffers,
    );
    const maxConnections = options.maxConnections;
    this.#admission = new Admission({
      maxConnections,
      maxPerAddress: options.maxPerAddress ?? DEFAULT_LIMITS.maxPerAddress,
      // Logged-in users keep room: at most half the places go to connections mid-login.
      maxUnauthenticated: Math.max(
        1,
        Math.min(
          options.maxUnauthenticated ?? DEFAULT_LIMITS.maxUnauthenticated,
          Math.ceil(maxConnections / 2),
        ),
      ),
    });
    this.#accepting = this.#acceptLoop();
    const ttl = this.#partialTtl;
    if (ttl > 0 && parts.store.capabilities.resume) {
      this.#expirePartials();
      // Often enough that a partial outlives its time by at most a quarter of it (or 10 min).
      const every = Math.max(250, Math.min(ttl / 4, 10 * 60 * 1000));
      this.#expiry = setInterval(() => this.#expirePartials(), every);
    }
  }

  get #partialTtl(): number {
    return this.#options.partialTtlMs ?? DEFAULT_PARTIAL_TTL_MS;
  }

  /** Removes partial uploads older than the partial time (one sweep at a time). */
  #expirePartials(): void {
    this.#expiring = this.#expiring.then(() =>
      this.#parts.store.expirePartials(new Date(Date.now() - this.#partialTtl)).catch(() => 0)
    );
  }

  /** Starts listening and serving. */
  static listen(options: ServerOptions, parts: ServerParts): FileshareServer {
    const address = { hostname: options.hostname, port: options.port, transport: "tcp" as const };
    const listener = options.tls
      ? Deno.listenTls({ ...address, cert: options.tls.cert, key: options.tls.key })
      : Deno.listen(address);
    return new FileshareServer(listener, options, parts);
  }

  /** The address actually bound (with the real port). */
  get addr(): Deno.NetAddr {
    return this.#listener.addr;
  }

  /** Connections being served now. */
  get connections(): number {
    return this.#sessions.size;
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#stopping) {
      let raw: Deno.TcpConn | Deno.TlsConn;
      try {
        raw = await this.#listener.accept();
      } catch (err) {
        if (this.#stopping || err instanceof Deno.errors.BadResource) return;
        // A connection reset while still queued fails only itself: take the next one at once
        // (a pause here let a burst of resets stall the accept queue for minutes).
        if (isPeerGone(err)) continue;
        // Out of file descriptors and the like: back off briefly, keep serving.
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const o = this.#options;
      const loginTimeoutMs = o.loginTimeoutMs ?? DEFAULT_LIMITS.loginTimeoutMs;
      // A TLS connection closed before its handshake finished would keep its socket until
      // the peer acts (see SocketReaper): its close hands the socket to the reaper.
      let handshaken = () => !o.tls;
      const conn = new FrameConn(raw, {
        timeoutMs: o.idleTimeoutMs,
        minBytesPerSecond: o.minBytesPerSecond ?? DEFAULT_LIMITS.minBytesPerSecond,
        stallMs: o.stallMs ?? DEFAULT_LIMITS.stallMs,
        onClose: () => {
          if (!handshaken()) this.#reaper.reap(raw);
        },
      });
      let session: Session | null = null;
      const place = { address: conn.remoteAddress, evict: () => session?.evict() };
      const refusal = this.#admission.admit(place);
      if (o.tls) {
        // An admitted connection's login clock starts now (Session.run), so its TLS handshake
        // counts inside the login deadline; one that outlasts the handshake deadline ends as a
        // TIMEOUT like the login's. A refused one has no session: it gets a second to finish
        // the handshake and read LIMIT, so a flood cannot park descriptors on refusals.
        const tlsConn = raw as Deno.TlsConn;
        if (refusal === null) {
          const ms = Math.min(HANDSHAKE_DEADLINE_MS, loginTimeoutMs);
          const reason = ms === loginTimeoutMs
            ? loginDeadlineReason(loginTimeoutMs)
            : `TLS handshake not done within ${ms / 1000} s, connection closed`;
          handshaken = closeUnlessHandshaken(tlsConn, ms, () => conn.expire(reason));
        } else {
          handshaken = closeUnlessHandshaken(tlsConn, REFUSED_HANDSHAKE_MS, () => conn.close());
        }
      }
      if (refusal !== null) {
        conn.send(errorResponse("LIMIT", refusal)).catch(() => {}).finally(() => conn.close());
        continue;
      }
      session = new Session(conn, this.#nextId++, {
        ...this.#parts,
        serverName: o.serverName,
        defaultIterations: o.defaultIterations,
        authFailDelayMs: o.authFailDelayMs,
        maxUploadBytes: o.maxUploadBytes ?? null,
        ledger: this.#ledger,
        ticketLifetimeMs: this.#options.ticketLifetimeMs ?? DEFAULT_TICKET_LIFETIME_MS,
        fingerprint: this.#fingerprint,
        guard: this.#guard,
        loginTimeoutMs,
        onAuthenticated: () => this.#admission.authenticated(place),
        pool: this.#pool,
        held: this.#held,
        keepPartials: this.#partialTtl > 0 && this.#parts.store.capabilities.resume,
      });
      const s = session;
      const done = s.run().finally(() => {
        this.#sessions.delete(s);
        this.#admission.release(place);
      });
      this.#sessions.set(s, done);
    }
  }

  /**
   * Stops accepting, closes idle connections, lets running commands finish for up to
   * `graceMs`, then cuts the rest and removes their temporary files.
   */
  async shutdown(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    clearInterval(this.#expiry);
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    await this.#accepting;
    for (const s of this.#sessions.keys()) s.requestClose();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((r) => (timer = setTimeout(r, this.#options.graceMs)));
    await Promise.race([Promise.all(this.#sessions.values()), grace]);
    clearTimeout(timer);
    for (const s of this.#sessions.keys()) s.forceClose();
    await Promise.all(this.#sessions.values());
    this.#reaper.close();
    await this.#expiring;
    await this.#parts.store.abortAll();
  }
}
