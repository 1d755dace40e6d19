/**
 * Opening a TCP connection to a server with a deadline, and wording why it failed.
 * @module
 */
import { ConnectionError } from "./protocol/errors.ts";

/** `HOST:PORT`, with brackets around an IPv6 address. */
export function hostPort(hostname: string, port: number): string {
  return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

/** Why a connection could not be opened, in words (no OS error numbers): a runtime error, or
 * a node:net error with its `code`. */
export function whyNotConnected(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  if (code === "ECONNREFUSED") return whyNotConnected(new Deno.errors.ConnectionRefused());
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "unknown host name";
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH") {
    return "the address is not reachable from here";
  }
  if (err instanceof Deno.errors.ConnectionRefused) {
    return "connection refused (is the server running, and on that port?)";
  }
  if (err instanceof Deno.errors.NotFound) return "unknown host name";
  if (err instanceof Deno.errors.TimedOut) return "no answer (the host may be down or filtered)";
  if (err instanceof Deno.errors.AddrNotAvailable) return "the address is not reachable from here";
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s*\(os error \d+\)$/, "");
}

/**
 * Connects to `hostname:port`, giving up after `timeoutMs` (0: the system's own limit).
 * @throws {ConnectionError} naming the address and the cause
 */
export async function connectTcp(
  hostname: string,
  port: number,
  timeoutMs: number,
): Promise<Deno.TcpConn> {
  const where = hostPort(hostname, port);
  const connecting = Deno.connect({ hostname, port });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    if (timeoutMs <= 0) return;
    timer = setTimeout(() => {
      // The runtime cannot cancel a connect: close the socket should it still open.
      connecting.then((c) => c.close(), () => {});
      reject(
        new ConnectionError(
          `Cannot connect to ${where}: no answer in ${timeoutMs / 1000} s (the host may be ` +
            `down, or a firewall drops the connection)`,
          { timeout: true },
        ),
      );
    }, timeoutMs);
  });
  try {
    const conn = await Promise.race([connecting, deadline]);
    conn.setNoDelay(true);
    return conn;
  } catch (err) {
    if (err instanceof ConnectionError) throw err;
    throw new ConnectionError(`Cannot connect to ${where}: ${whyNotConnected(err)}`, {
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
}
