/**
 * The client's half of the SCRAM-SHA-256 login, over a connection whose hello is sent.
 * @module
 */
import { createHash } from "node:crypto";
import type { FrameConn } from "../protocol/conn.ts";
import { AuthError } from "../protocol/errors.ts";
import { authFinalRequest, authStartRequest } from "../protocol/messages.ts";
import { parseAuthContinueResponse, parseAuthOkResponse } from "../protocol/responses.ts";
import {
  b64,
  clientFinal,
  type ClientFirst,
  clientFirst,
  credentialsFromSalted,
  parseServerFirst,
  saltedPassword,
  ScramError,
  verifyServerFinal,
} from "../auth/scram.ts";
import { ticketKey } from "../auth/session_ticket.ts";
import type { StoredTicket } from "./ticket_store.ts";

// SaltedPassword is the expensive PBKDF2 step; a client computes it once per password, salt and
// iteration count and reuses it for later connections (load tests open many).
const saltedCache = new Map<string, Uint8Array>();

function cacheKey(password: string, salt: Uint8Array, iterations: number): string {
  const h = createHash("sha256").update(password).digest("hex");
  return `${h}:${b64(salt)}:${iterations}`;
}

/**
 * Sends SCRAM's first message for `user`. It may go out right behind the hello, before the
 * hello's answer (the server reads requests in order), which saves a round trip.
 */
export async function startScramLogin(
  conn: FrameConn,
  user: string,
  wantTicket = false,
): Promise<ClientFirst> {
  const first = clientFirst(user);
  await conn.send(authStartRequest(first.message, wantTicket));
  return first;
}

/** What a finished login gives: the account kind, and a session ticket if one was issued. */
export interface LoginResult {
  /** Whether the account may only list and download. */
  readOnly: boolean;
  /** The ticket the server issued (asked for with `wantTicket`), with its key. */
  ticket?: StoredTicket;
}

/**
 * Finishes the SCRAM-SHA-256 login that {@link startScramLogin} began and checks the server's
 * signature; returns whether the account is read-only, and the session ticket if any. A wrong password, an unknown user or a
 * server that cannot prove it knows the password throws {@link AuthError}.
 */
export async function scramLogin(
  conn: FrameConn,
  first: ClientFirst,
  password: string,
): Promise<LoginResult> {
  const reply = parseAuthContinueResponse(await conn.expectMessage());
  try {
    const server = parseServerFirst(reply.message, first.nonce);
    const key = cacheKey(password, server.salt, server.iterations);
    let salted = saltedCache.get(key);
    if (!salted) {
      salted = await saltedPassword(password, server.salt, server.iterations);
      saltedCache.set(key, salted);
    }
    const final = clientFinal(first, server, salted);
    await conn.send(authFinalRequest(final.message));
    const done = parseAuthOkResponse(await conn.expectMessage());
    verifyServerFinal(done.message, final);
    if (done.ticket === undefined || done.ticketExpires === undefined) {
      return { readOnly: done.readOnly };
    }
    // K is derived here as on the server and never crosses the wire.
    const serverKey = credentialsFromSalted(salted, server.salt, server.iterations).serverKey;
    const ticketK = ticketKey(serverKey, final.authMessage);
    return {
      readOnly: done.readOnly,
      ticket: { ticket: done.ticket, key: ticketK, expires: done.ticketExpires },
    };
  } catch (err) {
    if (err instanceof ScramError) {
      throw new AuthError(`Login failed: ${err.message}`, { cause: err });
    }
    throw err;
  }
}
