import { ConnectionError } from "../protocol/errors.ts";
import { connectTcp } from "../connect_tcp.ts";
import { certificateInfo } from "./x509.ts";
import {
  fetchServerCertificate,
  handshakeTimeoutMessage,
  NotTlsError,
} from "./fetch_certificate.ts";
import { certificatePem, pemCertificates } from "./fingerprint.ts";
import { serverKey } from "./known_servers.ts";
import { type ServerTrust, ServerTrustError } from "./trust.ts";

// Certificates fetched in this process, so that a load test's many connections to a server
// trusted by fingerprint fetch it once. A cached certificate is only a guess of what to pin:
// it is used only while its fingerprint is trusted.
const fetched = new Map<string, Uint8Array[]>();

/** Where and how long to try. */
export interface TlsTarget {
  hostname: string;
  port: number;
  /** Give up on connecting, and on the handshake, after this long (ms); 0 never. */
  timeoutMs: number;
}

async function withTimeout<T>(
  op: Promise<T>,
  ms: number,
  where: string,
  onTimeout: () => void,
): Promise<T> {
  if (ms <= 0) return await op;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new ConnectionError(handshakeTimeoutMessage(where, ms), { timeout: true }));
    }, ms);
  });
  try {
    return await Promise.race([op, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** A TLS failure the certificate caused (as opposed to a peer that is not TLS at all). */
function isCertificateFailure(err: unknown): boolean {
  return err instanceof Error && /certificate|UnknownIssuer|NotValidForName|BadSignature/i
    .test(err.message);
}

/**
 * Runs the TLS handshake over a new TCP connection, verifying against `caCerts` and the name
 * `verifyName`. Nothing is sent before the handshake completes.
 */
async function handshake(
  t: TlsTarget,
  caCerts: string[],
  verifyName: string,
): Promise<Deno.TlsConn> {
  const raw = await connectTcp(t.hostname, t.port, t.timeoutMs);
  let conn: Deno.TlsConn | undefined;
  try {
    conn = await Deno.startTls(raw, { caCerts, hostname: verifyName });
    const c = conn;
    await withTimeout(c.handshake(), t.timeoutMs, serverKey(t.hostname, t.port), () => c.close());
    return c;
  } catch (err) {
    try {
      (conn ?? raw).close();
    } catch {
      // already closed
    }
    if (err instanceof ConnectionError || isCertificateFailure(err)) throw err;
    throw new NotTlsError(serverKey(t.hostname, t.port), { cause: err });
  }
}

/**
 * The name to check a pinned certificate against: the typed host when the certificate names
 * it, else the certificate's first name. The pin, not the name, is what is trusted; but the
 * name must be one of the certificate's own, so that no certificate from a public CA (which
 * the runtime also accepts) can stand in for it under another name.
 */
function pinnedName(hostname: string, names: string[]): string {
  const typed = hostname.toLowerCase();
  return names.find((n) => n.toLowerCase() === typed) ?? names[0];
}

/**
 * Connects pinned to `chain[0]`: a self-signed certificate is its own anchor; a certificate
 * a CA signed is anchored at the issuer certificates the server presented with it (checked to
 * have signed it), and checked against its own name, since the runtime cannot pin a leaf.
 */
async function pinned(t: TlsTarget, chain: Uint8Array[]): Promise<Deno.TlsConn> {
  const info = certificateInfo(chain[0]);
  const server = serverKey(t.hostname, t.port);
  if (info.names.length === 0) {
    throw new ServerTrustError(
      `The certificate of ${server} names no host (no subject alternative name), so it ` +
        `cannot be checked; give the server a certificate with one`,
      info.fingerprint,
    );
  }
  let anchors = [chain[0]];
  if (!info.selfSignedLeaf) {
    anchors = chain.slice(1);
    // Loaded only here: the X.509 library is large, and most servers are self-signed.
    const { isIssuedBy } = await import("./certificate.ts");
    if (anchors.length === 0 || !(await isIssuedBy(chain[0], chain[1]))) {
      throw new ServerTrustError(
        `The certificate of ${server} was issued by "${info.issuer}", which the server does ` +
          `not present with it: trust that CA with --ca FILE`,
        info.fingerprint,
      );
    }
  }
  return await handshake(t, anchors.map(certificatePem), pinnedName(t.hostname, info.names));
}

function changedMessage(server: string, known: string, seen: string, file: string): string {
  return [
    `WARNING: the certificate of ${server} has CHANGED. Connection refused.`,
    `  remembered fingerprint: ${known}`,
    `  presented fingerprint:  ${seen}`,
    "Someone may be intercepting the connection, or the server got a new certificate.",
    "If the administrator confirms the new fingerprint, remove the line starting with",
    `"${server}" from ${file} and connect again, or pass --trust ${seen}`,
  ].join("\n");
}

function unknownMessage(server: string, fingerprint: string): string {
  return `Unknown server ${server}, certificate fingerprint SHA256 ${fingerprint}: not trusted. ` +
    `Compare it with the fingerprint the server prints at start, then pass --trust FINGERPRINT ` +
    `(or set FILESHARE_TRUST), or --ca FILE, or connect once from a terminal to be asked`;
}

/** Runs `op`; a certificate failure gives null (try the next way), anything else throws. */
async function unlessRefused(op: () => Promise<Deno.TlsConn>): Promise<Deno.TlsConn | null> {
  try {
    return await op();
  } catch (err) {
    if (isCertificateFailure(err)) return null;
    throw err;
  }
}

/**
 * Opens a TLS connection to a server that `trust` vouches for; the caller then speaks the
 * protocol over it. No byte of the protocol (and nothing about the password) is sent before
 * the certificate is verified.
 *
 * The ways, in order: `trust.ca` holding CA certificates checks the chain and the host name
 * as usual, and holding one self-signed certificate pins it; a certificate remembered in the
 * known-servers file is pinned (when no fingerprint is given); a certificate from a public CA
 * for the typed name is accepted as a browser would; otherwise the certificate is fetched in
 * a separate handshake and pinned if its fingerprint is in `trust.fingerprints` or the user
 * accepts it (`trust.ask`, which also remembers it).
 *
 * @throws {ServerTrustError} when the certificate is unknown, refused or changed
 * @throws {ConnectionError} when the server is unreachable or does not speak TLS
 */
export async function connectVerified(t: TlsTarget, trust: ServerTrust): Promise<Deno.TlsConn> {
  const server = serverKey(t.hostname, t.port);
  const fingerprints = [...(trust.fingerprints ?? [])];
  if (trust.ca !== undefined) {
    const certs = pemCertificates(trust.ca);
    if (certs.length === 0) throw new TypeError("The --ca file holds no PEM certificate");
    const first = certificateInfo(certs[0]);
    if (certs.length === 1 && first.selfSignedLeaf) {
      fingerprints.push(first.fingerprint);
      const conn = await unlessRefused(() => pinned(t, certs));
      if (conn) return conn;
    } else {
      const conn = await unlessRefused(() => handshake(t, certs.map(certificatePem), t.hostname));
      if (conn) return conn;
      if (fingerprints.length === 0) {
        throw new ServerTrustError(
          `The certificate of ${server} is not signed by a CA in the --ca file, or does not ` +
            `name "${t.hostname}"`,
        );
      }
    }
  }
  const seen = fetched.get(server);
  if (seen && fingerprints.includes(certificateInfo(seen[0]).fingerprint)) {
    const conn = await unlessRefused(() => pinned(t, seen));
    if (conn) return conn;
  }
  const known = trust.knownServers?.get(server);
  if (known && fingerprints.length === 0) {
    const conn = await unlessRefused(() => pinned(t, known.chain));
    if (conn) return conn;
    // Fall through: fetch what the server presents now, to say what changed.
  } else if (fingerprints.length === 0 && trust.ca === undefined) {
    const conn = await unlessRefused(() => handshake(t, [], t.hostname));
    if (conn) return conn;
  }
  const chain = await fetchServerCertificate(t.hostname, t.port, t.timeoutMs);
  fetched.set(server, chain);
  const info = certificateInfo(chain[0]);
  if (fingerprints.includes(info.fingerprint)) return await pinned(t, chain);
  if (known) {
    if (known.fingerprint === info.fingerprint) return await pinned(t, chain);
    throw new ServerTrustError(
      changedMessage(server, known.fingerprint, info.fingerprint, trust.knownServers!.path),
      info.fingerprint,
    );
  }
  if (fingerprints.length > 0) {
    throw new ServerTrustError(
      `The certificate of ${server} has fingerprint SHA256 ${info.fingerprint}, not the one ` +
        `given by --ca, --trust or FILESHARE_TRUST. Connection refused`,
      info.fingerprint,
    );
  }
  if (!trust.ask) {
    throw new ServerTrustError(unknownMessage(server, info.fingerprint), info.fingerprint);
  }
  if (!(await trust.ask({ server, certificate: info }))) {
    throw new ServerTrustError(`Did not trust ${server}: connection closed`, info.fingerprint);
  }
  const conn = await pinned(t, chain);
  await trust.knownServers?.remember(server, chain);
  return conn;
}
