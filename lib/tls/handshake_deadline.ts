/** How long an accepted TLS connection may take to complete its handshake. */
export const HANDSHAKE_DEADLINE_MS = 5_000;

/**
 * Closes an accepted TLS connection whose handshake does not complete within `ms`: a peer
 * that connects and never finishes the handshake (or resets in its middle) must not hold a
 * descriptor until the idle timeout.
 */
export function closeUnlessHandshaken(conn: Deno.TlsConn, ms = HANDSHAKE_DEADLINE_MS): void {
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }, ms);
  conn.handshake().then(() => {}, () => {}).finally(() => clearTimeout(timer));
}
