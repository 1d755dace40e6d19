import type { FrameConn } from "../protocol/conn.ts";
import type { ErrorCode } from "../protocol/codes.ts";
import {
  ConnectionError,
  FileshareError,
  InternalError,
  ProtocolError,
} from "../protocol/errors.ts";
import {
  type DownloadRequest,
  parseHello,
  parseRequest,
  PROTOCOL_NAME,
  PROTOCOL_VERSIONS,
  type Request,
  type UploadRequest,
} from "../protocol/messages.ts";
import {
  authContinueResponse,
  authOkResponse,
  type CommandResponse,
  errorResponse,
  helloResponse,
} from "../protocol/responses.ts";
import {
  makeNonce,
  parseClientFirst,
  ScramError,
  serverAuthMessage,
  serverFinal,
  serverFirst,
  type ServerFirstState,
} from "../auth/scram.ts";
import type { UserLogin, UsersFile } from "../auth/users.ts";
import { parseRemotePath } from "../store/paths.ts";
import type { UploadLedger } from "./quota.ts";
import { storeCall } from "./store_errors.ts";
import {
  credentialTag,
  type TicketClaims,
  ticketKey,
  ticketProof,
  TicketSealer,
  verifyTicketProof,
} from "../auth/session_ticket.ts";
import type { LoginGuard } from "./login_guard.ts";
import type { ActivityLog } from "../log/activity_log.ts";
import type { EventName } from "../log/events.ts";
import type { BufferPool } from "../buffer_pool.ts";
import type { Store } from "../store/store.ts";
import {
  DOWNLOAD_HOLD_BYTES,
  type DownloadAhead,
  handleBenchMark,
  handleDelete,
  handleDf,
  handleDir,
  handleDownload,
  handleMkdir,
  type HandlerContext,
  handleRename,
  handleRmdir,
  handleUpload,
  type HeldBody,
  type LogFields,
  openDownload,
  readHeldBody,
} from "./handlers.ts";
import { AnswerQueue, type QueuedAnswer } from "./answer_queue.ts";
import type { HeldBudget } from "./held_budget.ts";

/** What every session shares. */
export interface SessionDeps {
  store: Store;
  users: UsersFile;
  log: ActivityLog;
  /** Server name and version for the handshake. */
  serverName: string;
  /** Iteration count shown for unknown users. */
  defaultIterations: number;
  /** Pause after a failed login, in ms. */
  authFailDelayMs: number;
  /** The largest upload in bytes; null: no limit. */
  maxUploadBytes: number | null;
  /** Uploads in progress on this server, for quotas. */
  ledger: UploadLedger;
  /** How long a session ticket works (ms); 0: none are issued or taken. */
  ticketLifetimeMs?: number;
  /** SHA-256 fingerprint of the server's certificate ("" without TLS); tickets are bound to it. */
  fingerprint?: string;
  /** Failed logins per address across connections: delays and bans. */
  guard?: LoginGuard;
  /** Handshake and login must be done this long after the connection opened (ms; 0: no limit). */
  loginTimeoutMs?: number;
  /** Called once when the session has logged in. */
  onAuthenticated?: () => void;
  /** Chunk buffers shared by all transfers. */
  pool?: BufferPool;
  /** Whether interrupted uploads may be kept for resume (see ServerOptions.partialTtlMs). */
  keepPartials?: boolean;
  /** Bytes of upload bodies all sessions may hold in memory together (none: no bound). */
  held?: HeldBudget;
}

/** The address of `ip:port` or `[v6]:port`, without the port. */
function hostOf(remote: string): string {
  const v6 = /^\[(.*)\]:\d+$/.exec(remote);
  if (v6) return v6[1];
  const i = remote.lastIndexOf(":");
  return i > 0 ? remote.slice(0, i) : remote;
}

const MAX_AUTH_FAILURES = 3;

/** The log code of a failure: the protocol code, TIMEOUT/CANCELLED for a peer that stalled or
 * left, INTERNAL only for faults of the server itself. */
function codeOf(err: unknown): ErrorCode {
  if (err instanceof FileshareError || err instanceof ConnectionError) return err.code;
  return "INTERNAL";
}

/** What the log keeps of an error: the full detail of an internal one, with its id. */
function logMessage(err: unknown): string {
  if (err instanceof InternalError) return err.detail;
  return err instanceof Error ? err.message : String(err);
}

