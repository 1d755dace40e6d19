import assert from "node:assert/strict";
import { encodeData } from "./_frames.ts";
import { FrameConn } from "../lib/protocol/conn.ts";
import { FileshareError } from "../lib/protocol/errors.ts";
import { encodeMessage, FRAME_MSG, MAX_MSG_BYTES } from "../lib/protocol/frame.ts";
import { EVENT_NAMES } from "../lib/log/events.ts";
import { ERROR_CODES } from "../lib/protocol/codes.ts";
import { TEMP_PREFIX } from "../lib/store/paths.ts";
import {
  clientFinal,
  clientFirst,
  parseServerFirst,
  saltedPassword,
  unb64,
} from "../lib/auth/scram.ts";
import {
  listTree,
  openConn,
  rawSession,
  spawnServer,
  startServer,
  type TestServer,
  USERS,
  waitFor,
  writeTestUsers,
} from "./_helpers.ts";

const enc = new TextEncoder();

/** A raw framed connection that has not sent anything yet. */
async function rawConn(port: number): Promise<FrameConn> {
  return new FrameConn(await openConn(port), { timeoutMs: 10_000 });
}

function header(type: number, length: number): Uint8Array {
  const b = new Uint8Array(5);
  b[0] = type;
  new DataView(b.buffer).setUint32(1, length);
  return b;
}

/** Reads the next message and asserts it is an error with `code`; returns its message. */
async function expectError(conn: FrameConn, code: string): Promise<string> {
  const msg = await conn.expectMessage();
  assert.equal(msg.status, "error", JSON.stringify(msg));
  assert.equal(msg.code, code, String(msg.message));
  assert.equal(typeof msg.message, "string");
  return msg.message as string;
}

/** Asserts the server closed the connection (clean EOF or reset, not more data). */
async function expectClosed(conn: FrameConn): Promise<void> {
  try {
    assert.equal(await conn.readMessage(), null, "expected the server to close");
  } catch (err) {
    assert.ok(!(err instanceof assert.AssertionError), String(err));
  }
}

/** A logged-in client does a round trip: the server is still serving. */
async function stillServing(srv: TestServer): Promise<void> {
  await using c = await srv.connect("alice");
  await c.list("");
}

/** Logs in on `conn` (after hello) as `user` with `password`; returns the final reply. */
async function scramLogin(conn: FrameConn, user: string, password: string) {
  const first = clientFirst(user);
  await conn.send({ op: "auth_start", mechanism: "SCRAM-SHA-256", message: first.message });
  const cont = await conn.expectMessage();
  assert.equal(cont.status, "continue", JSON.stringify(cont));
  const server = parseServerFirst(String(cont.message), first.nonce);
  const salted = await saltedPassword(password, server.salt, server.iterations);
  await conn.send({ op: "auth_final", message: clientFinal(first, server, salted).message });
  return { serverFirst: server, reply: await conn.expectMessage() };
}

