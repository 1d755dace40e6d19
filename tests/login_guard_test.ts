import assert from "node:assert/strict";
import { LoginGuard } from "../lib/server/login_guard.ts";
import { cidrContains, parseCidr } from "../lib/server/cidr.ts";
import { startServer, USERS } from "./_helpers.ts";
import { connectFrom, guess, hammer } from "./_guesser.ts";
import { FileshareClient } from "../lib/client/client.ts";

Deno.test({
  name: "LoginGuard delays an address after 5 failures, at most one try a second, bans after 20",
  permissions: "none",
  fn() {
    let now = 1_000_000;
    const guard = new LoginGuard({ now: () => now, banMs: 60_000 });
    const a = "203.0.113.7";
    for (let i = 1; i <= 5; i++) {
      assert.deepEqual(guard.reserve(a), { waitMs: 0 }, `attempt ${i} is free`);
      assert.equal(guard.failed(a).kind, "none");
    }
    assert.deepEqual(guard.failed(a), { kind: "delay", failures: 6, delayMs: 1000 });
    // Ten attempts at once from ten connections are spaced out, one a second at least.
    const waits = Array.from({ length: 10 }, () => (guard.reserve(a) as { waitMs: number }).waitMs);
    assert.deepEqual(waits, [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000]);
    assert.deepEqual(guard.reserve("198.51.100.1"), { waitMs: 0 }, "other addresses go on");
    // The pause grows with each failure.
    now += 60_000;
    assert.deepEqual(guard.failed(a), { kind: "delay", failures: 7, delayMs: 2000 });
    now += 60_000;
    assert.deepEqual(guard.reserve(a), { waitMs: 0 });
    assert.deepEqual(guard.reserve(a), { waitMs: 2000 });
    for (let n = 8; n <= 20; n++) assert.equal(guard.failed(a).kind, "delay");
    const ban = guard.failed(a);
    assert.equal(ban.kind, "ban");
    assert.deepEqual(guard.reserve(a), { bannedUntil: now + 60_000 });
    assert.equal(guard.bannedUntil(a), now + 60_000);
    now += 60_001;
    assert.equal(guard.bannedUntil(a), null, "the ban ends");
    assert.deepEqual(guard.reserve(a), { waitMs: 0 }, "and starts afresh");
  },
});

Deno.test({
  name: "LoginGuard forgets failures older than the window and never limits trusted networks",
  permissions: "none",
  fn() {
    let now = 0;
    const guard = new LoginGuard({
      now: () => now,
      windowMs: 10_000,
      allow: [parseCidr("10.0.0.0/8"), parseCidr("fd00::/8")],
    });
    for (let i = 0; i < 5; i++) guard.failed("192.0.2.1");
    now += 10_001;
    assert.equal(guard.failed("192.0.2.1").kind, "none", "the old failures left the window");
    for (let i = 0; i < 50; i++) {
      assert.equal(guard.failed("10.1.2.3").kind, "none");
      assert.equal(guard.failed("fd12::9").kind, "none");
    }
    assert.deepEqual(guard.reserve("10.1.2.3"), { waitMs: 0 });
    assert.equal(guard.bannedUntil("fd12::9"), null);
  },
});

Deno.test({
  name: "parseCidr() and cidrContains() read IPv4, IPv6 and mapped addresses",
  permissions: "none",
  fn() {
    assert.ok(cidrContains(parseCidr("127.0.0.0/8"), "127.9.9.9"));
    assert.ok(!cidrContains(parseCidr("127.0.0.2/32"), "127.0.0.3"));
    assert.ok(cidrContains(parseCidr("127.0.0.2"), "127.0.0.2"));
    assert.ok(cidrContains(parseCidr("192.168.0.0/23"), "192.168.1.200"));
    assert.ok(!cidrContains(parseCidr("192.168.0.0/23"), "192.168.2.1"));
    assert.ok(cidrContains(parseCidr("10.0.0.0/8"), "::ffff:10.0.0.1"), "IPv4-mapped");
    assert.ok(cidrContains(parseCidr("::1"), "[::1]"));
    assert.ok(cidrContains(parseCidr("2001:db8::/32"), "2001:db8:0:1::5"));
    assert.ok(!cidrContains(parseCidr("2001:db8::/32"), "2001:db9::5"));
    assert.ok(cidrContains(parseCidr("0.0.0.0/0"), "8.8.8.8"));
    for (const bad of ["10.0.0.0/33", "300.1.1.1", "10.0.0/8", "::1/129", "1::2::3", "x"]) {
      assert.throws(() => parseCidr(bad), RangeError, bad);
    }
  },
});

Deno.test("brute force from one address is slowed then banned while another address logs in", async () => {
  // Small steps so the suite reaches the ban in seconds; the defaults are 1 s steps.
  await using srv = await startServer({
    plain: true,
    loginGuard: { stepMs: 40, banMs: 60_000, allow: [parseCidr("127.0.0.3/32")] },
  });
  const login = () =>
    FileshareClient.connect({
      hostname: "127.0.0.1",
      port: srv.port,
      user: "alice",
      password: USERS.alice.password,
      tls: false,
    });
  const attack = hammer(srv.port, "127.0.0.2", "alice", {
    connections: 8,
    ms: 20_000,
    stopWhenBanned: true,
  });
  // While the attack runs, a user from another address logs in and works, again and again.
  let logins = 0;
  let attackDone = false;
  const user = (async () => {
    while (!attackDone) {
      const c = await login();
      await c.list("");
      c.close();
      logins++;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const result = await attack.finally(() => (attackDone = true));
  await user;
  assert.ok(result.banned, "the guessing address was banned");
  assert.equal(result.failed, 21, "21 guesses were checked: the 21st failure bans");
  assert.ok(logins > 0, "the other address logged in during the attack");
  // Banned: a new connection from that address is refused at once, with LIMIT.
  await assert.rejects(() => connectFrom(srv.port, "127.0.0.2"), /LIMIT: Too many failed logins/);
  // The other address and a trusted network are not affected.
  (await login()).close();
  const trusted = await connectFrom(srv.port, "127.0.0.3");
  for (let i = 0; i < 3; i++) {
    assert.equal((await guess(trusted, "alice", "no")).code, "AUTH_FAILED");
  }
  trusted.close();
  const more = await hammer(srv.port, "127.0.0.3", "alice", { connections: 2, ms: 1500 });
  assert.equal(more.banned, false, "a trusted network is never banned");
  assert.ok(more.failed > 20, `trusted guesses are not slowed (${more.failed})`);

  const log = await srv.logLines();
  const throttle = log.filter((l) => l.event === "auth_throttle");
  const ban = log.filter((l) => l.event === "auth_ban");
  assert.equal(throttle.length, 1);
  assert.equal(ban.length, 1);
  assert.match(String(throttle[0].remote), /^127\.0\.0\.2:/);
  assert.equal(throttle[0].failures, 6);
  assert.match(String(ban[0].message), /21 failed logins from 127\.0\.0\.2: banned until/);
  assert.ok(!log.some((l) => l.event === "auth_ban" && /127\.0\.0\.3/.test(String(l.remote))));
});
