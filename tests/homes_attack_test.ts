/**
 * Homes, quotas and --max-upload tried as an attacker would: path tricks against neighbouring
 * homes, links swapped in and out, overwrites of links, nested homes, lying sizes, two servers
 * on one NATS bucket. Four of these attacks worked once (link overwrites credited the target's
 * bytes, a home swapped for a link was followed, nested homes were accepted); their tests were
 * written first and failed against that code.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { UsersFile } from "../lib/auth/users.ts";
import { FileshareClient } from "../lib/client/client.ts";
import { FileshareError } from "../lib/protocol/errors.ts";
import type { FrameConn } from "../lib/protocol/conn.ts";
import { ActivityLog } from "../lib/log/activity_log.ts";
import { FileshareServer } from "../lib/server/server.ts";
import { NatsStore } from "../lib/store/nats_store.ts";
import { KvUsersStorage } from "../lib/auth/kv_users_storage.ts";
import { encodeData } from "./_frames.ts";
import { NatsCluster, natsServerPath } from "./_nats.ts";
import {
  connectAs,
  listTree,
  rawSession,
  runTool,
  setUser,
  sha256File,
  startServer,
  testCertificate,
  USERS,
} from "./_helpers.ts";

const CAROL = { name: "carol", password: "carol-password-1" };
const SECRET = "carol's secret";

/** Uploads `size` bytes of `fill` from memory. */
function put(client: FileshareClient, path: string, size: number, overwrite = false, fill = 1) {
  const bytes = new Uint8Array(size).fill(fill);
  let off = 0;
  return client.upload(
    {
      read: (p) => {
        if (off >= size) return Promise.resolve(null);
        const n = Math.min(p.length, size - off);
        p.set(bytes.subarray(off, off + n));
        off += n;
        return Promise.resolve(n);
      },
    },
    size,
    path,
    { overwrite },
  );
}

/** Bytes of the regular files below `dir`, links not followed. */
async function fileBytes(dir: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) n += (await Deno.lstat(`${dir}/${e.name}`)).size;
    else if (e.isDirectory) n += await fileBytes(`${dir}/${e.name}`);
  }
  return n;
}

/** Sends one request on a raw session and reads its final answer (reading out a download). */
async function request(
  conn: FrameConn,
  msg: Record<string, unknown>,
  body?: Uint8Array,
): Promise<Record<string, unknown>> {
  await conn.send(msg);
  if (body !== undefined) {
    const ready = await conn.expectMessage();
    if (ready.status !== "ready") return ready;
    await sendBody(conn, body);
  }
  if (msg.op === "download") {
    const head = await conn.expectMessage();
    if (head.status !== "ok") return head;
    for (;;) {
      const h = await conn.readHeader();
      if (h === null) throw new Error("connection closed mid-body");
      if (h.type === 0x02) {
        await conn.readDataBody(new Uint8Array(h.length));
        continue;
      }
      await conn.readMessageBody(h.length);
      return head;
    }
  }
  for (;;) {
    const r = await conn.expectMessage();
    if (!(r.status === "ok" && r.more === true)) return r;
  }
}

async function sendBody(conn: FrameConn, body: Uint8Array): Promise<void> {
  if (body.length > 0) await conn.writeAll(encodeData(body));
  await conn.send({ op: "end", sha256: createHash("sha256").update(body).digest("hex") });
}

/** No message a client sees may name the server's own folders. */
function assertNoServerPath(
  srv: { dir: string; root: string },
  msg: unknown,
  extra: string[] = [],
  echoed = "",
) {
  // The client's own path may be quoted back; the server must add none of its own.
  const text = echoed === ""
    ? JSON.stringify(msg)
    : JSON.stringify(msg).replaceAll(JSON.stringify(echoed).slice(1, -1), "<input>");
  for (const p of [srv.dir, srv.root, ...extra]) {
    assert.ok(!text.includes(p), `message leaks the server path ${p}: ${text}`);
  }
}