Deno.test("server handshake negotiates the version and refuses strangers", async (t) => {
  await using srv = await startServer();
  await t.step("hello gets ok with the highest common version and the server name", async () => {
    await using conn = await rawConn(srv.port);
    await conn.send({ op: "hello", protocol: "fileshare", versions: [3, 2, 1], client: "t" });
    assert.deepEqual(await conn.expectMessage(), {
      status: "ok",
      version: 2,
      server: "fileshare/test",
    });
    await using old = await rawConn(srv.port);
    await old.send({ op: "hello", protocol: "fileshare", versions: [1], client: "t" });
    assert.equal((await old.expectMessage()).version, 1, "a version-1 client is still served");
  });
  await t.step("no common version: VERSION, then closed", async () => {
    await using conn = await rawConn(srv.port);
    await conn.send({ op: "hello", protocol: "fileshare", versions: [3, 7], client: "t" });
    assert.match(await expectError(conn, "VERSION"), /No common protocol version/);
    await expectClosed(conn);
  });
  await t.step("another protocol name: BAD_REQUEST, then closed", async () => {
    await using conn = await rawConn(srv.port);
    await conn.send({ op: "hello", protocol: "http", versions: [1], client: "t" });
    await expectError(conn, "BAD_REQUEST");
    await expectClosed(conn);
  });
  await t.step("anything but hello first: BAD_REQUEST, then closed", async () => {
    for (const first of [{ op: "dir", path: "" }, { op: "auth_start" }, { hello: 1 }]) {
      await using conn = await rawConn(srv.port);
      await conn.send(first);
      await expectError(conn, "BAD_REQUEST");
      await expectClosed(conn);
    }
  });
  await t.step("bad hello fields", async () => {
    for (
      const bad of [
        { op: "hello", protocol: "fileshare", versions: [], client: "t" },
        { op: "hello", protocol: "fileshare", versions: ["1"], client: "t" },
        { op: "hello", protocol: "fileshare", versions: [1] },
        { op: "hello", protocol: "fileshare", versions: [1], client: "t", run: "a b" },
      ]
    ) {
      await using conn = await rawConn(srv.port);
      await conn.send(bad);
      await expectError(conn, "BAD_REQUEST");
      await expectClosed(conn);
    }
  });
  await stillServing(srv);
});

Deno.test("no command but the handshake and login is served before authentication", async (t) => {
  await using srv = await startServer();
  await Deno.writeTextFile(`${srv.root}/f.txt`, "x");
  const requests = [
    { op: "dir", path: "" },
    { op: "download", path: "f.txt" },
    { op: "delete", path: "f.txt" },
    { op: "mkdir", path: "d" },
    { op: "rmdir", path: "d", recursive: true },
    { op: "upload", path: "u.txt", size: 1, overwrite: true, eager: false },
    { op: "bench_mark", phase: "start", run: "r1", stats: {} },
  ];
  for (const req of requests) {
    await t.step(`${req.op} right after hello: AUTH_REQUIRED, then closed`, async () => {
      await using conn = await rawSession(srv.port, { login: false });
      await conn.send(req);
      assert.match(await expectError(conn, "AUTH_REQUIRED"), /Log in first/);
      await expectClosed(conn);
    });
  }
  await t.step("after a failed login too", async () => {
    await using conn = await rawSession(srv.port, { login: false });
    const { reply } = await scramLogin(conn, "alice", "wrong");
    assert.equal(reply.code, "AUTH_FAILED");
    await conn.send({ op: "dir", path: "" });
    await expectError(conn, "AUTH_REQUIRED");
    await expectClosed(conn);
  });
  assert.deepEqual(await listTree(srv.root), ["f.txt"], "nothing was done");
  const errors = (await srv.logLines()).filter((l) => l.event === "error");
  assert.ok(errors.some((e) => e.code === "AUTH_REQUIRED"));
});

Deno.test("SCRAM login: wrong password and unknown user look the same on the wire", async () => {
  await using srv = await startServer();
  const tryLogin = async (user: string, password: string) => {
    await using conn = await rawSession(srv.port, { login: false });
    return await scramLogin(conn, user, password);
  };
  const good = await tryLogin("alice", USERS.alice.password);
  assert.equal(good.reply.status, "ok");
  assert.equal(good.reply.readOnly, false);
  const wrong = await tryLogin("alice", "nope");
  const ghost1 = await tryLogin("ghost", "nope");
  const ghost2 = await tryLogin("ghost", "other");
  assert.deepEqual(wrong.reply, ghost1.reply);
  assert.equal(wrong.reply.code, "AUTH_FAILED");
  assert.equal(wrong.reply.message, "Authentication failed: wrong user name or password");
  // The unknown user's challenge has the shape of a real one and does not change.
  assert.equal(ghost1.serverFirst.iterations, good.serverFirst.iterations);
  assert.equal(ghost1.serverFirst.salt.length, good.serverFirst.salt.length);
  assert.deepEqual(ghost1.serverFirst.salt, ghost2.serverFirst.salt);
  assert.equal((await tryLogin("bob", USERS.bob.password)).reply.readOnly, true);
});

