import assert from "node:assert/strict";
import { runTool, spawnServer, startServer, USERS, writeTestUsers } from "./_helpers.ts";
import { FileshareClient } from "../lib/client/client.ts";
import type { StoredTicket, TicketStore } from "../lib/client/ticket_store.ts";
import { FrameConn } from "../lib/protocol/conn.ts";
import { ticketProof } from "../lib/auth/session_ticket.ts";
import { UsersFile } from "../lib/auth/users.ts";
import { LocalStore } from "../lib/store/local_store.ts";
import { ActivityLog } from "../lib/log/activity_log.ts";
import { FileshareServer } from "../lib/server/server.ts";

/** Tickets in memory, for in-process clients. */
class MemoryTickets implements TicketStore {
  map = new Map<string, StoredTicket>();
  get(server: string, user: string) {
    return Promise.resolve(this.map.get(`${server} ${user}`) ?? null);
  }
  put(server: string, user: string, t: StoredTicket) {
    this.map.set(`${server} ${user}`, t);
    return Promise.resolve();
  }
  delete(server: string, user: string) {
    this.map.delete(`${server} ${user}`);
    return Promise.resolve();
  }
}

Deno.test("client one-shot commands log in with a session ticket after one full login", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-ticket-" });
  try {
    await writeTestUsers(`${dir}/users.json`);
    const srv = await spawnServer(dir);
    const config = `${dir}/config`;
    const dirCmd = (env: Record<string, string> = {}) =>
      runTool("client", ["--server", `127.0.0.1:${srv.port}`, "--user", "alice", "dir"], {
        cwd: dir,
        env: { XDG_CONFIG_HOME: config, FILESHARE_TICKETS: "1", ...env },
      });
    const user = (...args: string[]) =>
      runTool("server", ["user", ...args, "--users", `${dir}/users.json`], {
        cwd: dir,
        stdin: "a brand new password\n",
      });
    // No ticket yet: without a password the command cannot log in.
    const none = await dirCmd();
    assert.equal(none.code, 2);
    assert.match(none.stderr, /No password/);
    const off = await dirCmd({ FILESHARE_PASSWORD: USERS.alice.password, FILESHARE_TICKETS: "0" });
    assert.equal(off.code, 0, off.stderr);
    assert.equal(await Deno.stat(config).then(() => true, () => false), false, "none kept");
    const full = await dirCmd({ FILESHARE_PASSWORD: USERS.alice.password });
    assert.equal(full.code, 0, full.stderr);
    const folder = `${config}/fileshare/tickets`;
    const files = [...Deno.readDirSync(folder)].map((e) => e.name);
    assert.equal(files.length, 1);
    assert.equal((await Deno.stat(folder)).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(`${folder}/${files[0]}`)).mode! & 0o777, 0o600);
    const text = await Deno.readTextFile(`${folder}/${files[0]}`);
    assert.ok(!text.includes(USERS.alice.password), "no password in the ticket file");
    // The ticket logs in without the password (and so without PBKDF2).
    const again = await dirCmd();
    assert.equal(again.code, 0, again.stderr);

    const revoked = async (why: string, change: () => Promise<{ code: number }>) => {
      assert.equal((await change()).code, 0, why);
      const refused = await dirCmd();
      assert.equal(refused.code, 2, `${why}: the ticket no longer logs in`);
      assert.match(refused.stderr, /No password/, why);
      assert.equal([...Deno.readDirSync(folder)].length, 0, `${why}: the refused ticket is gone`);
    };
    await revoked("a new password", () => user("passwd", "alice", "--password-stdin"));
    // The new password gets a new ticket; revoke-tickets voids it.
    const fresh = await dirCmd({ FILESHARE_PASSWORD: "a brand new password" });
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.equal((await dirCmd()).code, 0, "the new ticket works");
    await revoked("revoke-tickets", () => user("revoke-tickets"));
    assert.equal((await dirCmd({ FILESHARE_PASSWORD: "a brand new password" })).code, 0);
    await revoked("user remove", () => user("remove", "alice"));
    assert.equal((await srv.stop()).code, 0);
    const log = await Deno.readTextFile(`${dir}/fileshare.jsonl`);
    assert.ok(!log.includes("auth_fail"), "a refused ticket is not a failed login");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileshareClient.connect() falls back to the password when the ticket expired", async () => {
  await using srv = await startServer({ ticketLifetimeMs: 400 });
  const tickets = new MemoryTickets();
  let asked = 0;
  const connect = () =>
    FileshareClient.connect({
      hostname: "127.0.0.1",
      port: srv.port,
      user: "bob",
      password: () => (asked++, Promise.resolve(USERS.bob.password)),
      tls: srv.tls,
      tickets,
    });
  (await connect()).close();
  assert.equal(asked, 1);
  const first = [...tickets.map.values()][0];
  assert.ok(first.expires > Date.now());
  const second = await connect();
  assert.equal(second.readOnly, true, "a ticket login knows the account kind");
  second.close();
  assert.equal(asked, 1, "the ticket logged in");
  await new Promise((r) => setTimeout(r, 500));
  (await connect()).close();
  assert.equal(asked, 2, "expired: the password again, on the same connection");
  assert.notEqual([...tickets.map.values()][0].ticket, first.ticket, "and a new ticket");
});

