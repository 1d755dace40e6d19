import assert from "node:assert/strict";
import type net from "node:net";
import { encodeMessage } from "../lib/protocol/frame.ts";
import { rawSession, USERS, waitFor, writeRandomFile } from "./_helpers.ts";
import { FileshareClient } from "../lib/client/client.ts";
import { writeAll } from "../lib/write_all.ts";
import { HAS_PROC, inParallel, nodeConnect, openFds, startTarget } from "./_hostile.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const HELLO = encodeMessage({
  op: "hello",
  protocol: "fileshare",
  versions: [1],
  client: "slowloris",
});

/** Opens `n` idle sockets from `localAddress`; those the server refuses are dropped. */
async function idleFlood(port: number, n: number, localAddress: string): Promise<net.Socket[]> {
  const held: net.Socket[] = [];
  await inParallel(n, 100, async () => {
    try {
      held.push(await nodeConnect(port, { localAddress }));
    } catch {
      // refused at connect (backlog full): counts as not held
    }
  });
  return held;
}

/**
 * Waits (up to 20 s) until the server's descriptors above `baseline` stay at most `bound` for
 * one second; returns either way (the caller asserts on the count).
 */
async function settled(pid: number, baseline: number, bound: number): Promise<void> {
  let since: number | null = null;
  await waitFor(() => {
    if (openFds(pid) - baseline > bound) since = null;
    else since ??= Date.now();
    return since !== null && Date.now() - since >= 1000;
  }, 20_000).catch(() => {});
}

/**
 * Repeats `step` every 400 ms for up to 12 s; true when it failed because the server closed
 * the connection, false when it never did.
 */
async function untilCut(step: () => Promise<unknown>): Promise<boolean> {
  const started = Date.now();
  while (Date.now() - started < 12_000) {
    try {
      await step();
    } catch {
      return true;
    }
    await sleep(400);
  }
  return false;
}

/** How many of `sockets` the server has not closed. */
function stillOpen(sockets: net.Socket[]): number {
  return sockets.filter((s) => !s.destroyed && !s.readableEnded).length;
}

async function destroyAll(sockets: net.Socket[]): Promise<void> {
  await Promise.all(sockets.map((s) =>
    new Promise<void>((resolve) => {
      if (s.destroyed) return resolve();
      s.once("close", () => resolve());
      s.destroy();
    })
  ));
}

Deno.test({
  name: "FileshareServer keeps room for real users under a flood of idle unauthenticated sockets",
  ignore: !HAS_PROC,
  async fn(t) {
    // Clear text: every refused or evicted connection's descriptor is released.
    await using target = await startTarget(["--no-tls"]);
    const baseline = openFds(target.pid);
    const flood: net.Socket[] = [];
    try {
      await t.step("4,100 idle sockets from one address", async () => {
        flood.push(...await idleFlood(target.port, 4100, "127.0.0.2"));
        // The server goes on accepting the flood from the listen backlog (and from retried
        // SYNs) for a while after the flooder's connects resolved, each accepted socket held
        // until it is evicted: counted in that window, a loaded machine showed 278 and 287.
        // What must hold is the settled state, the bound kept for a whole second.
        await settled(target.pid, baseline, 256 + 8);
        const held = openFds(target.pid) - baseline;
        console.log(`4100 idle sockets from 127.0.0.2: server holds ${held} of them`);
        await using c = await target.connect();
        assert.deepEqual(await c.list(""), []);
        assert.ok(held <= 256 + 8, `server holds ${held} unauthenticated connections`);
      });
      await t.step("and 1,200 more from four other addresses", async () => {
        for (const a of ["127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"]) {
          flood.push(...await idleFlood(target.port, 300, a));
        }
        await settled(target.pid, baseline, 256 + 8);
        await using c = await target.connect();
        assert.deepEqual(await c.list(""), []);
        const held = openFds(target.pid) - baseline;
        console.log(`plus 1200 from four addresses: server holds ${held}`);
        assert.ok(held <= 256 + 8, `server holds ${held} unauthenticated connections`);
      });
    } finally {
      await destroyAll(flood);
    }
  },
});

Deno.test({
  name: "FileshareServer keeps room for real users under a flood of idle TLS sockets",
  ignore: !HAS_PROC,
  async fn() {
    // TLS (the default): the same caps, and the socket of every connection closed before its
    // handshake is released although its peer stays silent (SocketReaper).
    await using target = await startTarget(["--max-unauthenticated", "64"]);
    const baseline = openFds(target.pid);
    const flood = await idleFlood(target.port, 1000, "127.0.0.2");
    try {
      // Evictions and reaps trail the accept loop; on a loaded machine that takes seconds.
      const held = () => openFds(target.pid) - baseline;
      await waitFor(() => held() <= 64 + 8, 20_000).catch(() => {});
      console.log(`1000 idle TLS sockets from 127.0.0.2: server holds ${held()} of them`);
      await using c = await target.connect();
      assert.deepEqual(await c.list(""), []);
      assert.ok(held() <= 64 + 8, `server holds ${held()} unauthenticated TLS connections`);
    } finally {
      await destroyAll(flood);
    }
    await waitFor(() => openFds(target.pid) - baseline <= 2, 10_000);
  },
});

