import assert from "node:assert/strict";
import { randomPassword, UsersError, UsersFile, validateUserName } from "../lib/auth/users.ts";
import { writeFileAtomic } from "../lib/atomic_file.ts";
import {
  b64,
  clientFinal,
  clientFirst,
  deriveCredentials,
  parseClientFirst,
  parseServerFirst,
  saltedPassword,
  serverFinal,
  serverFirst,
  unb64,
} from "../lib/auth/scram.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-users-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function usersError(fn: () => unknown, message: RegExp): Promise<void> | void {
  const check = (err: unknown) => {
    assert.ok(err instanceof UsersError, `expected UsersError, got ${err}`);
    assert.match(err.message, message);
    return true;
  };
  let out: unknown;
  try {
    out = fn();
  } catch (err) {
    check(err);
    return;
  }
  if (out instanceof Promise) return assert.rejects(out, check);
  assert.fail("expected a UsersError");
}

/** Runs a SCRAM login for `name`/`password` against the file's lookup(); true if accepted. */
async function login(users: UsersFile, name: string, password: string): Promise<boolean> {
  const first = clientFirst(name);
  const found = users.lookup(name, 4096);
  const state = serverFirst(parseClientFirst(first.message), found.credentials);
  const server = parseServerFirst(state.message, first.nonce);
  const salted = await saltedPassword(password, server.salt, server.iterations);
  const reply = serverFinal(state, clientFinal(first, server, salted).message);
  return reply !== null && found.exists;
}