// --- Path tricks against a neighbour whose home has the attacker's home as a prefix --------

Deno.test("homes: a home that is a prefix of another (a, ab) confines against every path trick and link", async () => {
  await using srv = await startServer();
  await setUser(srv, "alice", { home: "a", quota: 100_000 });
  await setUser(srv, CAROL.name, { home: "ab" }, CAROL.password);
  {
    await using carol = await connectAs(srv, CAROL);
    await Deno.writeTextFile(`${srv.dir}/s.txt`, SECRET);
    await carol.uploadFile(`${srv.dir}/s.txt`, "secret.txt");
    await carol.mkdir("sub");
    await carol.uploadFile(`${srv.dir}/s.txt`, "sub/secret.txt");
  }
  await Deno.writeTextFile(`${srv.root}/shared.txt`, "admin file at the root");
  await Deno.mkdir(`${srv.root}/a`, { recursive: true });
  // Links left inside alice's home, each leading out (to the prefix neighbour or the root).
  const links: [string, string][] = [
    ["abs-ab", `${srv.root}/ab`],
    ["abs-ab-file", `${srv.root}/ab/secret.txt`],
    ["abs-dotdot", `${srv.root}/a/../ab`],
    ["abs-prefix", `${srv.root}/a` + "b/secret.txt"],
    ["abs-root", srv.root],
    ["abs-slash", `${srv.root}/a/`],
    ["rel-ab", "../ab"],
    ["rel-deep", "./x/../../ab/secret.txt"],
    ["rel-up", ".."],
    ["chain1", "chain2"],
    ["chain2", "../ab/sub"],
    ["self", "."],
  ];
  for (const [name, target] of links) await Deno.symlink(target, `${srv.root}/a/${name}`);
  const carolSha = await sha256File(`${srv.root}/ab/secret.txt`);
  const outsideBefore = (await listTree(srv.root)).filter((p) => !p.startsWith("a/"));

  await using conn = await rawSession(srv.port, { user: "alice" });
  const spellings = [
    "../ab/secret.txt",
    "/ab/secret.txt",
    `${srv.root}/ab/secret.txt`,
    "..\\ab\\secret.txt",
    "%2e%2e/ab/secret.txt",
    "%2E%2E%2Fab%2Fsecret.txt",
    "\u2025/ab/secret.txt",
    "\uff0e\uff0e/ab/secret.txt",
    ".\u0307./ab/secret.txt",
    "x/../../ab/secret.txt",
    "./../ab/secret.txt",
    "a/../../ab/secret.txt",
    "~carol/secret.txt",
    "//ab/secret.txt",
    "C:/ab/secret.txt",
    "abs-ab/secret.txt",
    "abs-ab-file",
    "abs-dotdot/secret.txt",
    "abs-prefix",
    "abs-root/ab/secret.txt",
    "abs-slash/../ab/secret.txt",
    "rel-ab/secret.txt",
    "rel-deep",
    "rel-up/ab/secret.txt",
    "chain1/secret.txt",
    "self/../ab/secret.txt",
    "self/self/rel-up/ab/secret.txt",
  ];
  const messages: [string, unknown][] = [];
  for (const p of spellings) {
    const dl = await request(conn, { op: "download", path: p });
    assert.notEqual(dl.status, "ok", `download of ${JSON.stringify(p)} must fail`);
    messages.push([p, dl]);
    const folder = p.replace(/\/?secret\.txt$/, "");
    for (const dirPath of [p, folder]) {
      const dir = await request(conn, { op: "dir", path: dirPath });
      messages.push([dirPath, dir]);
      if (dir.status === "ok") {
        const names = (dir.entries as { name: string }[]).map((e) => e.name);
        assert.ok(
          !names.includes("secret.txt") && !names.includes("sub") && !names.includes("shared.txt"),
          `dir ${JSON.stringify(dirPath)} shows ${names}`,
        );
      }
    }
    messages.push([p, await request(conn, { op: "delete", path: p })]);
    messages.push([
      p,
      await request(
        conn,
        { op: "upload", path: p, size: 3, overwrite: true, eager: false },
        new TextEncoder().encode("pwn"),
      ),
    ]);
    messages.push([
      folder || p,
      await request(conn, { op: "rmdir", path: folder || p, recursive: true }),
    ]);
    messages.push([
      `${folder || p}/new`,
      await request(conn, { op: "mkdir", path: `${folder || p}/new` }),
    ]);
  }
  for (const [p, m] of messages) assertNoServerPath(srv, m, [], p);
  // Nothing outside alice's home changed, carol's file is intact.
  const outsideAfter = (await listTree(srv.root)).filter((p) => !p.startsWith("a/"));
  assert.deepEqual(outsideAfter, outsideBefore);
  assert.equal(await sha256File(`${srv.root}/ab/secret.txt`), carolSha);
  assert.equal(await sha256File(`${srv.root}/ab/sub/secret.txt`), carolSha);
  // df measures only alice's home: the links to carol's files and the root count nothing.
  const df = await request(conn, { op: "df" });
  assert.equal(df.status, "ok");
  assert.equal(df.used, await fileBytes(`${srv.root}/a`));
});

