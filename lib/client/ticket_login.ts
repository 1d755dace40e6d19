/**
 * The client's half of a login with a session ticket (see lib/auth/session_ticket.ts): no
 * PBKDF2, two messages as in SCRAM, and the server proves it could open the ticket.
 * @module
 */
import type { FrameConn } from "../protocol/conn.ts";
import { AuthError } from "../protocol/errors.ts";
import { authFinalRequest, ticketStartRequest } from "../protocol/messages.ts";
import { parseAuthContinueResponse, parseAuthOkResponse } from "../protocol/responses.ts";
import { makeNonce } from "../auth/scram.ts";
import { ticketProof, verifyTicketProof } from "../auth/session_ticket.ts";
import type { StoredTicket } from "./ticket_store.ts";

/** Sends the first step of a ticket login; returns the client nonce. */
export async function startTicketLogin(conn: FrameConn, ticket: StoredTicket): Promise<string> {
  const nonce = makeNonce();
  await conn.send(ticketStartRequest(ticket.ticket, nonce));
  return nonce;
}

/**
 * Finishes a ticket login; returns whether the account is read-only, or null when the
 * server refused the ticket (expired, revoked, new password): then log in with the password
 * on the same connection. A server that cannot prove it opened the ticket throws
 * {@link AuthError}.
 */
export async function ticketLogin(
  conn: FrameConn,
  nonce: string,
  ticket: StoredTicket,
): Promise<boolean | null> {
  const reply = await conn.expectMessage();
  if (reply.status === "error" && reply.reason === "ticket") return null;
  const combined = /^r=(.+)$/.exec(parseAuthContinueResponse(reply).message)?.[1] ?? "";
  if (!combined.startsWith(nonce) || combined.length <= nonce.length) {
    throw new AuthError("Login failed: server nonce does not extend the client nonce");
  }
  const proof = ticketProof(ticket.key, "client", combined);
  await conn.send(authFinalRequest(`r=${combined},p=${proof}`));
  const done = parseAuthOkResponse(await conn.expectMessage());
  const v = /^v=(.+)$/.exec(done.message)?.[1] ?? "";
  if (!verifyTicketProof(ticket.key, "server", combined, v)) {
    throw new AuthError("Login failed: the server could not prove it issued the ticket");
  }
  return done.readOnly;
}