Deno.test("session ticket: a sniffed ticket login cannot be replayed, a stolen ticket alone is useless", async () => {
  await using srv = await startServer({ plain: true });
  const tickets = new MemoryTickets();
  const connect = () =>
    FileshareClient.connect({
      hostname: "127.0.0.1",
      port: srv.port,
      user: "alice",
      password: USERS.alice.password,
      tls: false,
      tickets,
    });
  (await connect()).close();
  const stored = [...tickets.map.values()][0];
  const raw = async () => {
    const conn = new FrameConn(await Deno.connect({ hostname: "127.0.0.1", port: srv.port }));
    await conn.send({ op: "hello", protocol: "fileshare", versions: [1], client: "sniffer" });
    await conn.expectMessage();
    return conn;
  };
  // What a sniffer of a clear-text ticket login records: the ticket and the proof.
  const a = await raw();
  await a.send({ op: "auth_start", mechanism: "TICKET", message: `t=${stored.ticket},r=abcdefgh` });
  const nonceA = String((await a.expectMessage()).message).slice(2);
  const proofA = ticketProof(stored.key, "client", nonceA);
  await a.send({ op: "auth_final", message: `r=${nonceA},p=${proofA}` });
  assert.equal((await a.expectMessage()).status, "ok", "the holder of the key logs in");
  a.close();
  // Replayed on a new connection the server's nonce differs, so the recorded proof fails.
  const b = await raw();
  await b.send({ op: "auth_start", mechanism: "TICKET", message: `t=${stored.ticket},r=abcdefgh` });
  const nonceB = String((await b.expectMessage()).message).slice(2);
  assert.notEqual(nonceB, nonceA);
  await b.send({ op: "auth_final", message: `r=${nonceB},p=${proofA}` });
  const replay = await b.expectMessage();
  assert.equal(replay.code, "AUTH_FAILED");
  assert.notEqual(replay.reason, "ticket", "a wrong proof is a failed login, not a stale ticket");
  b.close();
  // A changed ticket opens to nothing.
  const c = await raw();
  const flipped = stored.ticket.slice(0, 20) + (stored.ticket[20] === "A" ? "B" : "A") +
    stored.ticket.slice(21);
  await c.send({ op: "auth_start", mechanism: "TICKET", message: `t=${flipped},r=abcdefgh` });
  assert.equal((await c.expectMessage()).reason, "ticket");
  c.close();
  const log = await srv.logLines();
  assert.equal(log.filter((l) => l.event === "auth_fail").length, 1, "the replay");
});

Deno.test("session ticket: bound to the certificate of the server that issued it", async () => {
  await using tlsServer = await startServer();
  const tickets = new MemoryTickets();
  const login = (port: number, tls: typeof tlsServer.tls) =>
    FileshareClient.connect({
      hostname: "127.0.0.1",
      port,
      user: "alice",
      password: USERS.alice.password,
      tls,
      tickets,
    });
  (await login(tlsServer.port, tlsServer.tls)).close();
  const ticket = [...tickets.map.values()][0].ticket;
  // A second server on the same users (so the same ticket key) without this certificate.
  const users = (await UsersFile.load(tlsServer.usersPath))!;
  const store = await LocalStore.open(`${tlsServer.dir}/root`, { fsync: false });
  const log = await ActivityLog.open(`${tlsServer.dir}/other.jsonl`);
  const other = FileshareServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeoutMs: 10_000,
    graceMs: 1000,
    maxConnections: 16,
    serverName: "other",
    defaultIterations: 4096,
    authFailDelayMs: 0,
  }, { store, users, log });
  try {
    const conn = new FrameConn(
      await Deno.connect({ hostname: "127.0.0.1", port: other.addr.port }),
    );
    await conn.send({ op: "hello", protocol: "fileshare", versions: [1], client: "t" });
    await conn.expectMessage();
    await conn.send({ op: "auth_start", mechanism: "TICKET", message: `t=${ticket},r=abcdefgh` });
    const reply = await conn.expectMessage();
    assert.equal(reply.reason, "ticket");
    assert.match(String(reply.message), /another certificate/);
    conn.close();
  } finally {
    await other.shutdown();
    await log.close();
  }
});