Deno.test({
  name: "FileshareServer cuts slow peers: login deadline, stalls inside messages and transfers",
  ignore: !HAS_PROC,
  async fn(t) {
    // Clear text, so that the trickled bytes reach the protocol (TLS is the next test's).
    await using target = await startTarget([
      "--no-tls",
      "--login-timeout",
      "2",
      "--idle-timeout",
      "1",
      "--stall-timeout",
      "2",
      "--min-rate",
      "1024",
    ]);
    await writeRandomFile(`${target.root}/big.bin`, 32 * 1024 * 1024);

    await t.step("50 connections trickling the hello one byte every 400 ms", async () => {
      const socks = await Promise.all(
        Array.from({ length: 50 }, () => nodeConnect(target.port)),
      );
      const started = Date.now();
      let i = 0;
      // Trickle for up to 12 s; a byte every 400 ms keeps the 1 s idle timeout from firing.
      while (stillOpen(socks) > 0 && Date.now() - started < 12_000 && i < HELLO.length) {
        for (const s of socks) if (!s.destroyed) s.write(HELLO.subarray(i, i + 1));
        i++;
        await sleep(400);
      }
      const open = stillOpen(socks);
      console.log(`slowloris: ${open} of 50 open after ${(Date.now() - started) / 1000} s`);
      await destroyAll(socks);
      assert.equal(open, 0, "every trickling connection was cut");
    });

    await t.step("a logged-in peer trickling a request", async () => {
      await using conn = await rawSession(target.port, { plain: true });
      const req = encodeMessage({ op: "dir", path: "a".repeat(200) });
      let i = 0;
      const cut = await untilCut(() => conn.writeAll(req.subarray(i, ++i)));
      assert.ok(cut, "the server closed the trickling connection");
    });

    await t.step("an upload slower than the minimum rate", async () => {
      await using conn = await rawSession(target.port, { plain: true });
      await conn.send({ op: "upload", path: "slow.bin", size: 1 << 20, overwrite: false });
      assert.equal((await conn.expectMessage()).status, "ready");
      await conn.writeAll(Uint8Array.from([2, 0, 0x10, 0, 0]));
      const cut = await untilCut(() => conn.writeAll(new Uint8Array(100))); // 250 bytes/s
      assert.ok(cut, "the server closed the slow upload");
    });

    await t.step("a download read slower than the minimum rate", async () => {
      await using conn = await rawSession(target.port, { plain: true });
      await conn.send({ op: "download", path: "big.bin" });
      assert.equal((await conn.expectMessage()).status, "ok");
      await conn.readHeader();
      // The client sees the end only after the megabytes in flight, so ask the server's log.
      const logged = async () =>
        (await Deno.readTextFile(target.logPath)).split("\n").some((l) =>
          l.includes('"event":"download"') && l.includes('"TIMEOUT"')
        );
      const cut = await untilCut(async () => {
        await conn.readDataBody(new Uint8Array(200)); // 500 bytes/s
        if (await logged()) throw new Error("cut");
      });
      assert.ok(cut, "the server closed the slow download");
    });

    await t.step("a real user is not affected", async () => {
      await using c = await target.connect();
      const names = (await c.list("")).map((e) => e.name);
      assert.deepEqual(names, ["big.bin"], "the slow upload left nothing");
    });

    await target.server.stop();
    const log = (await Deno.readTextFile(target.logPath)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    const timeouts = log.filter((l) => l.code === "TIMEOUT");
    // Floods from one address are folded: a line may stand for `repeated` more.
    const cut = timeouts.filter((l) => l.event === "error")
      .reduce((n, l) => n + 1 + (l.repeated ?? 0), 0);
    assert.ok(cut >= 50, `${cut} connections cut before login`);
    assert.ok(timeouts.some((l) => /login not done/.test(l.message)), "login deadline logged");
    assert.ok(
      log.some((l) =>
        l.event === "upload" && l.code === "TIMEOUT" && /slower than/.test(l.message)
      ),
    );
    assert.ok(log.some((l) => l.event === "download" && l.code === "TIMEOUT"));
  },
});

/**
 * A TCP relay on a free port for one connection to `port`: it holds each chunk the client
 * sends for `delayMs` before passing it on (answers go back at once).
 */
function delayingRelay(port: number, delayMs: number): AsyncDisposable & { port: number } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const pipe = async (from: Deno.Conn, to: Deno.Conn, delay: number) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        if (delay > 0) await sleep(delay);
        await writeAll(to, buf.subarray(0, n));
      }
    } catch {
      // one side went away
    }
    for (const c of [from, to]) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
  };
  const running = (async () => {
    const client = await listener.accept();
    const server = await Deno.connect({ hostname: "127.0.0.1", port });
    conns.push(client, server);
    await Promise.all([pipe(client, server, delayMs), pipe(server, client, 0)]);
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    [Symbol.asyncDispose]: async () => {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
      await running.catch(() => {});
    },
  };
}

Deno.test({
  name: "FileshareServer counts the TLS handshake inside the login deadline",
  ignore: !HAS_PROC,
  async fn() {
    await using target = await startTarget(["--login-timeout", "4"]);
    // Each client flight waits 1.5 s. The client sends three: the TLS ClientHello, its TLS
    // Finished with hello and auth_start, and auth_final. auth_final arrives 4.5 s after the
    // connection, past the 4 s deadline; counted from the end of the TLS handshake (3 s) it
    // would be in time, so a login clock that started there would let this login pass.
    await using relay = delayingRelay(target.port, 1500);
    const started = Date.now();
    await assert.rejects(() =>
      FileshareClient.connect({
        hostname: "127.0.0.1",
        port: relay.port,
        user: USERS.alice.name,
        password: USERS.alice.password,
        timeoutMs: 20_000,
        tls: target.server.tls,
      })
    );
    console.log(`login through a slow relay refused after ${(Date.now() - started) / 1000} s`);
    await target.server.stop();
    const log = (await Deno.readTextFile(target.logPath)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.ok(
      log.some((l) => l.code === "TIMEOUT" && /login not done/.test(l.message)),
      `the login deadline cut the connection: ${JSON.stringify(log.slice(1, -1))}`,
    );
    assert.ok(!log.some((l) => l.event === "auth_ok"), "nobody logged in");
  },
});
