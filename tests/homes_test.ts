/**
 * Per-user homes: a user with a home works in that folder as their whole root, by every
 * command and against every path trick; a user without one sees the whole root as before.
 */
import assert from "node:assert/strict";
import type { FrameConn } from "../lib/protocol/conn.ts";
import { encodeData } from "./_frames.ts";
import {
  connectAs,
  listTree,
  rawSession,
  runTool,
  setUser,
  sha256File,
  startServer,
} from "./_helpers.ts";

const CAROL = { name: "carol", password: "carol-password-1" };
const SECRET = "carol's secret";

/** Sends one request on a raw session and reads its answer (sending an upload's body). */
async function request(
  conn: FrameConn,
  msg: Record<string, unknown>,
  body?: Uint8Array,
): Promise<Record<string, unknown>> {
  await conn.send(msg);
  if (body !== undefined) {
    const ready = await conn.expectMessage();
    if (ready.status !== "ready") return ready;
    await conn.writeAll(encodeData(body));
    const { createHash } = await import("node:crypto");
    await conn.send({ op: "end", sha256: createHash("sha256").update(body).digest("hex") });
  }
  if (msg.op === "download") {
    const head = await conn.expectMessage();
    if (head.status !== "ok") return head;
    // A download that started is a leak here: read it out so the session stays in step.
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

/** Bytes of the regular files below `dir`, links not followed. */
async function fileBytes(dir: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) n += (await Deno.lstat(`${dir}/${e.name}`)).size;
    else if (e.isDirectory) n += await fileBytes(`${dir}/${e.name}`);
  }
  return n;
}

/** Everything below the root except the attacker's own home. */
async function outsideHome(root: string, home: string): Promise<string[]> {
  return (await listTree(root)).filter((p) => p !== `${home}/` && !p.startsWith(`${home}/`));
}

Deno.test("Session confines a user with a home to it against every command and path trick", async () => {
  await using srv = await startServer();
  await setUser(srv, "alice", { home: "alice" });
  await setUser(srv, CAROL.name, { home: "carol" }, CAROL.password);
  // Carol's own file, uploaded by her into her home.
  {
    await using carol = await connectAs(srv, CAROL);
    await Deno.writeTextFile(`${srv.dir}/secret.txt`, SECRET);
    await carol.uploadFile(`${srv.dir}/secret.txt`, "secret.txt");
    assert.deepEqual((await carol.list()).map((e) => e.name), ["secret.txt"]);
  }
  await Deno.writeTextFile(`${srv.root}/shared.txt`, "admin file at the root");
  // Links a local administrator might leave inside alice's home, each leading out.
  await Deno.mkdir(`${srv.root}/alice`, { recursive: true });
  await Deno.symlink("../carol", `${srv.root}/alice/link`);
  await Deno.symlink(`${srv.root}/carol`, `${srv.root}/alice/abs`);
  await Deno.symlink("../carol/secret.txt", `${srv.root}/alice/file-link`);
  await Deno.symlink("..", `${srv.root}/alice/up`);
  const secret = await sha256File(`${srv.root}/carol/secret.txt`);
  {
    // Links leading out are not listed.
    await using alice = await srv.connect("alice");
    assert.deepEqual(await alice.list(), []);
  }
  const before = await outsideHome(srv.root, "alice");

  const tricks = [
    "../carol/secret.txt",
    "/carol/secret.txt",
    "carol/secret.txt",
    "./../carol/secret.txt",
    "a/../../carol/secret.txt",
    "..\\carol\\secret.txt",
    "%2e%2e/carol/secret.txt",
    "..%2fcarol%2fsecret.txt",
    "\u2025/carol/secret.txt",
    "\uff0e\uff0e/carol/secret.txt",
    "..\u0000/carol/secret.txt",
    "~carol/secret.txt",
    "link/secret.txt",
    "abs/secret.txt",
    "file-link",
    "up/carol/secret.txt",
    "up/shared.txt",
    "shared.txt",
  ];
  const conn = await rawSession(srv.port, { user: "alice" });
  try {
    // Reads first, while every link is still in place.
    for (const path of tricks) {
      const got = await request(conn, { op: "download", path });
      assert.equal(got.status, "error", `download ${JSON.stringify(path)}: ${JSON.stringify(got)}`);
      for (const folder of [path, path.replace(/\/?secret\.txt$/, "")]) {
        const dir = await request(conn, { op: "dir", path: folder });
        const names = ((dir.entries ?? []) as { name: string }[]).map((e) => e.name);
        assert.ok(!names.includes("secret.txt") && !names.includes("shared.txt"), folder);
      }
    }
    // Then every write: whatever it does, it stays in alice's home (deleting a link there
    // removes the link, never its target).
    for (const path of tricks) {
      await request(conn, { op: "delete", path });
      const body = new TextEncoder().encode("overwritten by alice");
      await request(
        conn,
        { op: "upload", path, size: body.length, overwrite: true, eager: false },
        body,
      );
      for (const folder of [path, path.replace(/\/?secret\.txt$/, "")]) {
        await request(conn, { op: "rmdir", path: folder, recursive: true });
        await request(conn, { op: "mkdir", path: `${folder}/new` });
      }
      assert.equal(await sha256File(`${srv.root}/carol/secret.txt`), secret, path);
      assert.deepEqual(await outsideHome(srv.root, "alice"), before, `after ${path}`);
    }
    const rm = await request(conn, { op: "rmdir", path: "", recursive: true });
    assert.equal(rm.code, "DENIED");
    assert.ok((await Deno.stat(`${srv.root}/alice`)).isDirectory);
  } finally {
    conn.close();
  }
  // Alice's own files work as usual, at her root.
  const alice = await srv.connect("alice");
  try {
    await Deno.writeTextFile(`${srv.dir}/mine.txt`, "alice's file");
    await alice.uploadFile(`${srv.dir}/mine.txt`, "mine.txt");
    await alice.mkdir("docs");
    await alice.uploadFile(`${srv.dir}/mine.txt`, "docs/mine.txt");
    assert.ok((await alice.list("")).some((e) => e.name === "mine.txt"));
    assert.equal(await Deno.readTextFile(`${srv.root}/alice/docs/mine.txt`), "alice's file");
    const err = await alice.downloadFile("../carol/secret.txt", `${srv.dir}/got.txt`).catch((
      e,
    ) => e);
    assert.match(String(err.message), /leaves the shared folder/);
    const df = await alice.df();
    assert.equal(df.used, await fileBytes(`${srv.root}/alice`), "usage counts only the home");
    assert.ok(df.used >= 2 * "alice's file".length);
  } finally {
    alice.close();
  }
  // Carol cannot see alice's files either; bob (no home) sees the whole root as before.
  {
    await using carol = await connectAs(srv, CAROL);
    assert.deepEqual((await carol.list()).map((e) => e.name), ["secret.txt"]);
    await assert.rejects(carol.list("alice"), /not found/);
    await using bob = await srv.connect("bob");
    const all = (await bob.list()).map((e) => e.name);
    for (const n of ["alice", "carol", "shared.txt"]) assert.ok(all.includes(n), n);
  }
  const logs = await srv.logLines();
  assert.ok(logs.some((l) => l.event === "auth_ok" && l.user === "alice" && l.home === "alice"));
  assert.ok(logs.some((l) => l.event === "auth_ok" && l.user === "bob" && !("home" in l)));
});

