/**
 * `server user add/set` with homes, access and quotas, and users files from before homes
 * existed, which keep working unchanged.
 */
import assert from "node:assert/strict";
import { b64, deriveCredentials } from "../lib/auth/scram.ts";
import { UsersError, UsersFile } from "../lib/auth/users.ts";
import { FileshareClient } from "../lib/client/client.ts";
import { runTool, spawnServer } from "./_helpers.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-usrset-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A users file exactly as versions before homes wrote it (every field of that time). */
async function oldUsersFile(path: string, users: Record<string, string>): Promise<string> {
  const records: Record<string, unknown> = {};
  for (const [name, password] of Object.entries(users)) {
    const salt = new Uint8Array(16).fill(name.length);
    const c = await deriveCredentials(password, salt, 4096);
    records[name] = {
      salt: b64(c.salt),
      iterations: 4096,
      storedKey: b64(c.storedKey),
      serverKey: b64(c.serverKey),
      readOnly: name === "viewer",
      created: "2026-11-20T10:00:00.000Z",
    };
  }
  const text = JSON.stringify(
    { version: 1, secret: b64(new Uint8Array(32).fill(7)), users: records },
    null,
    2,
  ) + "\n";
  await Deno.writeTextFile(path, text);
  return text;
}

Deno.test("server with a users file from before homes serves it unchanged; user set adds fields", async () => {
  await withDir(async (dir) => {
    const users = { olduser: "old-password-1", viewer: "viewer-password" };
    const original = await oldUsersFile(`${dir}/users.json`, users);
    await Deno.mkdir(`${dir}/server_docs/team`, { recursive: true });
    await Deno.writeTextFile(`${dir}/server_docs/team/plan.txt`, "plan");
    {
      await using srv = await spawnServer(dir, ["--no-fsync"]);
      await using c = await FileshareClient.connect({
        hostname: "127.0.0.1",
        port: srv.port,
        user: "olduser",
        password: users.olduser,
        tls: srv.tls,
      });
      assert.equal(c.readOnly, false);
      assert.deepEqual((await c.list()).map((e) => e.name), ["team"], "the whole root, as before");
      assert.deepEqual(await c.df(), { used: 4, quota: null, free: null, maxUpload: null });
      await using v = await FileshareClient.connect({
        hostname: "127.0.0.1",
        port: srv.port,
        user: "viewer",
        password: users.viewer,
        tls: srv.tls,
      });
      assert.equal(v.readOnly, true);
    }
    assert.equal(await Deno.readTextFile(`${dir}/users.json`), original, "not rewritten");

    const set = await runTool("server", [
      "user",
      "set",
      "olduser",
      "--home",
      "team",
      "--quota",
      "1KiB",
    ], {
      cwd: dir,
    });
    assert.equal(set.code, 0, set.stderr);
    assert.equal(
      set.stdout.trim(),
      'Changed "olduser":  (home "team", quota 1.0 KiB (1024 bytes))',
    );
    const before = JSON.parse(original).users;
    const after = JSON.parse(await Deno.readTextFile(`${dir}/users.json`)).users;
    assert.deepEqual(after.viewer, before.viewer, "other users untouched");
    assert.deepEqual(after.olduser, { ...before.olduser, home: "team", quota: 1024 });
    {
      await using srv = await spawnServer(dir, ["--no-fsync"]);
      await using c = await FileshareClient.connect({
        hostname: "127.0.0.1",
        port: srv.port,
        user: "olduser",
        password: users.olduser,
        tls: srv.tls,
      });
      assert.deepEqual((await c.list()).map((e) => e.name), ["plan.txt"], "confined to team/");
      assert.deepEqual(await c.df(), { used: 4, quota: 1024, free: 1020, maxUpload: null });
    }
    const clear = await runTool("server", [
      "user",
      "set",
      "olduser",
      "--no-home",
      "--quota",
      "none",
      "--read-only",
    ], { cwd: dir });
    assert.equal(clear.code, 0, clear.stderr);
    const cleared = JSON.parse(await Deno.readTextFile(`${dir}/users.json`)).users.olduser;
    assert.deepEqual(cleared, { ...before.olduser, readOnly: true }, "back to the old shape");
  });
});

Deno.test("server user add --home --quota and user set validate and list the settings", async () => {
  await withDir(async (dir) => {
    const tool = (args: string[], stdin?: string) =>
      runTool("server", ["user", ...args, "--users", "u.json"], { cwd: dir, stdin });
    const add = await tool(
      [
        "add",
        "carol",
        "--home",
        "homes//carol/",
        "--quota",
        "10MB",
        "--password-stdin",
        "--iterations",
        "4096",
      ],
      "carol-password-1\n",
    );
    assert.equal(add.code, 0, add.stderr);
    const rec = JSON.parse(await Deno.readTextFile(`${dir}/u.json`)).users.carol;
    assert.equal(rec.home, "homes/carol", "normalised");
    assert.equal(rec.quota, 10_000_000);
    // Each refusal is one line; every setting is checked before a password is asked for.
    const refusals = [
      [
        ["set", "carol", "--home", "../escape"],
        /^Invalid home "\.\.\/escape": Path .* leaves the shared folder/,
      ],
      [
        ["set", "carol", "--quota", "lots", "--read-only", "--read-write"],
        /^Choose one of --read-only and --read-write/,
      ],
      [
        ["add", "dave", "--home", "/etc", "--password-stdin"],
        /^Invalid home "\/etc": Path "\/etc" is absolute/,
      ],
    ] as const;
    for (const [args, message] of refusals) {
      const r = await tool([...args], "dave-password-1\n");
      assert.notEqual(r.code, 0, args.join(" "));
      assert.match(r.stderr, message, args.join(" "));
    }
    const unchanged = JSON.parse(await Deno.readTextFile(`${dir}/u.json`)).users;
    assert.deepEqual(Object.keys(unchanged), ["carol"], "nothing added by a refused add");
    assert.deepEqual(unchanged.carol, rec, "nothing changed by refused sets");
    const ro = await tool(["set", "carol", "--read-only", "--home", "."]);
    assert.equal(ro.code, 0, ro.stderr);
    const list = await tool(["list"]);
    assert.equal(list.stdout.trim(), "carol  (read-only, quota 9.5 MiB (10000000 bytes))");
  });
});

Deno.test("UsersFile refuses a users file whose home or quota is malformed", async () => {
  await withDir(async (dir) => {
    const users = UsersFile.create(`${dir}/u.json`);
    await users.add("erin", "erin-password-1", { iterations: 4096, home: "e" });
    await users.save();
    const data = JSON.parse(await Deno.readTextFile(`${dir}/u.json`));
    for (
      const bad of [{ home: "../up" }, { home: "" }, { home: "/abs" }, { quota: -1 }, {
        quota: 1.5,
      }]
    ) {
      const text = JSON.stringify({ ...data, users: { erin: { ...data.users.erin, ...bad } } });
      await Deno.writeTextFile(`${dir}/bad.json`, text);
      await assert.rejects(UsersFile.load(`${dir}/bad.json`), UsersError, JSON.stringify(bad));
    }
    assert.equal((await UsersFile.load(`${dir}/u.json`))!.lookup("erin").home, "e");
  });
});
