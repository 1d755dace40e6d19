import tls from "node:tls";
import { ConnectionError } from "../protocol/errors.ts";
import { whyNotConnected } from "../connect_tcp.ts";
import { isIpAddress } from "./x509.ts";

/**
 * Opens a TLS handshake with the server only to see its certificate, then closes it: the
 * runtime's own TLS client cannot show a certificate it does not already trust, and
 * trust-on-first-use needs exactly that. Nothing but the handshake is sent.
 *
 * @returns the certificates the server presented (DER), its own first
 * @throws {ConnectionError} when the server is unreachable or does not speak TLS
 */
export function fetchServerCertificate(
  hostname: string,
  port: number,
  timeoutMs: number,
): Promise<Uint8Array[]> {
  const where = `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
  return new Promise((resolve, reject) => {
    let outcome: { chain: Uint8Array[] } | { error: Error } | null = null;
    const socket = tls.connect({
      host: hostname,
      port,
      // Only this probe skips verification; the caller decides on the certificate and then
      // opens the real connection pinned to it.
      rejectUnauthorized: false,
      ...(isIpAddress(hostname) ? {} : { servername: hostname }),
    });
    const timer = timeoutMs > 0
      ? setTimeout(() => {
        outcome ??= {
          error: new ConnectionError(handshakeTimeoutMessage(where, timeoutMs), { timeout: true }),
        };
        socket.destroy();
      }, timeoutMs)
      : undefined;
    socket.once("secureConnect", () => {
      const chain = presentedChain(socket.getPeerCertificate(true));
      outcome ??= chain.length > 0
        ? { chain }
        : { error: new ConnectionError(`The server at ${where} presented no certificate`) };
      socket.end(); // with close_notify, so the server sees a clean goodbye, not an error
    });
    socket.once("error", (err: Error & { code?: string }) => {
      outcome ??= { error: probeError(where, err) };
      socket.destroy();
    });
    socket.once("close", () => {
      clearTimeout(timer);
      const o = outcome ?? {
        error: new ConnectionError(`The server at ${where} closed the connection during TLS setup`),
      };
      if ("chain" in o) resolve(o.chain);
      else reject(o.error);
    });
  });
}

/** The DER certificates of a peer certificate and its issuers, as node:tls links them. */
function presentedChain(peer: tls.DetailedPeerCertificate | undefined): Uint8Array[] {
  const chain: Uint8Array[] = [];
  let cert = peer;
  while (cert?.raw && cert.raw.length > 0 && chain.length < 10) {
    chain.push(new Uint8Array(cert.raw));
    if (cert.issuerCertificate === cert) break; // a self-signed root links to itself
    cert = cert.issuerCertificate;
  }
  return chain;
}

function probeError(where: string, err: Error & { code?: string }): Error {
  const code = err.code ?? "";
  if (/^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH)$/.test(code)) {
    return new ConnectionError(`Cannot connect to ${where}: ${whyNotConnected(err)}`, {
      cause: err,
    });
  }
  return new NotTlsError(where, { cause: err });
}

/**
 * A TLS client reached a peer that does not speak TLS: a fileshare server run with
 * `--no-tls`, or something that is not a fileshare server at all (the caller may probe).
 */
export class NotTlsError extends ConnectionError {
  /** Creates the error for the server at `where` (`HOST:PORT`). */
  constructor(readonly where: string, options?: ErrorOptions) {
    super(notTlsMessage(where), options);
    this.name = "NotTlsError";
  }
}

/** The one line for a TLS client that reached a server without TLS. */
export function notTlsMessage(where: string): string {
  return `The server at ${where} does not speak TLS (it may run with --no-tls: ` +
    `connect with --no-tls only if you trust the network)`;
}

/** The one line for a peer that accepted the connection but did not answer the handshake. */
export function handshakeTimeoutMessage(where: string, ms: number): string {
  return `${where} did not answer the TLS handshake in ${ms / 1000} s: is it a fileshare ` +
    `server? Check the address and port`;
}

/** The one line for a client without TLS that reached a server with TLS. */
export function tlsRequiredMessage(where: string): string {
  return `The server at ${where} requires TLS and refused the clear-text connection ` +
    `(connect without --no-tls)`;
}