Deno.test("SCRAM login: the client checks the server's signature", async () => {
  await using srv = await startServer();
  await using conn = await rawSession(srv.port, { login: false });
  const first = clientFirst("alice");
  await conn.send({ op: "auth_start", mechanism: "SCRAM-SHA-256", message: first.message });
  const cont = await conn.expectMessage();
  const server = parseServerFirst(String(cont.message), first.nonce);
  const final = clientFinal(
    first,
    server,
    await saltedPassword(USERS.alice.password, server.salt, server.iterations),
  );
  await conn.send({ op: "auth_final", message: final.message });
  const done = await conn.expectMessage();
  assert.equal(done.status, "ok");
  // The signature is the one only a holder of ServerKey can compute.
  assert.deepEqual(unb64(String(done.message).slice(2)), final.expectedServerSignature);
});

Deno.test("SCRAM login: protocol misuse is refused", async (t) => {
  await using srv = await startServer();
  await t.step("auth_final without auth_start", async () => {
    await using conn = await rawSession(srv.port, { login: false });
    await conn.send({ op: "auth_final", message: "c=biws,r=x,p=AAAA" });
    await expectError(conn, "BAD_REQUEST");
    await expectClosed(conn);
  });
  await t.step("an unsupported mechanism", async () => {
    await using conn = await rawSession(srv.port, { login: false });
    await conn.send({ op: "auth_start", mechanism: "PLAIN", message: "n,,n=alice,r=abc" });
    await expectError(conn, "BAD_REQUEST");
    await expectClosed(conn);
  });
  await t.step("a malformed client-first is AUTH_FAILED like a wrong password", async () => {
    await using conn = await rawSession(srv.port, { login: false });
    await conn.send({ op: "auth_start", mechanism: "SCRAM-SHA-256", message: "p=tls,,n=a,r=b" });
    await expectError(conn, "AUTH_FAILED");
  });
  await t.step("a second login on a logged-in connection", async () => {
    await using conn = await rawSession(srv.port, { user: "bob" });
    const first = clientFirst("alice");
    await conn.send({ op: "auth_start", mechanism: "SCRAM-SHA-256", message: first.message });
    await expectError(conn, "BAD_REQUEST");
    await expectClosed(conn);
  });
  await t.step("three failed logins close the connection", async () => {
    await using conn = await rawSession(srv.port, { login: false });
    for (let i = 0; i < 3; i++) {
      const { reply } = await scramLogin(conn, "alice", `guess ${i}`);
      assert.equal(reply.code, "AUTH_FAILED");
    }
    await expectClosed(conn);
  });
});

