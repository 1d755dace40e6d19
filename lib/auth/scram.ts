/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding. Both halves are pure functions
 * over strings, apart from PBKDF2, which runs on WebCrypto so it does not block the event loop.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";

/** Default PBKDF2 iteration count for new passwords (OWASP 2023 guidance for SHA-256). */
export const DEFAULT_ITERATIONS = 600_000;
/** Fewest iterations accepted from a server (RFC 7677 minimum). */
export const MIN_ITERATIONS = 4096;
/** Most iterations a client will compute for a server, to bound its work. */
export const MAX_ITERATIONS = 10_000_000;

const GS2_HEADER = "n,,";

/** The keys a server stores for a user: the password cannot be recovered from them. */
export interface ScramCredentials {
  salt: Uint8Array;
  iterations: number;
  storedKey: Uint8Array;
  serverKey: Uint8Array;
}

/** A SCRAM message could not be parsed or failed a check. */
export class ScramError extends Error {
  /** Creates a SCRAM error. */
  constructor(message: string) {
    super(message);
    this.name = "ScramError";
  }
}

const encoder = new TextEncoder();

function hmac(key: Uint8Array, data: string): Uint8Array {
  return new Uint8Array(createHmac("sha256", key).update(data).digest());
}

function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

/** Base64 of bytes. */
export function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

/** Bytes of strict base64; throws ScramError on anything else. */
export function unb64(text: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new ScramError("Invalid base64");
  }
  return new Uint8Array(Buffer.from(text, "base64"));
}

/** PBKDF2-HMAC-SHA-256 of the password: SCRAM's SaltedPassword. */
export async function saltedPassword(
  password: string,
  salt: Uint8Array,
  iterations: number,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as Uint8Array<ArrayBuffer>, iterations },
    key,
    256,
  );
  return new Uint8Array(bits);
}

/** Derives the stored credentials for a password (used when adding a user). */
export async function deriveCredentials(
  password: string,
  salt: Uint8Array,
  iterations: number,
): Promise<ScramCredentials> {
  const salted = await saltedPassword(password, salt, iterations);
  return credentialsFromSalted(salted, salt, iterations);
}

/** StoredKey and ServerKey from a SaltedPassword. */
export function credentialsFromSalted(
  salted: Uint8Array,
  salt: Uint8Array,
  iterations: number,
): ScramCredentials {
  return {
    salt,
    iterations,
    storedKey: sha256(hmac(salted, "Client Key")),
    serverKey: hmac(salted, "Server Key"),
  };
}

/** Escapes a user name as a SCRAM saslname (`,` → `=2C`, `=` → `=3D`). */
export function encodeSaslName(name: string): string {
  return name.replaceAll("=", "=3D").replaceAll(",", "=2C");
}

/** Reverses {@link encodeSaslName}; throws ScramError on a bad escape. */
export function decodeSaslName(text: string): string {
  if (/=(?!2C|3D)/.test(text)) throw new ScramError("Invalid escape in user name");
  return text.replaceAll("=2C", ",").replaceAll("=3D", "=");
}

function parseAttributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(",")) {
    const m = /^([A-Za-z])=(.*)$/s.exec(part);
    if (!m) throw new ScramError(`Malformed attribute "${part.slice(0, 20)}"`);
    if (out.has(m[1])) throw new ScramError(`Repeated attribute "${m[1]}"`);
    out.set(m[1], m[2]);
  }
  return out;
}

const NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;

/** A fresh printable nonce. */
export function makeNonce(): string {
  return b64(crypto.getRandomValues(new Uint8Array(18)));
}

// ---- client half ----

/** Client state after the first message. */
export interface ClientFirst {
  /** The full client-first-message to send. */
  message: string;
  /** client-first-message-bare, kept for the AuthMessage. */
  bare: string;
  /** The client nonce. */
  nonce: string;
}

/** Builds the client-first-message. */
export function clientFirst(user: string, nonce = makeNonce()): ClientFirst {
  const bare = `n=${encodeSaslName(user)},r=${nonce}`;
  return { message: GS2_HEADER + bare, bare, nonce };
}

/** Parsed server-first-message. */
export interface ServerFirst {
  nonce: string;
  salt: Uint8Array;
  iterations: number;
  message: string;
}

/** Parses and checks the server-first-message against the client's nonce. */
export function parseServerFirst(message: string, clientNonce: string): ServerFirst {
  const a = parseAttributes(message);
  if (a.has("m")) throw new ScramError("Server requires an unsupported extension");
  const nonce = a.get("r") ?? "";
  const saltText = a.get("s");
  const iterText = a.get("i") ?? "";
  if (!nonce.startsWith(clientNonce) || nonce.length <= clientNonce.length || !NONCE.test(nonce)) {
    throw new ScramError("Server nonce does not extend the client nonce");
  }
  if (saltText === undefined) throw new ScramError("Server sent no salt");
  const iterations = Number(iterText);
  if (
    !/^[0-9]{1,9}$/.test(iterText) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS
  ) {
    throw new ScramError(
      `Server iteration count "${iterText}" is outside ${MIN_ITERATIONS}..${MAX_ITERATIONS}`,
    );
  }
  return { nonce, salt: unb64(saltText), iterations, message };
}