/** What a connection cut by the login deadline of `ms` is told and logged. */
export function loginDeadlineReason(ms: number): string {
  return `Handshake and login not done within ${ms / 1000} s, connection closed`;
}

/** The user's root and settings a command runs with. */
interface UserView {
  store: Store;
  readOnly: boolean;
  quota: number | null;
}

/** What running one command's handler left to do: its log line, and an error to send. */
interface Executed {
  log: LogFields & { event: EventName; ok: boolean };
  /** The error to answer with (null when the handler answered, or nothing can be sent). */
  error: FileshareError | null;
  /** False when the connection must end after this command. */
  keepOpen: boolean;
  started: number;
}

/**
 * One connection: version handshake, SCRAM authentication, then requests, each answered by
 * exactly one response in the order they came (DIR may span several frames, downloads carry a
 * body). Small eager uploads run ahead of their answers: their bodies are read and their files
 * written and committed while the next requests are read (see {@link AnswerQueue}); any other
 * request waits until every earlier one was answered.
 */
export class Session {
  #conn: FrameConn;
  #deps: SessionDeps;
  #id: number;
  #remote: string;
  #user: string | undefined;
  #readOnly = true;
  /** The user's root: the whole store, or a view of their home. Set at login. */
  #store: Store | null = null;
  #quota: number | null = null;
  /** The home `#store` is rooted at (null: the whole store), to notice when it changes. */
  #home: string | null = null;
  #run: string | undefined;
  #idle = true;
  /** Waiting for the next request (perhaps with uploads running ahead). */
  #awaitingRequest = false;
  #closing = false;
  #started = performance.now();
  #scram: ServerFirstState | null = null;
  #scramUser: UserLogin | null = null;
  #wantsTicket = false;
  #ticket: { claims: TicketClaims; nonce: string } | null = null;
  #authFailures = 0;
  /** Answers of uploads that run ahead of them, sent in request order. */
  #answers: AnswerQueue;
  /** The last queued upload to each path: a later one to the same path starts after it. */
  #lastTo = new Map<string, Promise<unknown>>();
  /** What runs ahead now: uploads or downloads, never both (a download must see the upload
   * before it). */
  #aheadOp: "upload" | "download" | null = null;

