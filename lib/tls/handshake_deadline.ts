/** How long an accepted TLS connection may take to complete its handshake. */
export const HANDSHAKE_DEADLINE_MS = 5_000;

/**
 * Closes an accepted TLS connection whose handshake does not complete within `ms`: a peer
 * that connects and never finishes the handshake (or resets in its middle) must not hold a
 * descriptor until the idle timeout. `close` ends the connection (default: `conn.close()`);
 * a caller that wraps the connection passes its own, so that its readers learn why. Returns
 * whether the handshake has completed, asked at any time.
 */
export function closeUnlessHandshaken(
  conn: Deno.TlsConn,
  ms = HANDSHAKE_DEADLINE_MS,
  close: () => void = () => conn.close(),
): () => boolean {
  let done = false;
  const timer = setTimeout(() => {
    try {
      close();
    } catch {
      // already closed
    }
  }, ms);
  conn.handshake().then(() => (done = true), () => {}).finally(() => clearTimeout(timer));
  return () => done;
}
