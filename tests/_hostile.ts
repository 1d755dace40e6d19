/**
 * Helpers for tests that attack a server the way a hostile network would: a server in a child
 * process (so its descriptors and memory can be read from /proc), TCP resets, connections
 * from several loopback source addresses.
 */
import net from "node:net";
import { FileshareClient } from "../lib/client/client.ts";
import { encodeMessage } from "../lib/protocol/frame.ts";
import type { FrameConn } from "../lib/protocol/conn.ts";
import { type ChildServer, rawSession, spawnServer, USERS, writeTestUsers } from "./_helpers.ts";

/** A child-process server with its temp folder. */
export interface HostileTarget extends AsyncDisposable {
  dir: string;
  root: string;
  logPath: string;
  port: number;
  pid: number;
  server: ChildServer;
  /** Logs in as a test user with the real client library. */
  connect(user?: keyof typeof USERS): Promise<FileshareClient>;
}

/** Starts `server.ts` in a child process on a temp root, with extra flags. */
export async function startTarget(args: string[] = []): Promise<HostileTarget> {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-hostile-" });
  await writeTestUsers(`${dir}/users.json`);
  await Deno.mkdir(`${dir}/root`);
  const server = await spawnServer(dir, [
    "--root",
    "root",
    "--users",
    "users.json",
    "--log",
    "log.jsonl",
    "--no-fsync",
    ...args,
  ]);
  const close = async () => {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  };
  return {
    dir,
    root: `${dir}/root`,
    logPath: `${dir}/log.jsonl`,
    port: server.port,
    pid: server.process.pid,
    server,
    connect: (user = "alice") =>
      FileshareClient.connect({
        hostname: "127.0.0.1",
        port: server.port,
        user: USERS[user].name,
        password: USERS[user].password,
        timeoutMs: 20_000,
        tls: server.tls,
      }),
    [Symbol.asyncDispose]: close,
  };
}

/** Number of open sockets of process `pid` (Linux /proc). */
export function openFds(pid: number): number {
  // Sockets only: the runtime briefly duplicates a file's descriptor while an asynchronous
  // write to it is in flight (the activity log under load), which is not a leak.
  let n = 0;
  for (const e of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      if (Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`).startsWith("socket:")) n++;
    } catch {
      // closed while we looked
    }
  }
  return n;
}

/** Resident memory of process `pid` in MiB (Linux /proc). */
export function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!m) throw new Error(`No VmRSS for ${pid}`);
  return Math.round(Number(m[1]) / 1024);
}

/** Whether /proc is there to count descriptors and memory (Linux). */
export const HAS_PROC = (() => {
  try {
    Deno.statSync(`/proc/${Deno.pid}/fd`);
    return true;
  } catch {
    return false;
  }
})();

const HELLO = encodeMessage({
  op: "hello",
  protocol: "fileshare",
  versions: [1],
  client: "hostile-test",
});

/** Options of {@link nodeConnect}. */
export interface NodeConnectOptions {
  /** Source address (any 127.x.y.z works on Linux loopback). */
  localAddress?: string;
}

/**
 * Opens a TCP connection with node:net, which (unlike Deno.connect) can bind a source address
 * and end with a reset. Resolves once connected.
 */
export function nodeConnect(port: number, options: NodeConnectOptions = {}): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection({
      host: "127.0.0.1",
      port,
      localAddress: options.localAddress,
    });
    s.once("connect", () => {
      s.off("error", reject);
      s.on("error", () => {});
      resolve(s);
    });
    s.once("error", reject);
  });
}

/** Ends a node socket with a TCP reset (SO_LINGER 0) and waits until it is closed. */
export function resetSocket(s: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve();
    s.once("close", () => resolve());
    s.resetAndDestroy();
  });
}

/** Connects, optionally sends the hello frame, and ends the connection with a TCP reset. */
export async function resetConnection(
  port: number,
  options: NodeConnectOptions & { hello?: boolean } = {},
): Promise<void> {
  const s = await nodeConnect(port, options);
  if (options.hello) {
    await new Promise<void>((resolve) => s.write(HELLO, () => resolve()));
    // Let the server read the hello and answer, so the reset hits a live session.
    await new Promise((r) => setTimeout(r, 5));
  }
  await resetSocket(s);
}

/** Runs `fn(i)` for i in 0..n-1 with at most `width` running at once. */
export async function inParallel(
  n: number,
  width: number,
  fn: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
}

/**
 * Opens `n` logged-in connections and leaves each in the middle of an eager (pipelined) upload
 * of 256 KiB: three whole 64 KiB DATA frames of its body sent, the fourth never. Returns the
 * connections; the caller closes them.
 */
export async function holdStalledEagerUploads(port: number, n: number): Promise<FrameConn[]> {
  const conns: FrameConn[] = [];
  const frame = new Uint8Array(5 + (64 << 10));
  crypto.getRandomValues(frame.subarray(5, 5 + 65536));
  frame.set([2, 0, 1, 0, 0]);
  try {
    await inParallel(n, 32, async (i) => {
      const conn = await rawSession(port);
      conns.push(conn);
      await conn.send({
        op: "upload",
        path: `eager-${i}.bin`,
        size: 256 << 10,
        overwrite: true,
        eager: true,
      });
      for (let k = 0; k < 3; k++) await conn.writeAll(frame);
    });
  } catch (err) {
    for (const c of conns) c.close();
    throw err;
  }
  return conns;
}

/**
 * Opens `n` logged-in connections and leaves each in a stalled transfer: even ones an upload
 * that sent 1,000 bytes of a 1 MiB DATA frame, odd ones a download of `download` (a path
 * under the root) that is never read; `plain` for a server started with --no-tls. Returns the
 * connections; the caller closes them.
 */
export async function holdStalledTransfers(
  port: number,
  n: number,
  download: string,
  plain = false,
): Promise<FrameConn[]> {
  const conns: FrameConn[] = [];
  try {
    await inParallel(n, 32, async (i) => {
      const conn = await rawSession(port, { plain });
      conns.push(conn);
      if (i % 2 === 0) {
        await conn.send({ op: "upload", path: `stalled-${i}.bin`, size: 8 << 20, overwrite: true });
        const ready = await conn.expectMessage();
        if (ready.status !== "ready") throw new Error(`upload refused: ${JSON.stringify(ready)}`);
        const frame = new Uint8Array(5 + 1000);
        frame.set([2, 0, 0x10, 0, 0]);
        await conn.writeAll(frame);
      } else {
        await conn.send({ op: "download", path: download });
      }
    });
  } catch (err) {
    for (const c of conns) c.close();
    throw err;
  }
  return conns;
}