  /** Creates a session for an accepted connection. */
  constructor(conn: FrameConn, id: number, deps: SessionDeps) {
    this.#conn = conn;
    this.#deps = deps;
    this.#id = id;
    this.#remote = conn.remote;
    this.#answers = new AnswerQueue((messages) => this.#conn.sendAll(messages), () => {
      // An answer that ended the connection: the requests after it get none.
      this.#closing = true;
      this.#conn.close();
    });
  }

  #base(event: EventName, ok: boolean): LogFields & { event: EventName; ok: boolean } {
    const e: LogFields & { event: EventName; ok: boolean } = {
      event,
      ok,
      conn: this.#id,
      remote: this.#remote,
    };
    if (this.#user !== undefined) e.user = this.#user;
    if (this.#run !== undefined) e.run = this.#run;
    return e;
  }

  #logError(err: unknown): void {
    const message = logMessage(err);
    this.#deps.log.write({ ...this.#base("error", false), code: codeOf(err), message });
  }

  /** Asks the session to end: at once when idle, else after the running command (or once the
   * uploads running ahead were answered). */
  requestClose(): void {
    this.#closing = true;
    if (this.#idle) this.#conn.close();
    else if (this.#awaitingRequest) {
      void this.#answers.drain().then(() => {
        if (this.#awaitingRequest) this.#conn.close();
      });
    }
  }

  /** Closes a connection that has not logged in, to make room for others. */
  evict(): void {
    this.#conn.expire("Closed to make room: too many connections have not logged in");
  }

  /** Ends the connection now, even in the middle of a transfer. */
  forceClose(): void {
    this.#closing = true;
    this.#conn.close();
  }

  /** Serves the connection until it ends; never throws. */
  async run(): Promise<void> {
    this.#deps.log.write(this.#base("connect", true));
    const loginMs = this.#deps.loginTimeoutMs ?? 0;
    // One clock for handshake and login together, not restarted by each byte, so a peer that
    // trickles bytes cannot hold a place it never logs in with.
    this.#conn.setDeadline(loginMs, loginDeadlineReason(loginMs));
    try {
      this.#refuseIfBanned();
      // A peer that leaves before its hello (the client's certificate-only TLS probe, a port
      // check) is no error: it ends with connect and disconnect.
      if (!(await this.#handshake())) this.#closing = true;
      while (!this.#closing && this.#answers.open) {
        this.#idle = this.#answers.size === 0;
        this.#awaitingRequest = true;
        const msg = await this.#conn.readMessage();
        this.#idle = this.#awaitingRequest = false;
        if (msg === null || this.#closing) break;
        const req = parseRequest(msg);
        const kind = this.#user === undefined
          ? null
          : req.op === "upload" && this.#fitsAhead(req)
          ? "upload"
          : req.op === "download" && req.offset === undefined
          ? "download"
          : null;
        if (kind !== null) {
          if (this.#aheadOp !== kind && !(await this.#answers.drain())) break;
          this.#aheadOp = kind;
          await this.#recheckUser(this.#user!);
          if (req.op === "download") {
            await this.#downloadAhead(req);
            continue;
          }
          // Past the server-wide budget of held bodies, the upload streams to its file below.
          if (req.op === "upload" && this.#fitsAhead(req) && this.#takeHeld(req)) {
            await this.#uploadAhead(req);
            continue;
          }
        }
        if (!(await this.#answers.drain())) break;
        if (req.op === "auth_start" || req.op === "auth_final") {
          if (!(await this.#auth(req))) break;
          continue;
        }
        if (this.#user === undefined) {
          throw new ProtocolError(
            `Log in first: "${req.op}" is not allowed before authentication`,
            "AUTH_REQUIRED",
          );
        }
        await this.#recheckUser(this.#user);
        if (!(await this.#command(req))) break;
      }
      await this.#answers.drain();
    } catch (err) {
      // What ran ahead is answered (or dropped) before the error goes out.
      await this.#answers.drain();
      if (!(this.#closing && err instanceof ConnectionError)) {
        this.#logError(err);
        if (err instanceof FileshareError && !this.#conn.closed) {
          await this.#conn.send(errorResponse(err.code, err.message, err.reason)).catch(() => {});
        }
      }
    } finally {
      this.#conn.close();
      this.#deps.log.write({
        ...this.#base("disconnect", true),
        ms: Math.round(performance.now() - this.#started),
      });
    }
  }

  /** Throws LIMIT when this address is banned for failed logins. */
  #refuseIfBanned(): void {
    const until = this.#deps.guard?.bannedUntil(hostOf(this.#remote)) ?? null;
    if (until !== null) this.#banned(until);
  }

  #banned(until: number): never {
    const seconds = Math.ceil((until - Date.now()) / 1000);
    throw new FileshareError(
      "LIMIT",
      `Too many failed logins from ${hostOf(this.#remote)}: refused for ${seconds} s more`,
    );
  }

  /**
   * Waits for this address's turn before a login proof is checked: after several failures
   * attempts from one address are spaced out, whatever connection they come on.
   */
  async #awaitTurn(): Promise<void> {
    const turn = this.#deps.guard?.reserve(hostOf(this.#remote));
    if (turn === undefined) return;
    if ("bannedUntil" in turn) this.#banned(turn.bannedUntil);
    if (turn.waitMs > 0) {
      // In short naps, so a connection closed meanwhile (by the peer or at shutdown) ends
      // its wait at once instead of holding the session for the whole turn.
      const end = Date.now() + turn.waitMs;
      while (Date.now() < end && !this.#conn.closed) {
        await new Promise((r) => setTimeout(r, Math.min(250, end - Date.now())));
      }
      if (this.#conn.closed) {
        throw new ConnectionError("Connection closed while waiting for its login turn");
      }
      // A ban may have begun while this attempt waited its turn.
      this.#refuseIfBanned();
    }
  }

  /** Answers the hello; false when the peer closed before sending one. */
  async #handshake(): Promise<boolean> {
    const first = await this.#conn.readMessage();
    if (first === null) return false;
    const hello = parseHello(first);
    if (hello.protocol !== PROTOCOL_NAME) {
      throw new ProtocolError(`Unknown protocol "${hello.protocol}" (this is a fileshare server)`);
    }
    const version = Math.max(
      ...hello.versions.filter((v) => (PROTOCOL_VERSIONS as readonly number[]).includes(v)),
    );
    if (!Number.isFinite(version)) {
      throw new ProtocolError(
        `No common protocol version: client speaks ${hello.versions.join(", ")}, server ${
          PROTOCOL_VERSIONS.join(", ")
        }`,
        "VERSION",
      );
    }
    this.#run = hello.run;
    await this.#conn.send(helloResponse(version, this.#deps.serverName));
    return true;
  }

  /** Runs one SCRAM step; false when the connection must close. */
  async #auth(req: Request): Promise<boolean> {
    if (this.#user !== undefined) throw new ProtocolError("Already authenticated");
    let name = this.#scramUser?.name ?? "";
    try {
      if (req.op === "auth_start" && req.mechanism === "TICKET") {
        return await this.#ticketStart(req.message);
      }
      if (req.op === "auth_final" && this.#ticket !== null) {
        return await this.#ticketFinal(req.message);
      }
      if (req.op === "auth_start") {
        this.#wantsTicket = req.ticket === true;
        const first = parseClientFirst(req.message);
        await this.#deps.users.refresh();
        const login = this.#deps.users.lookup(first.user, this.#deps.defaultIterations);
        name = first.user;
        this.#scram = serverFirst(first, login.credentials);
        this.#scramUser = login;
        await this.#conn.send(authContinueResponse(this.#scram.message));
        return true;
      }
      if (req.op !== "auth_final" || this.#scram === null || this.#scramUser === null) {
        throw new ProtocolError(`"auth_final" must follow "auth_start"`);
      }
      const state = this.#scram;
      const login = this.#scramUser;
      this.#scram = null;
      this.#scramUser = null;
      await this.#awaitTurn();
      const final = serverFinal(state, req.message);
      if (final !== null && login.exists) {
        this.#store = await this.#userRoot(login);
        this.#user = login.name;
        this.#readOnly = login.readOnly;
        this.#quota = login.quota;
        this.#conn.setDeadline(0);
        this.#deps.onAuthenticated?.();
        const ok = this.#base("auth_ok", true);
        this.#deps.log.write(login.home === null ? ok : { ...ok, home: login.home });
        const ticket = this.#wantsTicket
          ? this.#issueTicket(login.name, state, req.message)
          : undefined;
        await this.#conn.send(authOkResponse(final, login.readOnly, ticket));
        return true;
      }
      return await this.#authFailed(login.name);
    } catch (err) {
      if (err instanceof ScramError) {
        this.#scram = null;
        this.#scramUser = null;
        return await this.#authFailed(name, err.message);
      }
      throw err;
    }
  }

  /**
   * The store a user works in: the whole store, or a view of their home folder (created if
   * missing), which every command's paths are then resolved below.
   */
  async #userRoot(login: { name: string; home: string | null }): Promise<Store> {
    const store = login.home === null ? this.#deps.store : await storeCall(
      `Cannot open the home folder of "${login.name}"`,
      () => this.#deps.store.within(parseRemotePath(login.home!)),
    );
    this.#home = login.home;
    return store;
  }

  /** A ticket for the user who just logged in with SCRAM; undefined when tickets are off. */
  #issueTicket(
    user: string,
    state: ServerFirstState,
    clientFinal: string,
  ): { ticket: string; expires: number } | undefined {
    const lifetime = this.#deps.ticketLifetimeMs ?? 0;
    if (lifetime <= 0) return undefined;
    const expires = Date.now() + lifetime;
    const sealer = new TicketSealer(this.#deps.users.ticketSecret());
    const ticket = sealer.seal({
      user,
      expires,
      fingerprint: this.#deps.fingerprint ?? "",
      credential: credentialTag(state.credentials.storedKey),
      key: ticketKey(state.credentials.serverKey, serverAuthMessage(state, clientFinal)),
    });
    return { ticket, expires };
  }

  /**
   * First step of a ticket login: opens the ticket and checks it still holds (not expired,
   * this server, same password, user still there), then sends the server nonce. A ticket
   * that fails is answered AUTH_FAILED with reason "ticket", at once and without counting as
   * a wrong password: the client then logs in with its password on the same connection.
   */
  async #ticketStart(message: string): Promise<boolean> {
    this.#ticket = null;
    const m = /^t=([A-Za-z0-9_-]+),r=([\x21-\x2b\x2d-\x7e]{8,64})$/.exec(message);
    if (!m) throw new ScramError("Malformed ticket message");
    await this.#deps.users.refresh();
    const claims = (this.#deps.ticketLifetimeMs ?? 0) > 0
      ? new TicketSealer(this.#deps.users.ticketSecret()).open(m[1])
      : null;
    const login = claims ? this.#deps.users.lookup(claims.user) : null;
    const why = claims === null || login === null
      ? "not issued by this server, or revoked"
      : claims.expires <= Date.now()
      ? "expired"
      : claims.fingerprint !== (this.#deps.fingerprint ?? "")
      ? "issued for another certificate"
      : !login.exists || claims.credential !== credentialTag(login.credentials.storedKey)
      ? "the password changed or the user was removed"
      : null;
    if (why !== null || claims === null) {
      await this.#conn.send(
        errorResponse("AUTH_FAILED", `Session ticket refused: ${why}`, "ticket"),
      );
      return true;
    }
    const nonce = m[2] + makeNonce();
    this.#ticket = { claims, nonce };
    await this.#conn.send(authContinueResponse(`r=${nonce}`));
    return true;
  }

  /** Second step of a ticket login: the client's proof that it holds the ticket's key. */
  async #ticketFinal(message: string): Promise<boolean> {
    const { claims, nonce } = this.#ticket!;
    this.#ticket = null;
    await this.#awaitTurn();
    const m = /^r=([^,]+),p=([A-Za-z0-9+/=]+)$/.exec(message);
    if (!m || m[1] !== nonce) throw new ScramError("Malformed ticket proof");
    if (!verifyTicketProof(claims.key, "client", nonce, m[2])) {
      return await this.#authFailed(claims.user, "wrong ticket proof");
    }
    const login = this.#deps.users.lookup(claims.user);
    if (!login.exists) return await this.#authFailed(claims.user, "user removed");
    this.#store = await this.#userRoot(login);
    this.#user = login.name;
    this.#readOnly = login.readOnly;
    this.#quota = login.quota;
    this.#conn.setDeadline(0);
    this.#deps.onAuthenticated?.();
    const ok = this.#base("auth_ok", true);
    this.#deps.log.write(login.home === null ? ok : { ...ok, home: login.home });
    await this.#conn.send(
      authOkResponse(`v=${ticketProof(claims.key, "server", nonce)}`, login.readOnly),
    );
    return true;
  }

  /** Counts a failed login against this address; logs the start of a delay and a ban. */
  #recordFailure(): void {
    const guard = this.#deps.guard;
    if (guard === undefined) return;
    const address = hostOf(this.#remote);
    const outcome = guard.failed(address);
    const base = { ...this.#base("auth_throttle", false), failures: outcome.failures };
    delete base.user;
    if (outcome.kind === "delay" && outcome.failures === guard.freeFailures + 1) {
      this.#deps.log.write({
        ...base,
        code: "LIMIT",
        message: `${outcome.failures} failed logins from ${address}: one attempt per ` +
          `${outcome.delayMs / 1000} s or slower from now on`,
        delayMs: outcome.delayMs,
      });
    } else if (outcome.kind === "ban") {
      this.#deps.log.write({
        ...base,
        event: "auth_ban",
        code: "LIMIT",
        message: `${outcome.failures} failed logins from ${address}: banned until ${
          new Date(outcome.untilMs).toISOString()
        }`,
        until: new Date(outcome.untilMs).toISOString(),
      });
    }
  }

  async #authFailed(name: string, detail?: string): Promise<boolean> {
    this.#authFailures++;
    const message = "Authentication failed: wrong user name or password";
    this.#deps.log.write({
      ...this.#base("auth_fail", false),
      user: name,
      code: "AUTH_FAILED",
      message: detail ? `${message} (${detail})` : message,
    });
    this.#recordFailure();
    // A pause makes online guessing slow; it is the same for unknown users and wrong passwords.
    await new Promise((r) => setTimeout(r, this.#deps.authFailDelayMs));
    await this.#conn.send(errorResponse("AUTH_FAILED", message));
    return this.#authFailures < MAX_AUTH_FAILURES;
  }

  /**
   * Applies changes to the user made since login (by `server user ...` through any server
   * sharing the users): a removed user is logged out and disconnected, a change of the
   * read-only flag holds from this command on.
   */
  async #recheckUser(name: string): Promise<void> {
    await this.#deps.users.refresh();
    const record = this.#deps.users.user(name);
    if (record === undefined) {
      throw new ProtocolError(
        `User "${name}" no longer exists: logged out by the server`,
        "AUTH_REQUIRED",
      );
    }
    this.#readOnly = record.readOnly;
    this.#quota = record.quota ?? null;
    // A new home (or none) holds from this command on, like the other settings.
    const home = record.home ?? null;
    if (home !== this.#home) this.#store = await this.#userRoot({ name, home });
  }

  /** Whether an upload may run ahead of its answer: eager, with a body small enough to hold. */
  #fitsAhead(req: UploadRequest): req is UploadRequest & { size: number } {
    return req.eager && req.size !== null && this.#answers.fits(req.size);
  }

  /**
   * Takes room for an upload's body in the server-wide budget of held bodies, which it then
   * holds until its work is done (see {@link #uploadAhead}); false when there is none.
   */
  #takeHeld(req: UploadRequest & { size: number }): boolean {
    return this.#deps.held?.tryTake(req.size) ?? true;
  }

  /**
   * Reads an eager upload's body and queues the writing and commit of its file, whose answer
   * goes out after those of the requests before it; the session goes on reading meanwhile.
   */
  async #uploadAhead(req: UploadRequest & { size: number }): Promise<void> {
    const release = () => this.#deps.held?.give(req.size);
    let held: HeldBody;
    try {
      await this.#answers.room(req.size);
      held = await readHeldBody(this.#conn, req.size, this.#deps.pool);
    } catch (err) {
      release();
      throw err;
    }
    let key = req.path;
    try {
      key = parseRemotePath(req.path).text;
    } catch {
      // refused by the handler with its own message
    }
    const before = this.#lastTo.get(key);
    let answer: CommandResponse | null = null;
    // The user's settings as they are now, when the request came.
    const view = this.#view();
    const work = (async (): Promise<QueuedAnswer> => {
      // Two uploads to one path commit in request order, as if one after the other.
      await before;
      const done = await this.#execute(req, (response) => {
        answer = response;
        return Promise.resolve();
      }, { view, held });
      const message = done.error !== null ? errorFor(done.error) : answer;
      return {
        parts: message === null ? [] : [message],
        keepOpen: done.keepOpen,
        after: (error) => {
          if (error !== undefined) this.#failed(done, error);
          this.#writeLog(done);
        },
      };
    })();
    this.#lastTo.set(key, work);
    const forget = () => {
      if (this.#lastTo.get(key) === work) this.#lastTo.delete(key);
    };
    work.then(forget, forget);
    // The body is dropped once its file is written and committed (or refused).
    work.then(release, release);
    this.#answers.push(req.size, work);
  }

  /**
   * Opens a download's file (reading a small one whole) and queues its answer, which goes out
   * after those of the requests before it; the session goes on reading meanwhile.
   */
  async #downloadAhead(req: DownloadRequest): Promise<void> {
    await this.#answers.room(DOWNLOAD_HOLD_BYTES);
    const view = this.#view();
    // A small file read whole counts against the server-wide budget of held bodies until its
    // answer went out; past it, the file is streamed instead.
    let taken = 0;
    const mayHold = (bytes: number) => {
      if (!(this.#deps.held?.tryTake(bytes) ?? true)) return false;
      taken = bytes;
      return true;
    };
    const release = () => {
      this.#deps.held?.give(taken);
      taken = 0;
    };
    const work = (async (): Promise<QueuedAnswer> => {
      let opened: DownloadAhead | null = null;
      const done = await this.#execute(req, () => Promise.resolve(), {
        view,
        run: async (ctx, log) => {
          opened = await openDownload(ctx, req, log, mayHold);
        },
      });
      const file = opened as DownloadAhead | null;
      if (file?.failure) this.#failed(done, file.failure);
      const stream = file?.stream;
      return {
        parts: done.error !== null ? [errorFor(done.error)] : file?.parts ?? [],
        stream: stream
          ? async () => {
            try {
              await stream(this.#conn);
            } catch (err) {
              // The body's abort trailer went out; only a lost connection stops the rest.
              this.#failed(done, err);
              if (err instanceof ConnectionError || this.#conn.closed) throw err;
            }
          }
          : undefined,
        keepOpen: done.keepOpen,
        after: (error) => {
          if (error !== undefined) this.#failed(done, error);
          void file?.close().catch(() => {});
          release();
          this.#writeLog(done);
        },
      };
    })();
    this.#answers.push(DOWNLOAD_HOLD_BYTES, work);
  }

  /** Marks a command's log line failed with `err`, unless it is already. */
  #failed(done: Executed, err: unknown): void {
    if (!done.log.ok) return;
    done.log.ok = false;
    done.log.code = codeOf(err);
    done.log.message = logMessage(err);
  }

  /** Runs one command; false when the connection must close. */
  async #command(req: Request): Promise<boolean> {
    // A response goes out in as few writes as possible (see FrameConn.cork).
    this.#conn.cork();
    let done: Executed | null = null;
    try {
      done = await this.#execute(req, (response) => this.#conn.send(response));
      const { error } = done;
      if (error !== null && !this.#conn.closed) {
        await this.#conn.send(errorFor(error)).catch(() => {
          done!.keepOpen = false;
        });
      }
    } finally {
      await this.#conn.uncork().catch(() => {
        if (done !== null) done.keepOpen = false;
      });
      if (done !== null) this.#writeLog(done);
    }
    return done.keepOpen;
  }

  /** The user's root and settings for a command. */
  #view(): UserView {
    return {
      store: this.#store ?? this.#deps.store,
      readOnly: this.#readOnly,
      quota: this.#quota,
    };
  }

  #writeLog(done: Executed): void {
    done.log.ms ??= Math.round((performance.now() - done.started) * 1000) / 1000;
    this.#deps.log.write(done.log);
  }

  /**
   * Runs one command's handler; `respond` sends its final answer. Never throws: a failure
   * becomes the log's code and message and, where one can be sent, the error to answer with.
   */
  async #execute(
    req: Request,
    respond: (response: CommandResponse) => Promise<void>,
    ahead: {
      view: UserView;
      held?: HeldBody;
      /** Runs instead of the request's handler. */
      run?: (ctx: HandlerContext, log: LogFields) => Promise<void>;
    } | null = null,
  ): Promise<Executed> {
    const started = performance.now();
    let responded = false;
    const view = ahead?.view ?? this.#view();
    const held = ahead?.held;
    const ctx: HandlerContext = {
      conn: this.#conn,
      store: view.store,
      readOnly: view.readOnly,
      limits: { quota: view.quota, maxUpload: this.#deps.maxUploadBytes },
      ledger: this.#deps.ledger,
      pool: this.#deps.pool,
      user: this.#user ?? "",
      keepPartials: this.#deps.keepPartials ?? false,
      respond: async (response) => {
        responded = true;
        await respond(response);
      },
    };
    const log = this.#base(req.op as EventName, true);
    const done: Executed = { log, error: null, keepOpen: true, started };
    try {
      if (ahead?.run) await ahead.run(ctx, log);
      else {
        await this.#handle(req, ctx, log, held);
      }
    } catch (caught) {
      log.ok = false;
      const known = caught instanceof FileshareError || caught instanceof ConnectionError;
      // An unexpected error becomes INTERNAL with an id: its text may hold server paths.
      const err = caught instanceof ConnectionError
        ? caught
        : InternalError.wrap(caught, `Request "${req.op}" failed`);
      log.code = codeOf(err);
      log.message = logMessage(err);
      // The stream is out of step after these; the connection cannot go on.
      if (err instanceof ProtocolError || err instanceof ConnectionError || !known) {
        done.keepOpen = false;
      }
      if (!responded && !this.#conn.closed && err instanceof FileshareError) done.error = err;
    }
    return done;
  }

  /** Runs the handler of `req`. */
  async #handle(
    req: Request,
    ctx: HandlerContext,
    log: LogFields,
    held: HeldBody | undefined,
  ): Promise<void> {
    switch (req.op) {
      case "upload":
        await handleUpload(ctx, req, log, held);
        break;
      case "download":
        await handleDownload(ctx, req, log);
        break;
      case "delete":
        await handleDelete(ctx, req, log);
        break;
      case "dir":
        await handleDir(ctx, req, log);
        break;
      case "mkdir":
        await handleMkdir(ctx, req, log);
        break;
      case "rmdir":
        await handleRmdir(ctx, req, log);
        break;
      case "df":
        await handleDf(ctx, req, log);
        break;
      case "rename":
        await handleRename(ctx, req, log);
        break;
      case "bench_mark":
        await handleBenchMark(ctx, req, log);
        break;
      default:
        throw new ProtocolError(`Unexpected request "${req.op}"`);
    }
  }
}

/** The answer that reports `err`. */
function errorFor(err: FileshareError): object {
  return errorResponse(err.code, err.message, err.reason);
}