// --- Quota against links inside the root ---------------------------------------------------

Deno.test("homes: overwriting a symlink in the home is not credited with its target's bytes, so the quota holds", async () => {
  await using srv = await startServer();
  const quota = 1000;
  await setUser(srv, "alice", { home: "alice", quota });
  {
    await using alice = await srv.connect("alice");
    await put(alice, "big.bin", 800);
  }
  // Links inside the home, to a file and to the home itself (a local user or admin left them).
  await Deno.symlink("big.bin", `${srv.root}/alice/l`);
  await Deno.symlink(".", `${srv.root}/alice/self`);
  await using alice = await srv.connect("alice");
  const refused: string[] = [];
  // Overwrite replaces the link itself, but admission subtracted the target's 800 bytes.
  await put(alice, "l", 1000, true).catch((e) => refused.push(`l: ${e.message}`));
  // The link to "." is credited with the whole home.
  await put(alice, "self", 1000, true).catch((e) => refused.push(`self: ${e.message}`));
  const used = await fileBytes(`${srv.root}/alice`);
  assert.ok(
    used <= quota,
    `alice holds ${used} bytes on disk under a ${quota}-byte quota (refusals: ${refused})`,
  );
});

Deno.test("homes: a user without a home cannot pass the quota by overwriting a root symlink to a big folder", async () => {
  await using srv = await startServer();
  const quota = 10_000;
  await Deno.mkdir(`${srv.root}/releases`);
  await Deno.writeFile(`${srv.root}/releases/v2.bin`, new Uint8Array(9000));
  await Deno.symlink("releases", `${srv.root}/latest`);
  await setUser(srv, "alice", { quota });
  await using alice = await srv.connect("alice");
  const before = await alice.df();
  assert.equal(before.used, 9000);
  const outcome = await put(alice, "latest", 10_000, true).then(
    () => "stored",
    (e: Error) => e.message,
  );
  const used = await fileBytes(srv.root);
  assert.ok(used <= quota, `the root holds ${used} bytes under a ${quota}-byte quota (${outcome})`);
});

