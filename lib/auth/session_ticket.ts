/**
 * Session tickets: after a full SCRAM login the server may hand the client a ticket, so the
 * client's next commands log in without PBKDF2 (the ~150 ms that every one-shot command paid).
 *
 * A ticket is sealed (AES-256-GCM) under a key only the server holds, derived from the users
 * document's secret and its ticket epoch. Inside: the user, the expiry, the server's
 * certificate fingerprint, a tag of the user's StoredKey (a new password or a removed user
 * voids it) and the ticket key K. K is never sent: both ends derive it from the login they
 * just finished, K = HMAC(ServerKey, "fileshare ticket" + AuthMessage), which a sniffer of
 * that login cannot compute without the password. Using a ticket is a challenge-response
 * with K, so the sealed ticket alone, seen on the wire or copied from a log, logs nobody in.
 * @module
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  timingSafeEqual,
} from "node:crypto";
import { Buffer } from "node:buffer";
import { b64 } from "./scram.ts";

/** What a sealed ticket holds. */
export interface TicketClaims {
  /** The user it logs in. */
  user: string;
  /** When it stops working, ms since the epoch. */
  expires: number;
  /** SHA-256 fingerprint of the certificate of the server that issued it ("" without TLS). */
  fingerprint: string;
  /** {@link credentialTag} of the user's StoredKey when it was issued. */
  credential: string;
  /** The ticket key K both ends derived from the login. */
  key: Uint8Array;
}

const KEY_LABEL = "fileshare ticket\u0000";

function hmac(key: Uint8Array, data: string): Uint8Array {
  return new Uint8Array(createHmac("sha256", key).update(data).digest());
}

/** The ticket key K of a finished SCRAM login: HMAC(ServerKey, label + AuthMessage). */
export function ticketKey(serverKey: Uint8Array, authMessage: string): Uint8Array {
  return hmac(serverKey, KEY_LABEL + authMessage);
}

/** A short tag of a user's StoredKey: changes with the password. */
export function credentialTag(storedKey: Uint8Array): string {
  return b64(new Uint8Array(createHash("sha256").update(storedKey).digest()).subarray(0, 16));
}

/** The proof one side sends over the combined nonce of a ticket login (base64). */
export function ticketProof(key: Uint8Array, side: "client" | "server", nonce: string): string {
  return b64(hmac(key, `${side}\u0000${nonce}`));
}

/** Whether `proof` (base64) is the `side`'s proof for `nonce`, compared in constant time. */
export function verifyTicketProof(
  key: Uint8Array,
  side: "client" | "server",
  nonce: string,
  proof: string,
): boolean {
  const want = Buffer.from(ticketProof(key, side, nonce));
  const got = Buffer.from(proof);
  return got.length === want.length && timingSafeEqual(got, want);
}

/**
 * Seals and opens tickets under one server key. A ticket that is not sealed under this key
 * (another server, a rotated epoch) or was changed in any bit opens to null.
 *
 * @example
 * ```ts
 * import { TicketSealer } from "./session_ticket.ts";
 *
 * const sealer = new TicketSealer(crypto.getRandomValues(new Uint8Array(32)));
 * const key = crypto.getRandomValues(new Uint8Array(32));
 * const sealed = sealer.seal({
 *   user: "alice", expires: Date.now() + 600_000, fingerprint: "", credential: "x", key,
 * });
 * console.log(sealer.open(sealed)?.user); // "alice"
 * ```
 */
export class TicketSealer {
  #key: Uint8Array;

  /** Creates a sealer; `secret` is 32 bytes known only to the server(s). */
  constructor(secret: Uint8Array) {
    if (secret.length !== 32) throw new RangeError("A ticket secret is 32 bytes");
    this.#key = secret;
  }

  /** The sealed ticket (base64url), opaque to the client. */
  seal(claims: TicketClaims): string {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    const body = JSON.stringify({
      u: claims.user,
      e: claims.expires,
      f: claims.fingerprint,
      c: claims.credential,
      k: b64(claims.key),
    });
    const sealed = Buffer.concat([cipher.update(body, "utf8"), cipher.final()]);
    return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString("base64url");
  }

  /** The claims of a ticket sealed by this key; null for anything else. */
  open(ticket: string): TicketClaims | null {
    if (!/^[A-Za-z0-9_-]{40,4096}$/.test(ticket)) return null;
    const raw = Buffer.from(ticket, "base64url");
    if (raw.length < 12 + 16 + 2) return null;
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.#key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      const body = Buffer.concat([
        decipher.update(raw.subarray(12, raw.length - 16)),
        decipher.final(),
      ]).toString("utf8");
      const c = JSON.parse(body);
      if (
        typeof c.u !== "string" || !Number.isSafeInteger(c.e) || typeof c.f !== "string" ||
        typeof c.c !== "string" || typeof c.k !== "string"
      ) return null;
      return {
        user: c.u,
        expires: c.e,
        fingerprint: c.f,
        credential: c.c,
        key: new Uint8Array(Buffer.from(c.k, "base64")),
      };
    } catch {
      return null;
    }
  }
}