Deno.test("Session creates a missing home at login and refuses one that is a file", async () => {
  await using srv = await startServer();
  await setUser(srv, "alice", { home: "homes/alice" });
  {
    await using alice = await srv.connect("alice");
    assert.deepEqual(await alice.list(), []);
    assert.ok((await Deno.stat(`${srv.root}/homes/alice`)).isDirectory);
  }
  await Deno.writeTextFile(`${srv.root}/blocked`, "a file where a home should be");
  await setUser(srv, "alice", { home: "blocked" });
  const err = await srv.connect("alice").catch((e) => e);
  assert.ok(err instanceof Error);
  assert.match(err.message, /^Cannot open the home folder of "alice": .*is a file/);
  assert.ok(!err.message.includes("\n"));
  // Back to the whole root: the change applies at the next login.
  await setUser(srv, "alice", { home: null });
  await using alice = await srv.connect("alice");
  assert.deepEqual((await alice.list()).map((e) => e.name), ["blocked", "homes"]);
});

Deno.test("client as a child process is confined to the home of its user", async () => {
  await using srv = await startServer();
  await setUser(srv, CAROL.name, { home: "carol" }, CAROL.password);
  await setUser(srv, "alice", { home: "alice" });
  await Deno.mkdir(`${srv.root}/carol`);
  await Deno.writeTextFile(`${srv.root}/carol/secret.txt`, "carol's");
  const env = {
    FILESHARE_SERVER: `127.0.0.1:${srv.port}`,
    FILESHARE_USER: "alice",
    FILESHARE_PASSWORD: "alice-pw ünïcode",
  };
  const client = (args: string[]) => runTool("client", args, { cwd: srv.dir, env });
  for (const path of ["../carol/secret.txt", "/carol/secret.txt", "carol/secret.txt"]) {
    const r = await client(["download", path, `${srv.dir}/got.txt`]);
    assert.equal(r.code, 1, r.stdout);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  const ls = await client(["dir"]);
  assert.equal(ls.code, 0, ls.stderr);
  assert.equal(ls.stdout.trim(), "(empty)");
  const del = await client(["delete", "../carol/secret.txt"]);
  assert.equal(del.code, 1);
  assert.equal(await Deno.readTextFile(`${srv.root}/carol/secret.txt`), "carol's");
});

Deno.test("Session applies a changed home and quota to an open session at its next command", async () => {
  await using srv = await startServer();
  await Deno.mkdir(`${srv.root}/alice`);
  await Deno.writeTextFile(`${srv.root}/alice/mine.txt`, "mine");
  await Deno.writeTextFile(`${srv.root}/root.txt`, "root");
  await using alice = await srv.connect("alice");
  assert.deepEqual((await alice.list()).map((e) => e.name), ["alice", "root.txt"]);
  await setUser(srv, "alice", { home: "alice", quota: 100 });
  assert.deepEqual((await alice.list()).map((e) => e.name), ["mine.txt"], "re-rooted");
  assert.deepEqual(await alice.df(), { used: 4, quota: 100, free: 96, maxUpload: null });
  await assert.rejects(alice.downloadFile("../root.txt", `${srv.dir}/x`), /leaves the shared/);
  await setUser(srv, "alice", { home: null, quota: null });
  assert.deepEqual((await alice.list()).map((e) => e.name), ["alice", "root.txt"]);
  assert.equal((await alice.df()).quota, null);
});