Deno.test("a malformed frame gets an error, closes its connection, and the server goes on", async (t) => {
  await using srv = await startServer();
  // A logged-in client that stays connected throughout.
  await using bystander = await srv.connect("alice");
  const cases: [string, Uint8Array][] = [
    ["unknown type byte", new Uint8Array([...header(0x09, 2), 0x7b, 0x7d])],
    ["oversize length", header(FRAME_MSG, MAX_MSG_BYTES + 1)],
    ["length 2^32-1", header(FRAME_MSG, 0xffffffff)],
    ["invalid JSON", new Uint8Array([...header(FRAME_MSG, 7), ...enc.encode('{"op":}')])],
    ["non-UTF-8", new Uint8Array([...header(FRAME_MSG, 3), 0x7b, 0xff, 0x7d])],
    ["a JSON array", encodeMessage([{ op: "dir" }])],
    ["a DATA frame instead of a request", encodeData(enc.encode("hello"))],
    ["an unknown request", encodeMessage({ op: "format_disk" })],
    ["a request with a wrongly typed field", encodeMessage({ op: "dir", path: 42 })],
    ["an empty message", header(FRAME_MSG, 0)],
  ];
  for (const login of [false, true]) {
    for (const [name, bytes] of cases) {
      await t.step(`${name} (${login ? "logged in" : "before login"})`, async () => {
        await using conn = await rawSession(srv.port, { login });
        await conn.writeAll(bytes);
        await expectError(conn, "BAD_REQUEST");
        await expectClosed(conn);
        assert.ok((await bystander.list("")).length >= 0);
      });
    }
  }
  await t.step("garbage instead of a hello", async () => {
    await using conn = await rawConn(srv.port);
    await conn.writeAll(enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    await expectError(conn, "BAD_REQUEST");
    await expectClosed(conn);
  });
  await t.step("a frame cut off by the peer", async () => {
    const raw = await openConn(srv.port);
    await raw.write(encodeMessage({ op: "hello" }).subarray(0, 8));
    raw.close();
  });
  await stillServing(srv);
  await bystander.mkdir("still-works");
  assert.ok((await Deno.stat(`${srv.root}/still-works`)).isDirectory);
});

Deno.test("a slow or stalled client does not stall the others", async () => {
  await using srv = await startServer();
  // One client stalls in the middle of an upload body, another in the middle of a frame.
  await using stalled = await rawSession(srv.port);
  await stalled.send({
    op: "upload",
    path: "slow.bin",
    size: 4 << 20,
    overwrite: false,
    eager: false,
  });
  assert.equal((await stalled.expectMessage()).status, "ready");
  await stalled.writeAll(encodeData(new Uint8Array(100_000)));
  await using half = await rawSession(srv.port);
  await half.writeAll(encodeMessage({ op: "dir", path: "" }).subarray(0, 9));
  // Another client that never reads its download.
  await Deno.writeFile(`${srv.root}/big.bin`, new Uint8Array(16 << 20));
  await using deaf = await rawSession(srv.port);
  await deaf.send({ op: "download", path: "big.bin" });

  const started = performance.now();
  await using other = await srv.connect("bob");
  for (let i = 0; i < 20; i++) await other.list("");
  const data = new Uint8Array(1 << 20).fill(3);
  await using writer = await srv.connect("alice");
  await writer.upload(
    {
      read: (() => {
        let done = false;
        return (p: Uint8Array) => {
          if (done) return Promise.resolve(null);
          done = true;
          p.set(data.subarray(0, p.length));
          return Promise.resolve(Math.min(p.length, data.length));
        };
      })(),
    },
    data.length,
    "fast.bin",
  );
  assert.ok(performance.now() - started < 5_000, "others were served promptly");
  // DIR never shows the stalled upload's temporary file, though it exists.
  const tree = await listTree(srv.root);
  assert.equal(tree.filter((p) => p.startsWith(TEMP_PREFIX)).length, 1, tree.join(","));
  assert.deepEqual((await other.list("")).map((e) => e.name), ["big.bin", "fast.bin"]);
});

Deno.test("connections over the limit get LIMIT and the server recovers", async () => {
  await using srv = await startServer({ maxConnections: 2 });
  await using a = await srv.connect("alice");
  await using b = await srv.connect("bob");
  await assert.rejects(srv.connect("alice"), (err: unknown) => {
    assert.ok(err instanceof FileshareError, String(err));
    assert.equal(err.code, "LIMIT");
    assert.match(err.message, /limit of 2 connections/);
    return true;
  });
  b.close();
  await waitFor(() => srv.server.connections < 2);
  await using c = await srv.connect("alice");
  await c.list("");
  await a.list("");
});

Deno.test("idle connections time out and are logged", async (t) => {
  await using srv = await startServer({ idleTimeoutMs: 300 });
  await t.step("before the handshake", async () => {
    await using conn = await rawConn(srv.port);
    const started = performance.now();
    await expectClosed(conn);
    assert.ok(performance.now() - started < 5_000);
  });
  await t.step("after login", async () => {
    await using client = await srv.connect("alice");
    await client.list("");
    await new Promise((r) => setTimeout(r, 800));
    await assert.rejects(client.list(""));
  });
  await t.step("in the middle of an upload body: temp file removed", async () => {
    await using conn = await rawSession(srv.port);
    await conn.send({
      op: "upload",
      path: "idle.bin",
      size: 1 << 20,
      overwrite: false,
      eager: false,
    });
    assert.equal((await conn.expectMessage()).status, "ready");
    await conn.writeAll(encodeData(new Uint8Array(1000)));
    await expectClosed(conn);
    await waitFor(async () => (await listTree(srv.root)).length === 0);
  });
  await t.step("a busy connection is not idle", async () => {
    await using client = await srv.connect("alice");
    for (let i = 0; i < 8; i++) {
      await client.list("");
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  const lines = await srv.logLines();
  const errors = lines.filter((l) => l.event === "error");
  assert.ok(
    errors.some((e) => /No data for 0\.3 s/.test(String(e.message))),
    JSON.stringify(errors),
  );
});

Deno.test("in-process shutdown closes idle clients, cuts stalled uploads and removes their temp files", async () => {
  const srv = await startServer({ graceMs: 200 });
  try {
    await using idle = await srv.connect("alice");
    await using stalled = await rawSession(srv.port);
    await stalled.send({
      op: "upload",
      path: "s.bin",
      size: 1 << 20,
      overwrite: false,
      eager: false,
    });
    assert.equal((await stalled.expectMessage()).status, "ready");
    await stalled.writeAll(encodeData(new Uint8Array(1000)));
    await waitFor(async () => (await listTree(srv.root)).length === 1);
    await srv.server.shutdown();
    assert.deepEqual(await listTree(srv.root), [], "no temp file, no partial file");
    assert.equal(srv.server.connections, 0);
    await assert.rejects(idle.list(""));
    await assert.rejects(
      Deno.connect({ hostname: "127.0.0.1", port: srv.port }).then((c) => c.close()),
    );
  } finally {
    await srv.close();
  }
});

Deno.test("a peer that disconnects or times out is not logged as an INTERNAL server error", async () => {
  await using srv = await startServer({ idleTimeoutMs: 300 });
  {
    await using conn = await rawSession(srv.port);
    await conn.send({
      op: "upload",
      path: "gone.bin",
      size: 1 << 20,
      overwrite: false,
      eager: false,
    });
    assert.equal((await conn.expectMessage()).status, "ready");
    await conn.writeAll(encodeData(new Uint8Array(1000)));
  }
  {
    await using conn = await rawSession(srv.port);
    await expectClosed(conn);
  }
  await waitFor(async () =>
    (await srv.logLines()).filter((l) => l.event === "disconnect").length === 2
  );
  const failures = (await srv.logLines()).filter((l) => l.ok === false);
  assert.equal(failures.length, 2, JSON.stringify(failures));
  for (const f of failures) {
    assert.notEqual(f.code, "INTERNAL", `${f.event}: ${f.message}`);
  }
});

const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

Deno.test("the activity log has every event with the documented fields and no secrets", async () => {
  await using srv = await startServer();
  {
    await using alice = await srv.connect("alice");
    await alice.mkdir("d");
    await alice.upload(
      {
        read: (() => {
          let sent = false;
          return (p: Uint8Array) => {
            if (sent) return Promise.resolve(null);
            sent = true;
            p.set(enc.encode("hello"));
            return Promise.resolve(5);
          };
        })(),
      },
      5,
      "d/h.txt",
    );
    await alice.download(
      "d/h.txt",
      () => Promise.resolve({ write: (p) => Promise.resolve(p.length) }),
    );
    await alice.list("d");
    await assert.rejects(alice.delete("d/nope"));
    await alice.delete("d/h.txt");
    await alice.rmdir("d");
  }
  await assert.rejects(
    import("../lib/client/client.ts").then((m) =>
      m.FileshareClient.connect({
        hostname: "127.0.0.1",
        port: srv.port,
        user: "alice",
        password: "Wrong-Secret-123",
        tls: srv.tls,
      })
    ),
  );
  {
    await using raw = await rawSession(srv.port, { login: false });
    await raw.writeAll(header(0x42, 0));
    await expectError(raw, "BAD_REQUEST");
    await expectClosed(raw);
  }
  await waitFor(async () =>
    (await srv.logLines()).filter((l) => l.event === "disconnect").length === 3
  );
  const lines = await srv.logLines();
  const text = await Deno.readTextFile(srv.logPath);
  assert.ok(text.endsWith("\n"));

  for (const l of lines) {
    assert.match(String(l.ts), TS);
    assert.ok((EVENT_NAMES as readonly string[]).includes(String(l.event)), String(l.event));
    assert.equal(typeof l.ok, "boolean");
    assert.equal(typeof l.conn, "number");
    assert.match(String(l.remote), /^127\.0\.0\.1:\d+$/);
    if (l.ok === false) {
      assert.ok((ERROR_CODES as readonly string[]).includes(String(l.code)), JSON.stringify(l));
      assert.equal(typeof l.message, "string");
    }
    if (["upload", "download", "delete", "dir", "mkdir", "rmdir"].includes(String(l.event))) {
      assert.equal(l.user, "alice");
      assert.equal(typeof l.path, "string");
      assert.equal(typeof l.ms, "number");
      assert.ok((l.ms as number) >= 0);
    }
  }
  const find = (event: string, ok = true) => lines.find((l) => l.event === event && l.ok === ok);
  const up = find("upload")!;
  assert.equal(up.path, "d/h.txt");
  assert.equal(up.bytes, 5);
  assert.equal(up.size, 5);
  assert.equal(up.overwrite, false);
  assert.match(String(up.sha256), /^[0-9a-f]{64}$/);
  const down = find("download")!;
  assert.equal(down.bytes, 5);
  assert.equal(down.sha256, up.sha256);
  assert.equal(find("dir")!.entries, 1);
  assert.equal(find("rmdir")!.recursive, false);
  assert.equal(find("mkdir")!.path, "d");
  const del = find("delete", false)!;
  assert.equal(del.code, "NOT_FOUND");
  assert.equal(del.path, "d/nope");
  assert.equal(find("auth_ok")!.user, "alice");
  const fail = find("auth_fail", false)!;
  assert.equal(fail.user, "alice", "the tried name");
  assert.equal(fail.code, "AUTH_FAILED");
  const err = find("error", false)!;
  assert.equal(err.code, "BAD_REQUEST");
  assert.equal(lines.filter((l) => l.event === "connect").length, 3);
  const disc = lines.filter((l) => l.event === "disconnect");
  assert.ok(disc.every((d) => typeof d.ms === "number"));

  // No password, proof, key or nonce.
  for (const secret of [USERS.alice.password, USERS.bob.password, "Wrong-Secret-123"]) {
    assert.ok(!text.includes(secret), `log contains a password: ${secret}`);
  }
  assert.ok(!text.includes("p="), "log contains a SCRAM proof");
  assert.ok(!/"(storedKey|serverKey|salt|nonce)"/i.test(text));
  assert.ok(!text.includes("r="), "log contains a SCRAM nonce");
});

Deno.test("the log stays whole lines under concurrency", async () => {
  await using srv = await startServer();
  await Promise.all(Array.from({ length: 6 }, async () => {
    await using c = await srv.connect("alice");
    for (let i = 0; i < 20; i++) await c.list("");
  }));
  await waitFor(async () =>
    (await srv.logLines()).filter((l) => l.event === "disconnect").length === 6
  );
  const text = await Deno.readTextFile(srv.logPath);
  const lines = text.trimEnd().split("\n");
  for (const line of lines) JSON.parse(line);
  assert.equal(lines.filter((l) => l.includes('"event":"dir"')).length, 120);
});

Deno.test("SIGTERM on a child server: stops gracefully, exits 0, log ends with server_stop", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-stop-" });
  try {
    await writeTestUsers(`${dir}/users.json`);
    const child = await spawnServer(dir, ["--grace", "5"]);
    // An upload in progress when the signal comes is allowed to finish.
    const conn = await rawSession(child.port);
    try {
      const body = new Uint8Array(600_000).fill(9);
      await conn.send({
        op: "upload",
        path: "inflight.bin",
        size: body.length,
        overwrite: false,
        eager: false,
      });
      assert.equal((await conn.expectMessage()).status, "ready");
      await conn.writeAll(encodeData(body.subarray(0, 300_000)));
      child.process.kill("SIGTERM");
      await waitFor(() => child.stdout().includes("SIGTERM: stopping"));
      await conn.writeAll(encodeData(body.subarray(300_000)));
      const { createHash } = await import("node:crypto");
      await conn.send({ op: "end", sha256: createHash("sha256").update(body).digest("hex") });
      const reply = await conn.expectMessage();
      assert.equal(reply.status, "ok", JSON.stringify(reply));
    } finally {
      conn.close();
    }
    // The one SIGTERM above is enough: wait for the exit instead of signalling again.
    const status = await child.process.status;
    const stopped = await child.stop("SIGTERM");
    assert.equal(status.code, 0, stopped.stderr);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /stopped/);
    assert.equal((await Deno.stat(`${dir}/server_docs/inflight.bin`)).size, 600_000);
    const lines = (await Deno.readTextFile(`${dir}/fileshare.jsonl`)).trimEnd().split("\n").map((
      l,
    ) => JSON.parse(l));
    assert.equal(lines[0].event, "server_start");
    assert.equal(typeof lines[0].port, "number");
    assert.equal(lines[0].pid, child.process.pid);
    const last = lines.at(-1);
    assert.equal(last.event, "server_stop");
    assert.equal(last.reason, "SIGTERM");
    assert.equal(last.pid, child.process.pid);
    assert.equal(typeof last.ms, "number");
    assert.ok(
      lines.some((l) => l.event === "upload" && l.ok === true && l.path === "inflight.bin"),
    );
    assert.deepEqual(
      (await listTree(`${dir}/server_docs`)).filter((p) => p.includes(TEMP_PREFIX)),
      [],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIGINT on a child server with a stalled upload: cut after the grace, no temp file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-stop-" });
  try {
    await writeTestUsers(`${dir}/users.json`);
    const child = await spawnServer(dir, ["--grace", "0"]);
    const conn = await rawSession(child.port);
    try {
      await conn.send({
        op: "upload",
        path: "stall.bin",
        size: 1 << 20,
        overwrite: false,
        eager: false,
      });
      assert.equal((await conn.expectMessage()).status, "ready");
      await conn.writeAll(encodeData(new Uint8Array(1000)));
      await waitFor(async () => (await listTree(`${dir}/server_docs`)).length === 1);
      const stopped = await child.stop("SIGINT");
      assert.equal(stopped.code, 0, stopped.stderr);
    } finally {
      conn.close();
    }
    assert.deepEqual(await listTree(`${dir}/server_docs`), []);
    const last = JSON.parse(
      (await Deno.readTextFile(`${dir}/fileshare.jsonl`)).trimEnd().split("\n").at(-1)!,
    );
    assert.equal(last.event, "server_stop");
    assert.equal(last.reason, "SIGINT");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LocalStore.open() removes temporary files a crashed server left behind", async () => {
  const { LocalStore } = await import("../lib/store/local_store.ts");
  const dir = await Deno.makeTempDir({ prefix: "fileshare-stale-" });
  try {
    await Deno.mkdir(`${dir}/root/sub/deeper`, { recursive: true });
    await Deno.writeTextFile(`${dir}/root/${TEMP_PREFIX}aaaa`, "partial");
    await Deno.writeTextFile(`${dir}/root/sub/deeper/${TEMP_PREFIX}bbbb`, "partial");
    await Deno.writeTextFile(`${dir}/root/sub/keep.txt`, "keep");
    await Deno.writeTextFile(`${dir}/${TEMP_PREFIX}outside`, "not ours to touch");
    await LocalStore.open(`${dir}/root`);
    assert.deepEqual(await listTree(`${dir}/root`), ["sub/", "sub/deeper/", "sub/keep.txt"]);
    assert.ok((await Deno.stat(`${dir}/${TEMP_PREFIX}outside`)).isFile);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