Deno.test("UsersFile.save() writes only SCRAM keys, atomically, with mode 0600", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/users.json`;
    // A looser file already there must not keep its mode.
    await Deno.writeTextFile(path, "{}", { mode: 0o644 });
    await Deno.chmod(path, 0o644);
    const users = UsersFile.create(path);
    await users.add("alice", "alice secret ü", { iterations: 4096 });
    await users.add("bob", "bob secret", { iterations: 4096, readOnly: true });
    await users.save();
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir), (e) => e.name), ["users.json"]);
    const text = await Deno.readTextFile(path);
    assert.ok(!text.includes("alice secret") && !text.includes("bob secret"));
    const data = JSON.parse(text);
    assert.equal(data.version, 1);
    assert.equal(typeof data.secret, "string");
    assert.deepEqual(Object.keys(data.users.alice).sort(), [
      "created",
      "iterations",
      "readOnly",
      "salt",
      "serverKey",
      "storedKey",
    ]);
    assert.equal(data.users.bob.readOnly, true);
    assert.equal(data.users.alice.readOnly, false);
    assert.match(data.users.alice.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // The stored keys are exactly those of the password with the stored salt.
    const c = await deriveCredentials("alice secret ü", unb64(data.users.alice.salt), 4096);
    assert.equal(data.users.alice.storedKey, b64(c.storedKey));
    assert.equal(data.users.alice.serverKey, b64(c.serverKey));
    assert.notEqual(data.users.alice.salt, data.users.bob.salt, "salts are random per user");
  });
});

Deno.test("UsersFile.load() round-trips and reports missing and broken files", async (t) => {
  await withDir(async (dir) => {
    await t.step("missing file is null", async () => {
      assert.equal(await UsersFile.load(`${dir}/nope.json`), null);
    });
    await t.step("a saved file loads with its users", async () => {
      const users = UsersFile.create(`${dir}/u.json`);
      await users.add("carol", "pw", { iterations: 4096, readOnly: true });
      await users.save();
      const again = (await UsersFile.load(`${dir}/u.json`))!;
      assert.deepEqual(again.list().map((u) => [u.name, u.readOnly]), [["carol", true]]);
      assert.equal(await login(again, "carol", "pw"), true);
    });
    const broken: [string, string, RegExp][] = [
      ["not JSON", "{", /not valid JSON/],
      ["wrong version", '{"version":2,"secret":"AA==","users":{}}', /unknown format/],
      ["an array", "[]", /unknown format/],
      ["null", "null", /unknown format/],
      ["a bad entry", '{"version":1,"secret":"AA==","users":{"x":{"salt":1}}}', /bad entry/],
    ];
    for (const [name, text, re] of broken) {
      await t.step(name, async () => {
        await Deno.writeTextFile(`${dir}/bad.json`, text);
        await usersError(() => UsersFile.load(`${dir}/bad.json`), re);
      });
    }
  });
});

Deno.test({
  name: "UsersFile.add() validates the name, the password and the iteration count",
  permissions: "none",
  async fn(t) {
    const users = UsersFile.create("unused.json");
    await users.add("ok.name_1@x-y", "pw", { iterations: 4096 });
    await t.step("duplicate", () => usersError(() => users.add("ok.name_1@x-y", "pw"), /exists/));
    for (const bad of ["", " a", "a b", "-a", ".a", "a,b", "a=b", "a/b", "ü", "x".repeat(65)]) {
      await t.step(`name ${JSON.stringify(bad)}`, () => {
        usersError(() => validateUserName(bad), /Invalid user name/);
        return usersError(() => users.add(bad, "pw", { iterations: 4096 }), /Invalid user name/);
      });
    }
    await t.step("empty password", () => {
      return usersError(() => users.add("nopw", "", { iterations: 4096 }), /empty/);
    });
    await t.step("too few iterations", () => {
      return usersError(() => users.add("weak", "pw", { iterations: 4095 }), /at least 4096/);
    });
    assert.deepEqual(users.list().map((u) => u.name), ["ok.name_1@x-y"]);
  },
});

Deno.test({
  name: "UsersFile.passwd() changes keys only and remove() forgets the user",
  permissions: "none",
  async fn() {
    const users = UsersFile.create("unused.json");
    await users.add("dave", "old", { iterations: 4096, readOnly: true });
    const before = users.list()[0];
    await users.passwd("dave", "new", 4096);
    assert.deepEqual(users.list()[0], before, "read-only flag and creation time kept");
    assert.equal(await login(users, "dave", "new"), true);
    assert.equal(await login(users, "dave", "old"), false);
    await usersError(() => users.passwd("nobody", "x", 4096), /No user "nobody"/);
    users.remove("dave");
    assert.equal(users.has("dave"), false);
    assert.equal(await login(users, "dave", "new"), false);
    usersError(() => users.remove("dave"), /No user "dave"/);
  },
});

Deno.test({
  name: "UsersFile.lookup() gives unknown users a stable stand-in that never logs in",
  permissions: "none",
  async fn() {
    const users = UsersFile.create("unused.json");
    await users.add("erin", "pw", { iterations: 4096 });
    const a = users.lookup("ghost", 600_000);
    const b = users.lookup("ghost", 600_000);
    assert.equal(a.exists, false);
    assert.deepEqual(a.credentials, b.credentials, "same salt every time");
    // The count the real users share, whatever the server's default: a different count for
    // unknown names told them apart (issue 12).
    assert.equal(a.credentials.iterations, 4096, "the users' count, like a real user");
    assert.equal(a.credentials.iterations, users.lookup("erin").credentials.iterations);
    assert.equal(a.credentials.salt.length, 16, "as long as a real salt");
    assert.equal(a.credentials.salt.length, users.lookup("erin").credentials.salt.length);
    assert.notDeepEqual(users.lookup("ghost2").credentials.salt, a.credentials.salt);
    const other = UsersFile.create("unused.json");
    assert.notDeepEqual(other.lookup("ghost").credentials.salt, a.credentials.salt);
    // Inherited object keys are not users.
    for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
      assert.equal(users.lookup(name).exists, false, name);
      assert.equal(users.has(name), false, name);
    }
    assert.equal(await login(users, "ghost", "pw"), false);
    assert.equal(await login(users, "erin", "pw"), true);
    assert.equal(users.lookup("erin").exists, true);
  },
});

Deno.test("UsersFile.refresh() sees changes another process saved", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/users.json`;
    const server = UsersFile.create(path);
    await server.add("frank", "pw", { iterations: 4096 });
    await server.save();
    const admin = (await UsersFile.load(path))!;
    await admin.add("gina", "pw2", { iterations: 4096 });
    // Make sure the mtime differs even on coarse file systems.
    await new Promise((r) => setTimeout(r, 20));
    await admin.save();
    assert.equal(server.has("gina"), false);
    await server.refresh();
    assert.equal(server.has("gina"), true);
    assert.equal(await login(server, "gina", "pw2"), true);
  });
});

Deno.test("writeFileAtomic() replaces a file whole and leaves no temporary file", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/f.json`;
    await writeFileAtomic(path, "one", 0o600);
    await writeFileAtomic(path, "two", 0o600);
    assert.equal(await Deno.readTextFile(path), "two");
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir), (e) => e.name), ["f.json"]);
    await assert.rejects(writeFileAtomic(`${dir}/missing/f.json`, "x", 0o600));
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir), (e) => e.name), ["f.json"]);
  });
});

Deno.test({
  name: "randomPassword() gives 20 unambiguous characters, different every time",
  permissions: "none",
  fn() {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const pw = randomPassword();
      assert.match(pw, /^[A-HJ-NP-Za-km-z2-9]{20}$/);
      seen.add(pw);
    }
    assert.equal(seen.size, 200);
  },
});
