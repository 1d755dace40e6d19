import tls from "node:tls";
import { ConnectionError } from "../protocol/errors.ts";
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
          error: new ConnectionError(`No TLS answer from ${where} in ${timeoutMs / 1000} s`, {
            timeout: true,
          }),
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
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EHOSTUNREACH") {
    return new ConnectionError(`Cannot connect to ${where}: ${err.message}`, { cause: err });
  }
  return new ConnectionError(notTlsMessage(where), { cause: err });
}

/** The one line for a TLS client that reached a server without TLS. */
export function notTlsMessage(where: string): string {
  return `The server at ${where} does not speak TLS (it may run with --no-tls: ` +
    `connect with --no-tls only if you trust the network)`;
}

/** The one line for a client without TLS that reached a server with TLS. */
export function tlsRequiredMessage(where: string): string {
  return `The server at ${where} requires TLS and refused the clear-text connection ` +
    `(connect without --no-tls)`;
}
