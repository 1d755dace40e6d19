/**
 * A password guesser as an attacker would run it: real SCRAM logins with wrong passwords over
 * connections from a chosen loopback source address (node:net's `localAddress`; Deno.connect
 * cannot bind one), to a server started without TLS. Shared by the brute-force test and
 * `bench/auth_bench.ts`.
 */
import net from "node:net";
import { Buffer } from "node:buffer";
import { FrameConn } from "../lib/protocol/conn.ts";
import { clientFinal, clientFirst, parseServerFirst, saltedPassword } from "../lib/auth/scram.ts";

/** A node socket seen as the Deno.Conn FrameConn needs (read, write, close, remoteAddr). */
function asConn(socket: net.Socket): Deno.Conn {
  const chunks: Uint8Array[] = [];
  let ended = false;
  let wake: (() => void) | null = null;
  const poke = () => {
    wake?.();
    wake = null;
  };
  socket.on("data", (c: Buffer) => {
    chunks.push(new Uint8Array(c));
    poke();
  });
  socket.on("end", () => {
    ended = true;
    poke();
  });
  socket.on("close", () => {
    ended = true;
    poke();
  });
  socket.on("error", () => {});
  const conn = {
    remoteAddr: { transport: "tcp", hostname: socket.remoteAddress, port: socket.remotePort },
    localAddr: { transport: "tcp", hostname: socket.localAddress, port: socket.localPort },
    async read(p: Uint8Array): Promise<number | null> {
      while (chunks.length === 0) {
        if (ended) return null;
        await new Promise<void>((r) => (wake = r));
      }
      const c = chunks[0];
      const n = Math.min(p.length, c.length);
      p.set(c.subarray(0, n));
      if (n === c.length) chunks.shift();
      else chunks[0] = c.subarray(n);
      return n;
    },
    write(p: Uint8Array): Promise<number> {
      return new Promise((resolve, reject) =>
        socket.write(Buffer.from(p), (err) => (err ? reject(err) : resolve(p.length)))
      );
    },
    close(): void {
      socket.destroy();
      ended = true;
      poke();
    },
  };
  return conn as unknown as Deno.Conn;
}

/** Opens a clear-text protocol connection from `localAddress` and says hello. */
export async function connectFrom(port: number, localAddress: string): Promise<FrameConn> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port, localAddress }, () => resolve(s));
    s.once("error", reject);
  });
  socket.setNoDelay(true);
  const conn = new FrameConn(asConn(socket), { timeoutMs: 60_000 });
  await conn.send({ op: "hello", protocol: "fileshare", versions: [1], client: "guesser" });
  const hello = await conn.expectMessage();
  if (hello.status !== "ok") {
    conn.close();
    throw new Error(`${hello.code}: ${hello.message}`);
  }
  return conn;
}

/** The answer to one guess: the status and code the server sent. */
export interface GuessReply {
  status: string;
  code?: string;
}

/** One SCRAM login of `user` with `password` on `conn`; the server's final answer. */
export async function guess(conn: FrameConn, user: string, password: string): Promise<GuessReply> {
  const first = clientFirst(user);
  await conn.send({ op: "auth_start", mechanism: "SCRAM-SHA-256", message: first.message });
  const cont = await conn.expectMessage();
  if (cont.status !== "continue") return { status: String(cont.status), code: String(cont.code) };
  const server = parseServerFirst(String(cont.message), first.nonce);
  const salted = await saltedPassword(password, server.salt, server.iterations);
  await conn.send({ op: "auth_final", message: clientFinal(first, server, salted).message });
  const reply = await conn.expectMessage();
  return { status: String(reply.status), code: reply.code as string | undefined };
}

/**
 * Guesses with `connections` parallel connections from `localAddress` for `ms` (reconnecting
 * when the server closes one), until banned or time is up. Returns the guesses answered
 * AUTH_FAILED and whether the address got banned (LIMIT).
 */
export async function hammer(
  port: number,
  localAddress: string,
  user: string,
  options: { connections: number; ms: number; stopWhenBanned?: boolean },
): Promise<{ failed: number; banned: boolean; refused: number }> {
  const end = Date.now() + options.ms;
  let failed = 0;
  let refused = 0;
  let banned = false;
  let n = 0;
  // At the end, attempts still waiting their turn on the server are cut off, not awaited.
  const live = new Set<FrameConn>();
  const timer = setTimeout(() => live.forEach((c) => c.close()), options.ms);
  const worker = async () => {
    while (Date.now() < end && !(banned && options.stopWhenBanned)) {
      let conn: FrameConn;
      try {
        conn = await connectFrom(port, localAddress);
      } catch (err) {
        if (/LIMIT/.test(String(err))) {
          banned = true;
          refused++;
        }
        continue;
      }
      live.add(conn);
      try {
        while (Date.now() < end && !(banned && options.stopWhenBanned)) {
          const reply = await guess(conn, user, `guess-${n++}`);
          if (reply.code === "AUTH_FAILED" && Date.now() < end) failed++;
          else if (reply.code === "LIMIT") {
            banned = true;
            break;
          } else break;
        }
      } catch {
        // The server closed the connection (three failures): open another.
      } finally {
        live.delete(conn);
        conn.close();
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections }, worker));
  clearTimeout(timer);
  return { failed, banned, refused };
}