Deno.test("homes: df and the quota count no bytes through links leading out of the home or root", async () => {
  await using srv = await startServer();
  const outside = await Deno.makeTempDir({ prefix: "fileshare-homes-outside-" });
  try {
    await Deno.writeFile(`${outside}/huge.bin`, new Uint8Array(50_000));
    await Deno.writeFile(`${srv.root}/root-file.bin`, new Uint8Array(7000));
    await setUser(srv, "alice", { home: "alice", quota: 1000 });
    await setUser(srv, CAROL.name, { quota: 100_000 }, CAROL.password);
    await Deno.mkdir(`${srv.root}/alice`, { recursive: true });
    await Deno.symlink(`${outside}/huge.bin`, `${srv.root}/alice/out-file`);
    await Deno.symlink(outside, `${srv.root}/alice/out-dir`);
    await Deno.symlink("../root-file.bin", `${srv.root}/alice/up-file`);
    await Deno.symlink(outside, `${srv.root}/out-dir`);
    await using alice = await srv.connect("alice");
    const a = await alice.df();
    assert.equal(a.used, 0);
    assertNoServerPath(srv, a, [outside]);
    // The overwrite of a link leading out measures nothing outside and keeps the outside file.
    const o = await put(alice, "out-file", 10, true).then(() => "ok", (e: Error) => e.message);
    assertNoServerPath(srv, o, [outside]);
    assert.equal((await Deno.stat(`${outside}/huge.bin`)).size, 50_000);
    // A user without a home: the whole root, links not followed out.
    await using carol = await connectAs(srv, CAROL);
    const c = await carol.df();
    assert.equal(c.used, await fileBytes(srv.root));
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

// --- The home itself ------------------------------------------------------------------------

Deno.test("homes: a home that is a link out of the root, or below one, refuses the login and creates nothing outside", async () => {
  await using srv = await startServer();
  const outside = await Deno.makeTempDir({ prefix: "fileshare-homes-outside-" });
  try {
    await Deno.writeTextFile(`${outside}/etc-secret`, "outside");
    await Deno.symlink(outside, `${srv.root}/alice`);
    await Deno.symlink(outside, `${srv.root}/x`);
    await Deno.symlink(`${outside}/not-yet`, `${srv.root}/dangling`);
    for (const home of ["alice", "x/y", "dangling", "dangling/z"]) {
      await setUser(srv, "alice", { home });
      const err = await srv.connect("alice").then(
        async (c) => {
          const listed = await c.list().catch((e) => e);
          await c.close();
          return new Error(`login with home ${home} succeeded: ${JSON.stringify(listed)}`);
        },
        (e) => e,
      );
      assert.ok(err instanceof FileshareError, `${home}: ${err}`);
      assertNoServerPath(srv, err.message, [outside]);
      assert.deepEqual((await listTree(outside)).sort(), ["etc-secret"], `home ${home}`);
    }
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("homes: a home swapped for a link after login does not lead out of the root", async () => {
  await using srv = await startServer();
  const outside = await Deno.makeTempDir({ prefix: "fileshare-homes-outside-" });
  try {
    await Deno.writeTextFile(`${outside}/etc-secret`, "outside the root");
    await setUser(srv, "alice", { home: "alice" });
    await using alice = await srv.connect("alice");
    assert.deepEqual(await alice.list(), []);
    // A local user with write access to the root swaps the home for a link while alice is in.
    await Deno.rename(`${srv.root}/alice`, `${srv.root}/alice.old`);
    await Deno.symlink(outside, `${srv.root}/alice`);
    const names = await alice.list().then((es) => es.map((e) => e.name), () => []);
    const chunks: Uint8Array[] = [];
    const read = await alice.download("etc-secret", () =>
      Promise.resolve({
        write: (p: Uint8Array) => {
          chunks.push(p.slice());
          return Promise.resolve(p.length);
        },
      })).then(() => new TextDecoder().decode(chunks[0]), () => null);
    assert.deepEqual(
      { names, read },
      { names: [], read: null },
      "alice lists and reads the folder outside the root",
    );
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

// --- Quota and --max-upload -----------------------------------------------------------------

/** Starts an upload on a raw session and waits for READY (the admission). */
async function admitted(conn: FrameConn, path: string, size: number) {
  await conn.send({ op: "upload", path, size, overwrite: false, eager: false });
  return await conn.expectMessage();
}

Deno.test("homes: concurrent overwrites and uploads on one server stay within the quota", async () => {
  await using srv = await startServer();
  const quota = 1000;
  await setUser(srv, "alice", { home: "alice", quota });
  {
    await using alice = await srv.connect("alice");
    await put(alice, "x.bin", 800);
  }
  const conns = await Promise.all([0, 1, 2, 3].map(() => rawSession(srv.port, { user: "alice" })));
  try {
    // Two overwrites of the big file with 900 bytes, a new file, and a small overwrite.
    const plan: [string, number, boolean][] = [
      ["x.bin", 900, true],
      ["x.bin", 900, true],
      ["y.bin", 150, false],
      ["x.bin", 10, true],
    ];
    const answers = [];
    for (let i = 0; i < plan.length; i++) {
      const [path, size, overwrite] = plan[i];
      await conns[i].send({ op: "upload", path, size, overwrite, eager: false });
      answers.push(await conns[i].expectMessage());
    }
    for (let i = 0; i < plan.length; i++) {
      if (answers[i].status !== "ready") continue;
      await sendBody(conns[i], new Uint8Array(plan[i][1]).fill(i));
      await conns[i].expectMessage();
    }
    const used = await fileBytes(`${srv.root}/alice`);
    assert.ok(used <= quota, `alice holds ${used} bytes (${answers.map((a) => a.status)})`);
  } finally {
    for (const c of conns) c.close();
  }
});

Deno.test("homes: --max-upload and the quota hold against eager bodies, lying sizes and a user without a home", async () => {
  await using srv = await startServer({ maxUploadBytes: 1000 });
  await setUser(srv, "alice", { quota: 5000 }); // no home: the whole root counts
  await Deno.writeFile(`${srv.root}/others.bin`, new Uint8Array(4500));
  await using conn = await rawSession(srv.port, { user: "alice" });
  // An eager body over --max-upload is refused and drained.
  await conn.send({ op: "upload", path: "e.bin", size: 1001, overwrite: false, eager: true });
  await sendBody(conn, new Uint8Array(1001));
  const e = await conn.expectMessage();
  assert.equal(e.status, "error");
  assert.equal(e.reason, "too_large");
  // Within --max-upload but over what the shared root leaves of the quota.
  const q = await request(
    conn,
    { op: "upload", path: "q.bin", size: 600, overwrite: false, eager: false },
    new Uint8Array(600),
  );
  assert.equal(q.status, "error");
  assert.equal(q.reason, "quota");
  // Announced small, then more bytes than announced: refused, nothing kept.
  await using liar = await rawSession(srv.port, { user: "alice" });
  await liar.send({ op: "upload", path: "lie.bin", size: 10, overwrite: false, eager: false });
  assert.equal((await liar.expectMessage()).status, "ready");
  await liar.writeAll(encodeData(new Uint8Array(5000)));
  const lie = await liar.expectMessage().catch((err) => ({ status: "closed", err }));
  assert.notEqual(lie.status, "ok");
  const names = (await listTree(srv.root)).filter((p) => !p.startsWith("others"));
  assert.deepEqual(names, []);
});

// --- NATS: two servers on one bucket, prefix homes ------------------------------------------

Deno.test({
  name:
    "homes: on a shared NATS store, homes a/ab stay apart and a second server's commit is checked against the first's",
  ignore: natsServerPath() === null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await NatsCluster.start(1);
    const bucket = `r12-${crypto.randomUUID().slice(0, 8)}`;
    const cert = await testCertificate();
    const dir = await Deno.makeTempDir({ prefix: "fileshare-homes-nats-" });
    const opened: { close(): Promise<void> }[] = [];
    try {
      const setup = await KvUsersStorage.open({ servers: cluster.servers, bucket, replicas: 1 });
      opened.push(setup);
      const users = UsersFile.createIn(setup);
      await users.add("alice", USERS.alice.password, {
        home: "a",
        quota: 1000,
        iterations: 4096,
      });
      await users.add(CAROL.name, CAROL.password, { home: "ab", iterations: 4096 });
      await users.save();
      const ports: number[] = [];
      for (const n of [1, 2]) {
        const store = await NatsStore.open({
          servers: cluster.servers,
          bucket,
          replicas: 1,
          sweepIntervalMs: 0,
        });
        const storage = await KvUsersStorage.open({
          servers: cluster.servers,
          bucket,
          replicas: 1,
        });
        const log = await ActivityLog.open(`${dir}/log${n}.jsonl`);
        const server = FileshareServer.listen({
          hostname: "127.0.0.1",
          port: 0,
          idleTimeoutMs: 30_000,
          graceMs: 1_000,
          maxConnections: 64,
          serverName: `fileshare/nats${n}`,
          defaultIterations: 4096,
          authFailDelayMs: 0,
          tls: { cert: cert.cert, key: cert.key },
        }, { store, users: (await UsersFile.loadFrom(storage))!, log });
        ports.push(server.addr.port);
        opened.push({
          close: async () => {
            await server.shutdown();
            await store.close();
            await storage.close();
            await log.close();
          },
        });
      }
      // Carol's file in the home whose name has alice's as a prefix.
      {
        await using carol = await FileshareClient.connect({
          hostname: "127.0.0.1",
          port: ports[0],
          user: CAROL.name,
          password: CAROL.password,
          tls: { ca: cert.cert },
        });
        await put(carol, "secret.bin", 5000);
      }
      await using c1 = await rawSession(ports[0], { user: "alice" });
      await using c2 = await rawSession(ports[1], { user: "alice" });
      for (
        const p of ["../ab/secret.bin", "/ab/secret.bin", "b/secret.bin", "%2e%2e/ab/secret.bin"]
      ) {
        assert.notEqual((await request(c1, { op: "download", path: p })).status, "ok", p);
      }
      assert.deepEqual((await request(c1, { op: "dir", path: "" })).entries, []);
      assert.equal((await request(c1, { op: "df" })).used, 0, "carol's bytes in ab/ count for a/");
      // Both servers admit 600 of 1000 bytes; the second commit must see the first.
      const r1 = await admitted(c1, "one.bin", 600);
      const r2 = await admitted(c2, "two.bin", 600);
      assert.deepEqual([r1.status, r2.status], ["ready", "ready"]);
      await sendBody(c1, new Uint8Array(600).fill(1));
      assert.equal((await c1.expectMessage()).status, "ok");
      await sendBody(c2, new Uint8Array(600).fill(2));
      const second = await c2.expectMessage();
      assert.equal(second.status, "error", JSON.stringify(second));
      assert.equal(second.reason, "quota");
      assert.equal((await request(c1, { op: "df" })).used, 600);
      // Deleting from alice's home cannot reach ab/.
      assert.notEqual((await request(c1, { op: "rmdir", path: "", recursive: true })).status, "ok");
      await using carol = await FileshareClient.connect({
        hostname: "127.0.0.1",
        port: ports[1],
        user: CAROL.name,
        password: CAROL.password,
        tls: { ca: cert.cert },
      });
      assert.deepEqual((await carol.list()).map((e) => e.name), ["secret.bin"]);
    } finally {
      for (const o of opened.reverse()) await o.close().catch(() => {});
      await cluster.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// --- Homes inside homes, and a home taken away during a session ---------------------------

Deno.test("homes: user add and user set refuse a home inside, around or equal to another user's home", async () => {
  await using srv = await startServer();
  await setUser(srv, "alice", { home: "team", quota: 10_000 });
  // The administrator gives carol a home; the CLI accepts one nested in alice's.
  const add = await runTool(
    "server",
    [
      "user",
      "add",
      CAROL.name,
      "--home",
      "team/carol",
      "--password-stdin",
      "--users",
      srv.usersPath,
    ],
    { cwd: srv.dir, stdin: `${CAROL.password}\n` },
  );
  const refusedAtAdd = add.code !== 0;
  if (!refusedAtAdd) {
    {
      await using carol = await connectAs(srv, CAROL);
      await put(carol, "secret.bin", 100, false, 9);
    }
    await using alice = await srv.connect("alice");
    const got: string[] = [];
    if ((await alice.list("carol").catch(() => [])).some((e) => e.name === "secret.bin")) {
      got.push("listed");
    }
    if (await put(alice, "carol/secret.bin", 5, true).then(() => true, () => false)) {
      got.push("overwrote");
    }
    if (await alice.delete("carol/secret.bin").then(() => true, () => false)) got.push("deleted");
    assert.deepEqual(got, [], `alice ${got.join(", ")} carol's file`);
  }
});

Deno.test("homes: a home removed or replaced by a file during the session leaks no server path and lets nothing out", async () => {
  await using srv = await startServer();
  await setUser(srv, "alice", { home: "alice" });
  await using conn = await rawSession(srv.port, { user: "alice" });
  assert.equal((await request(conn, { op: "mkdir", path: "d" })).status, "ok");
  // Bob-like access to the root (here: the disk) takes the home away, then puts a file there.
  for (const step of ["removed", "file"]) {
    await Deno.remove(`${srv.root}/alice`, { recursive: true }).catch(() => {});
    if (step === "file") await Deno.writeTextFile(`${srv.root}/alice`, "not a folder");
    const before = await listTree(srv.root);
    const answers = [
      await request(conn, { op: "dir", path: "" }),
      await request(conn, { op: "df" }),
      await request(conn, { op: "mkdir", path: "x/y" }),
      await request(conn, { op: "download", path: "d" }),
      await request(conn, { op: "delete", path: "d" }),
      await request(
        conn,
        { op: "upload", path: "u.bin", size: 3, overwrite: true, eager: false },
        new Uint8Array(3),
      ),
    ];
    for (const a of answers) assertNoServerPath(srv, a);
    assert.deepEqual(await listTree(srv.root), before, step);
  }
});

Deno.test("homes: a folder in the home swapped for a link to another home while the user reads, lists and measures never leads out", async () => {
  await using srv = await startServer();
  await setUser(srv, "alice", { home: "alice", quota: 1_000_000 });
  await setUser(srv, CAROL.name, { home: "carol" }, CAROL.password);
  {
    await using carol = await connectAs(srv, CAROL);
    await put(carol, "f.bin", 50_000, false, 66);
  }
  {
    await using alice = await srv.connect("alice");
    await alice.mkdir("d");
    await put(alice, "d/f.bin", 10, false, 1);
  }
  const home = `${srv.root}/alice`;
  let stop = false;
  const swapper = (async () => {
    let i = 0;
    while (!stop) {
      // Real folder "d" <-> link "d" to carol's home (relative and absolute in turn).
      await Deno.rename(`${home}/d`, `${home}/d.real`);
      await Deno.symlink(i++ % 2 ? "../carol" : `${srv.root}/carol`, `${home}/d`);
      await new Promise((r) => setTimeout(r, 0));
      await Deno.remove(`${home}/d`);
      await Deno.rename(`${home}/d.real`, `${home}/d`);
      await new Promise((r) => setTimeout(r, 0));
    }
  })();
  await using conn = await rawSession(srv.port, { user: "alice" });
  const seen: string[] = [];
  const end = Date.now() + 2000;
  while (Date.now() < end) {
    const dl = await request(conn, { op: "download", path: "d/f.bin" });
    if (dl.status === "ok" && dl.size !== 10) seen.push(`download size ${dl.size}`);
    const dir = await request(conn, { op: "dir", path: "d" });
    if (dir.status === "ok") {
      for (const e of dir.entries as { size: number }[]) {
        if (e.size !== 10) seen.push(`dir size ${e.size}`);
      }
    }
    const df = await request(conn, { op: "df" });
    if (typeof df.used === "number" && df.used > 10) seen.push(`df ${df.used}`);
  }
  stop = true;
  await swapper;
  assert.deepEqual(seen, []);
  assert.equal((await Deno.stat(`${srv.root}/carol/f.bin`)).size, 50_000);
});

Deno.test("homes: the real CLI client cannot pass its quota by overwriting a link to its home (client upload --overwrite, then client df)", async () => {
  await using srv = await startServer();
  await setUser(srv, "alice", { home: "alice", quota: 1000 });
  await Deno.mkdir(`${srv.root}/alice`, { recursive: true });
  await Deno.writeFile(`${srv.root}/alice/big.bin`, new Uint8Array(900));
  await Deno.symlink(".", `${srv.root}/alice/self`);
  await Deno.writeFile(`${srv.dir}/local.bin`, new Uint8Array(1000).fill(3));
  const env = {
    FILESHARE_SERVER: `127.0.0.1:${srv.port}`,
    FILESHARE_USER: "alice",
    FILESHARE_PASSWORD: USERS.alice.password,
  };
  const client = (args: string[]) => runTool("client", args, { cwd: srv.dir, env });
  const plain = await client(["upload", `${srv.dir}/local.bin`, "plain.bin"]);
  assert.equal(plain.code, 1, "a 1000-byte upload into 100 free bytes is refused");
  const up = await client(["upload", `${srv.dir}/local.bin`, "self", "--overwrite"]);
  const df = await client(["df", "--json"]);
  assert.equal(df.code, 0, df.stderr);
  const used = JSON.parse(df.stdout).used;
  assert.ok(used <= 1000, `upload exit ${up.code}; df says used ${used} of a 1000-byte quota`);
});

Deno.test("homes: an upload with a missing, negative, fractional or unsafe size is refused before anything is written", async () => {
  await using srv = await startServer({ maxUploadBytes: 1000 });
  await setUser(srv, "alice", { home: "alice", quota: 1000 });
  // (null is a stream of unknown length since protocol version 2: limited while written.)
  for (const size of [undefined, -1, 1.5, 2 ** 53, "10"]) {
    await using conn = await rawSession(srv.port, { user: "alice" });
    await conn.send({ op: "upload", path: "n.bin", size, overwrite: false, eager: false });
    const r = await conn.expectMessage().catch(() => ({ status: "closed" }));
    assert.notEqual(r.status, "ready", `size ${size}`);
    assert.notEqual(r.status, "ok", `size ${size}`);
  }
  // Nothing written: no file anywhere (the home folder itself may or may not exist yet).
  assert.deepEqual((await listTree(`${srv.root}`)).filter((e) => !e.endsWith("/")), []);
});

Deno.test("homes: a stream upload of unknown length (upload -) is held to the quota while written", async () => {
  await using srv = await startServer();
  await setUser(srv, "alice", { home: "alice", quota: 1000 });
  const env = {
    FILESHARE_SERVER: `127.0.0.1:${srv.port}`,
    FILESHARE_USER: "alice",
    FILESHARE_PASSWORD: USERS.alice.password,
  };
  const stream = (name: string, bytes: number) =>
    runTool("client", ["upload", "-", name], { cwd: srv.dir, env, stdin: "x".repeat(bytes) });
  const small = await stream("small.txt", 600);
  assert.equal(small.code, 0, small.stderr);
  const big = await stream("big.txt", 600);
  assert.equal(big.code, 1, "600 more bytes into 400 free ones is refused");
  assert.match(big.stderr, /quota/i);
  assert.deepEqual(await listTree(`${srv.root}/alice`), ["small.txt"]);
});
