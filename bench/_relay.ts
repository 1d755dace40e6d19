/**
 * A delaying TCP relay for the benchmark: it forwards loopback connections to a target port and
 * holds every byte for a fixed delay in each direction, so 25 ms each way is a 50 ms round
 * trip, as between two computers on a real network. Bandwidth is not limited.
 */

/** How a relayed connection spent its turns. */
export interface RelayStats {
  /** Connections accepted since the last {@link DelayRelay.reset}. */
  connections: number;
  /**
   * Client flights: runs of client→server bytes that began after the server had sent
   * something (or that opened the connection). A flight that had to wait for the server's
   * answer costs one round trip.
   */
  clientFlights: number;
}

// Bytes waiting in one direction before the relay stops reading: enough for a fast sender to
// keep the pipe full for the delay, bounded so a stalled receiver cannot grow it.
const MAX_QUEUED = 64 * 1024 * 1024;
const READ_BYTES = 256 * 1024;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A listening relay on 127.0.0.1 (port 0) in front of `127.0.0.1:target`. */
export class DelayRelay implements AsyncDisposable {
  #listener: Deno.Listener;
  #target: number;
  #delayMs: number;
  #conns = new Set<Deno.Conn>();
  #pipes = new Set<Promise<void>>();
  #accepting: Promise<void>;
  #stats: RelayStats = { connections: 0, clientFlights: 0 };

  private constructor(listener: Deno.Listener, target: number, delayMs: number) {
    this.#listener = listener;
    this.#target = target;
    this.#delayMs = delayMs;
    this.#accepting = this.#accept();
  }

  /** Starts a relay that delays each direction by `delayMs`. */
  static start(target: number, delayMs: number): DelayRelay {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    return new DelayRelay(listener, target, delayMs);
  }

  /** The port clients connect to. */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  /** Counts since the last reset. */
  get stats(): RelayStats {
    return { ...this.#stats };
  }

  /** Zeroes the counts. */
  reset(): void {
    this.#stats = { connections: 0, clientFlights: 0 };
  }

  async #accept(): Promise<void> {
    for (;;) {
      let client: Deno.Conn;
      try {
        client = await this.#listener.accept();
      } catch {
        return; // listener closed
      }
      const pipe = this.#relay(client).finally(() => this.#pipes.delete(pipe));
      this.#pipes.add(pipe);
    }
  }

  async #relay(client: Deno.Conn): Promise<void> {
    this.#conns.add(client);
    this.#stats.connections++;
    let server: Deno.Conn;
    try {
      server = await Deno.connect({ hostname: "127.0.0.1", port: this.#target });
    } catch {
      client.close();
      this.#conns.delete(client);
      return;
    }
    this.#conns.add(server);
    // Forward each chunk as it is released: Nagle's algorithm on the relay's own sockets would
    // hold small writes for an ACK and add delays that no endpoint asked for.
    for (const c of [client, server]) (c as Deno.TcpConn).setNoDelay(true);
    let last: "client" | "server" | null = null;
    const seen = (from: "client" | "server") => {
      if (from === "client" && last !== "client") this.#stats.clientFlights++;
      last = from;
    };
    await Promise.all([
      this.#forward(client, server, () => seen("client")),
      this.#forward(server, client, () => seen("server")),
    ]);
    for (const c of [client, server]) {
      this.#conns.delete(c);
      try {
        c.close();
      } catch {
        // closed by the other direction
      }
    }
  }

  /** Copies `from` to `to`, each chunk released `delayMs` after it arrived; then half-closes. */
  async #forward(from: Deno.Conn, to: Deno.Conn, onChunk: () => void): Promise<void> {
    const queue: { due: number; bytes: Uint8Array }[] = [];
    let queued = 0;
    let ended = false;
    let wake: (() => void) | null = null;
    const notify = () => {
      wake?.();
      wake = null;
    };
    const reader = (async () => {
      try {
        for (;;) {
          while (queued > MAX_QUEUED) await new Promise<void>((r) => (wake = r));
          const buf = new Uint8Array(READ_BYTES);
          const n = await from.read(buf);
          if (n === null) break;
          onChunk();
          queue.push({ due: performance.now() + this.#delayMs, bytes: buf.subarray(0, n) });
          queued += n;
          notify();
        }
      } catch {
        // reset or closed: end this direction
      } finally {
        ended = true;
        notify();
      }
    })();
    try {
      for (;;) {
        if (queue.length === 0) {
          if (ended) break;
          await new Promise<void>((r) => (wake = r));
          continue;
        }
        const head = queue[0];
        const wait = head.due - performance.now();
        if (wait > 0) await sleep(wait);
        queue.shift();
        queued -= head.bytes.length;
        notify();
        let off = 0;
        while (off < head.bytes.length) off += await to.write(head.bytes.subarray(off));
      }
      await to.closeWrite().catch(() => {});
    } catch {
      // the receiver went away: drop the rest
      try {
        from.close();
      } catch {
        // already closed
      }
    }
    await reader;
  }

  /** Stops listening and closes every relayed connection. */
  async close(): Promise<void> {
    this.#listener.close();
    await this.#accepting;
    for (const c of this.#conns) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
    await Promise.all(this.#pipes);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
