import { FrameConn } from "../protocol/conn.ts";
import { errorResponse } from "../protocol/responses.ts";
import type { UsersFile } from "../auth/users.ts";
import type { ActivityLog } from "../log/activity_log.ts";
import type { Store } from "../store/store.ts";
import { Session } from "./session.ts";
import { UploadLedger } from "./quota.ts";
import { LoginGuard, type LoginGuardOptions } from "./login_guard.ts";
import { closeUnlessHandshaken } from "../tls/handshake_deadline.ts";
import { certificateFingerprint, pemCertificates } from "../tls/fingerprint.ts";

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
}

/** Session tickets work for 10 minutes: a burst of one-shot commands, not a working day. */
export const DEFAULT_TICKET_LIFETIME_MS = 10 * 60_000;

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
    this.#accepting = this.#acceptLoop();
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
      if (this.#options.tls) closeUnlessHandshaken(raw as Deno.TlsConn);
      const conn = new FrameConn(raw, { timeoutMs: this.#options.idleTimeoutMs });
      if (this.#sessions.size >= this.#options.maxConnections) {
        const msg = `Server is at its limit of ${this.#options.maxConnections} connections`;
        conn.send(errorResponse("LIMIT", msg)).catch(() => {}).finally(() => conn.close());
        continue;
      }
      const session = new Session(conn, this.#nextId++, {
        ...this.#parts,
        serverName: this.#options.serverName,
        defaultIterations: this.#options.defaultIterations,
        authFailDelayMs: this.#options.authFailDelayMs,
        maxUploadBytes: this.#options.maxUploadBytes ?? null,
        ledger: this.#ledger,
        ticketLifetimeMs: this.#options.ticketLifetimeMs ?? DEFAULT_TICKET_LIFETIME_MS,
        fingerprint: this.#fingerprint,
        guard: this.#guard,
      });
      const done = session.run().finally(() => this.#sessions.delete(session));
      this.#sessions.set(session, done);
    }
  }

  /**
   * Stops accepting, closes idle connections, lets running commands finish for up to
   * `graceMs`, then cuts the rest and removes their temporary files.
   */
  async shutdown(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
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
    await this.#parts.store.abortAll();
  }
}