/** Client state after the final message: what it needs to verify the server. */
export interface ClientFinal {
  /** The client-final-message to send. */
  message: string;
  /** The ServerSignature the server must prove. */
  expectedServerSignature: Uint8Array;
  /** The AuthMessage both ends signed (a session ticket's key is derived from it). */
  authMessage: string;
}

/**
 * Builds the client-final-message from the SaltedPassword (computed by the caller with
 * {@link saltedPassword}, so a client may reuse it for the same salt and iteration count).
 */
export function clientFinal(
  first: ClientFirst,
  server: ServerFirst,
  salted: Uint8Array,
): ClientFinal {
  const withoutProof = `c=${b64(encoder.encode(GS2_HEADER))},r=${server.nonce}`;
  const authMessage = `${first.bare},${server.message},${withoutProof}`;
  const clientKey = hmac(salted, "Client Key");
  const storedKey = sha256(clientKey);
  const clientSignature = hmac(storedKey, authMessage);
  const proof = xor(clientKey, clientSignature);
  const serverKey = hmac(salted, "Server Key");
  return {
    message: `${withoutProof},p=${b64(proof)}`,
    expectedServerSignature: hmac(serverKey, authMessage),
    authMessage,
  };
}

/** Checks the server-final-message; throws ScramError if the server could not prove itself. */
export function verifyServerFinal(message: string, final: ClientFinal): void {
  const a = parseAttributes(message);
  if (a.has("e")) throw new ScramError(`Server refused: ${a.get("e")}`);
  const v = a.get("v");
  if (v === undefined) throw new ScramError("Server sent no signature");
  const got = unb64(v);
  if (
    got.length !== final.expectedServerSignature.length ||
    !timingSafeEqual(got, final.expectedServerSignature)
  ) {
    throw new ScramError("Server signature is wrong: the server does not know your password");
  }
}

// ---- server half ----

/** Parsed client-first-message. */
export interface ClientFirstParsed {
  /** The GS2 header as sent (`n,,` or `y,,`). */
  gs2: string;
  user: string;
  nonce: string;
  bare: string;
}

/** Parses the client-first-message (no channel binding, no authzid, no extensions). */
export function parseClientFirst(message: string): ClientFirstParsed {
  let rest: string;
  const gs2 = message.slice(0, 3);
  if (gs2 === "n,," || gs2 === "y,,") rest = message.slice(3);
  else if (message.startsWith("p=")) throw new ScramError("Channel binding is not supported");
  else throw new ScramError("Malformed GS2 header (authzid is not supported)");
  const a = parseAttributes(rest);
  if (a.has("m")) throw new ScramError("Extensions are not supported");
  const n = a.get("n");
  const r = a.get("r");
  if (!n || !r || !NONCE.test(r) || a.size !== 2 || !rest.startsWith("n=")) {
    throw new ScramError("Malformed client-first-message");
  }
  return { gs2, user: decodeSaslName(n), nonce: r, bare: rest };
}

/** Server state between its first and final messages. */
export interface ServerFirstState {
  message: string;
  nonce: string;
  client: ClientFirstParsed;
  credentials: ScramCredentials;
}

/** Builds the server-first-message for the client's first message and the user's keys. */
export function serverFirst(
  client: ClientFirstParsed,
  credentials: ScramCredentials,
  serverNonce = makeNonce(),
): ServerFirstState {
  const nonce = client.nonce + serverNonce;
  const message = `r=${nonce},s=${b64(credentials.salt)},i=${credentials.iterations}`;
  return { message, nonce, client, credentials };
}

/** The AuthMessage of a login: what {@link serverFinal} checks the proof over. */
export function serverAuthMessage(state: ServerFirstState, clientFinalMessage: string): string {
  const withoutProof = clientFinalMessage.slice(0, clientFinalMessage.lastIndexOf(",p="));
  return `${state.client.bare},${state.message},${withoutProof}`;
}

/**
 * Verifies the client-final-message. Returns the server-final-message on success and null on
 * a wrong proof; throws ScramError on a malformed message.
 */
export function serverFinal(state: ServerFirstState, message: string): string | null {
  const idx = message.lastIndexOf(",p=");
  if (idx < 0) throw new ScramError("Client sent no proof");
  const withoutProof = message.slice(0, idx);
  const a = parseAttributes(withoutProof);
  if (a.get("c") !== b64(encoder.encode(state.client.gs2))) {
    throw new ScramError("Channel binding data does not match");
  }
  if (a.get("r") !== state.nonce) throw new ScramError("Nonce does not match");
  const proof = unb64(message.slice(idx + 3));
  if (proof.length !== 32) return null;
  const authMessage = `${state.client.bare},${state.message},${withoutProof}`;
  const clientSignature = hmac(state.credentials.storedKey, authMessage);
  const clientKey = xor(proof, clientSignature);
  const ok = timingSafeEqual(sha256(clientKey), state.credentials.storedKey);
  if (!ok) return null;
  return `v=${b64(hmac(state.credentials.serverKey, authMessage))}`;
}
