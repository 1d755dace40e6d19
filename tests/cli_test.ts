import assert from "node:assert/strict";
import { ROOT, runTool, spawnServer, USERS, writeTestUsers } from "./_helpers.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-cli-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("server first start creates admin, prints the password once, never logs it", async () => {
  await withDir(async (dir) => {
    const srv = await spawnServer(dir);
    const out = srv.stdout();
    const m = /password:\s+(\S+)/.exec(out);
    assert.ok(m, out);
    const password = m[1];
    assert.match(out, /user add NAME/);
    // The printed password works.
    const ls = await runTool("client", [
      "--server",
      `127.0.0.1:${srv.port}`,
      "--user",
      "admin",
      "dir",
    ], {
      cwd: dir,
      env: { FILESHARE_PASSWORD: password },
    });
    assert.equal(ls.code, 0, ls.stderr);
    const stopped = await srv.stop("SIGINT");
    assert.equal(stopped.code, 0);
    const info = await Deno.stat(`${dir}/users.json`);
    assert.equal(info.mode! & 0o777, 0o600);
    assert.ok(!(await Deno.readTextFile(`${dir}/users.json`)).includes(password));
    const log = await Deno.readTextFile(`${dir}/fileshare.jsonl`);
    assert.ok(!log.includes(password));
    const events = log.trim().split("\n").map((l) => JSON.parse(l).event);
    assert.equal(events[0], "server_start");
    assert.equal(events.at(-1), "server_stop");
    assert.ok((await Deno.stat(`${dir}/server_docs`)).isDirectory, "default root under INIT_CWD");
    // A second start finds the users file and prints no password.
    const again = await spawnServer(dir);
    assert.doesNotMatch(again.stdout(), /password/);
    assert.equal((await again.stop("SIGTERM")).code, 0);
  });
});

Deno.test("server user add/list/passwd/remove manage the users file", async () => {
  await withDir(async (dir) => {
    const users = ["--users", "u.json"];
    const add = await runTool("server", [
      "user",
      "add",
      "carol",
      "--password-stdin",
      "--iterations",
      "4096",
      ...users,
    ], {
      cwd: dir,
      stdin: "carol-password\n",
    });
    assert.equal(add.code, 0, add.stderr);
    const ro = await runTool("server", [
      "user",
      "add",
      "dave",
      "--read-only",
      "--password-stdin",
      ...users,
    ], {
      cwd: dir,
      stdin: "dave-password\n",
    });
    assert.equal(ro.code, 0, ro.stderr);
    const text = await Deno.readTextFile(`${dir}/u.json`);
    assert.ok(
      !text.includes("carol-password") && !text.includes("dave-password"),
      "no passwords stored",
    );
    const data = JSON.parse(text);
    // Without --iterations a user gets the count the others share, so it cannot be told apart.
    assert.equal(data.users.dave.iterations, 4096, "the shared iteration count");
    assert.equal(data.iterations, 4096);
    assert.deepEqual(Object.keys(data.users.carol).sort(), [
      "created",
      "iterations",
      "readOnly",
      "salt",
      "serverKey",
      "storedKey",
    ]);
    assert.equal((await Deno.stat(`${dir}/u.json`)).mode! & 0o777, 0o600);
    const list = await runTool("server", ["user", "list", ...users], { cwd: dir });
    assert.equal(list.stdout, "carol\ndave  (read-only)\n");
    const dup = await runTool("server", ["user", "add", "carol", "--password-stdin", ...users], {
      cwd: dir,
      stdin: "x\n",
    });
    assert.equal(dup.code, 1);
    assert.equal(dup.stderr.trim(), 'User "carol" already exists');
    const bad = await runTool(
      "server",
      ["user", "add", "bad name!", "--password-stdin", ...users],
      {
        cwd: dir,
        stdin: "x\n",
      },
    );
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Invalid user name/);
    const noPw = await runTool("server", ["user", "add", "erin", ...users], { cwd: dir });
    assert.equal(noPw.code, 2, "no terminal and no --password-stdin is a usage error");

    // The new password works, the old one does not.
    const srv = await spawnServer(dir, ["--users", "u.json"]);
    try {
      const login = (pw: string) =>
        runTool("client", ["--server", `127.0.0.1:${srv.port}`, "--user", "carol", "ls"], {
          cwd: dir,
          env: { FILESHARE_PASSWORD: pw },
        });
      assert.equal((await login("carol-password")).code, 0);
      const pw = await runTool("server", [
        "user",
        "passwd",
        "carol",
        "--password-stdin",
        "--iterations",
        "4096",
        ...users,
      ], {
        cwd: dir,
        stdin: "new-password\n",
      });
      assert.equal(pw.code, 0, pw.stderr);
      // The running server picks the change up without a restart.
      assert.equal((await login("new-password")).code, 0);
      const old = await login("carol-password");
      assert.equal(old.code, 1);
      assert.equal(old.stderr.trim(), "Authentication failed: wrong user name or password");
      const rm = await runTool("server", ["user", "remove", "carol", ...users], { cwd: dir });
      assert.equal(rm.code, 0);
      assert.equal((await login("new-password")).code, 1);
    } finally {
      await srv.stop();
    }
  });
});

Deno.test("client commands as a child process: exit codes and one clear line", async (t) => {
  await withDir(async (dir) => {
    await writeTestUsers(`${dir}/users.json`);
    const srv = await spawnServer(dir);
    const conn = ["--server", `127.0.0.1:${srv.port}`, "--user", "alice"];
    const env = { FILESHARE_PASSWORD: USERS.alice.password };
    const client = (args: string[], extra: { env?: Record<string, string>; stdin?: string } = {}) =>
      runTool("client", [...conn, ...args], {
        cwd: dir,
        env: { ...env, ...extra.env },
        stdin: extra.stdin,
      });
    try {
      await Deno.mkdir(`${dir}/work`);
      await Deno.writeTextFile(`${dir}/work/a b ü.txt`, "abc<EOF>def");
      await t.step("upload resolves local paths against INIT_CWD", async () => {
        const r = await client(["upload", "work/a b ü.txt"]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^uploaded a b ü\.txt \(11 B\) in .*sha256 verified\n$/);
        assert.equal(await Deno.readTextFile(`${dir}/server_docs/a b ü.txt`), "abc<EOF>def");
      });
      await t.step("upload into a folder with a trailing slash", async () => {
        assert.equal((await client(["mkdir", "docs"])).code, 0);
        const r = await client(["put", "work/a b ü.txt", "docs/"]);
        assert.equal(r.code, 0, r.stderr);
        assert.ok((await Deno.stat(`${dir}/server_docs/docs/a b ü.txt`)).isFile);
      });
      await t.step("existing remote file: exit 1 with one line", async () => {
        const r = await client(["upload", "work/a b ü.txt"]);
        assert.equal(r.code, 1);
        assert.equal(
          r.stderr,
          'Cannot upload "a b ü.txt": file already exists (use --overwrite)\n',
        );
        assert.equal(r.stdout, "");
        assert.equal((await client(["upload", "work/a b ü.txt", "--overwrite"])).code, 0);
      });
      await t.step("dir --json prints one JSON array", async () => {
        const r = await client(["dir", "--json"]);
        assert.equal(r.code, 0);
        const entries = JSON.parse(r.stdout);
        assert.deepEqual(entries.map((e: { name: string }) => e.name), ["a b ü.txt", "docs"]);
        for (const e of entries) {
          assert.deepEqual(Object.keys(e).sort(), ["mtime", "name", "size", "type"]);
        }
        const ls = await client(["ls", "docs"]);
        assert.match(ls.stdout, /a b ü\.txt/);
      });
      await t.step(
        "download defaults to the base name in the current folder, never overwriting",
        async () => {
          const r = await client(["download", "docs/a b ü.txt"]);
          assert.equal(r.code, 0, r.stderr);
          assert.equal(await Deno.readTextFile(`${dir}/a b ü.txt`), "abc<EOF>def");
          const again = await client(["get", "docs/a b ü.txt"]);
          assert.equal(again.code, 1);
          assert.match(again.stderr, /exists \(use --overwrite\)\n$/);
          assert.equal(again.stderr.split("\n").length, 2);
          const into = await client(["download", "docs/a b ü.txt", "work"]);
          assert.equal(into.code, 1, "work/a b ü.txt exists already");
          const missing = await client(["download", "nope.txt"]);
          assert.equal(missing.code, 1);
          assert.equal(missing.stderr, 'Cannot download "nope.txt": not found\n');
          assert.equal(await Deno.stat(`${dir}/nope.txt`).then(() => true, () => false), false);
        },
      );
      await t.step("subfolder create|delete is an alias of mkdir/rmdir", async () => {
        assert.equal((await client(["subfolder", "create", "sub/deeper"])).code, 0);
        assert.ok((await Deno.stat(`${dir}/server_docs/sub/deeper`)).isDirectory);
        const notEmpty = await client(["subfolder", "delete", "sub"]);
        assert.equal(notEmpty.code, 1);
        assert.match(notEmpty.stderr, /not empty \(use --recursive\)/);
        assert.equal((await client(["subfolder", "delete", "sub", "--recursive"])).code, 0);
        assert.equal((await client(["subfolder", "rename", "x"])).code, 2);
      });
      await t.step("delete, and traversal refused", async () => {
        assert.equal((await client(["delete", "docs/a b ü.txt"])).code, 0);
        const r = await client(["delete", "../users.json"]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /leaves the shared folder/);
        assert.ok((await Deno.stat(`${dir}/users.json`)).isFile);
      });
      await t.step("password from --password-stdin", async () => {
        const r = await runTool("client", [...conn, "--password-stdin", "ls"], {
          cwd: dir,
          stdin: `${USERS.alice.password}\n`,
        });
        assert.equal(r.code, 0, r.stderr);
      });
      await t.step("wrong password and unknown user: exit 1, same line", async () => {
        const a = await client(["ls"], { env: { FILESHARE_PASSWORD: "wrong" } });
        const b = await runTool("client", [
          "--server",
          `127.0.0.1:${srv.port}`,
          "--user",
          "nobody",
          "ls",
        ], {
          cwd: dir,
          env: { FILESHARE_PASSWORD: "wrong" },
        });
        assert.equal(a.code, 1);
        assert.equal(a.stderr, b.stderr);
      });
      await t.step("read-only user refused on writes", async () => {
        const r = await runTool("client", [
          "--server",
          `127.0.0.1:${srv.port}`,
          "--user",
          "bob",
          "mkdir",
          "x",
        ], {
          cwd: dir,
          env: { FILESHARE_PASSWORD: USERS.bob.password },
        });
        assert.equal(r.code, 1);
        assert.match(r.stderr, /read-only/);
      });
      await t.step("FILESHARE_SERVER and FILESHARE_USER", async () => {
        const r = await runTool("client", ["ls"], {
          cwd: dir,
          env: { ...env, FILESHARE_SERVER: `127.0.0.1:${srv.port}`, FILESHARE_USER: "alice" },
        });
        assert.equal(r.code, 0, r.stderr);
      });
      await t.step("usage errors exit 2 with usage on stderr", async () => {
        for (
          const args of [["frobnicate"], ["upload"], ["dir", "a", "b"], ["--bogus", "ls"], [
            "--server",
            "x:99999",
            "ls",
          ]]
        ) {
          const r = await client(args);
          assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
          assert.match(r.stderr, /Usage: client/);
        }
        const noPw = await runTool("client", [...conn, "ls"], { cwd: dir });
        assert.equal(noPw.code, 2);
        assert.match(noPw.stderr, /No password/);
      });
      await t.step("an unreachable server is one clear line", async () => {
        const r = await runTool("client", ["--server", "127.0.0.1:1", "--user", "alice", "ls"], {
          cwd: dir,
          env,
        });
        assert.equal(r.code, 1);
        assert.match(r.stderr, /^Cannot connect to 127\.0\.0\.1:1: /);
      });
    } finally {
      assert.equal((await srv.stop("SIGTERM")).code, 0);
    }
  });
});

Deno.test("--help and --version, and bad server flags", async () => {
  await withDir(async (dir) => {
    for (const tool of ["server", "client"] as const) {
      const help = await runTool(tool, ["--help"], { cwd: dir });
      assert.equal(help.code, 0);
      assert.match(help.stdout, /Usage/);
    }
    const bad = await runTool("server", ["--port", "http"], { cwd: dir });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Invalid --port "http"/);
    const unknown = await runTool("server", ["--frobnicate"], { cwd: dir });
    assert.equal(unknown.code, 2);
  });
});

/** Asserts a failed run: exit 1, nothing on stdout, exactly one line on stderr. */
function oneLineFailure(r: { code: number; stdout: string; stderr: string }, re: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr.split("\n").length, 2, `one line: ${JSON.stringify(r.stderr)}`);
  assert.ok(r.stderr.endsWith("\n"));
  assert.match(r.stderr, re);
}

Deno.test("--version prints the deno.json version for both tools", async () => {
  const { default: config } = await import("../deno.json", { with: { type: "json" } });
  await withDir(async (dir) => {
    for (const tool of ["server", "client"] as const) {
      const r = await runTool(tool, ["--version"], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `fileshare ${tool} ${config.version}\n`);
    }
    const help = await runTool("server", ["user", "--help"], { cwd: dir });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /server user add NAME/);
    const cmdHelp = await runTool("client", ["download", "--help"], { cwd: dir });
    assert.equal(cmdHelp.code, 0);
    assert.match(cmdHelp.stdout, /^Usage: client download REMOTE/);
  });
});

/** Names the tools create by default, with the size and mtime of each (absent: null). */
async function projectFolderState(): Promise<Record<string, string | null>> {
  const state: Record<string, string | null> = {};
  for (
    const name of [
      "data",
      "logs",
      "conf",
      "server_docs",
      "users.json",
      "fileshare.jsonl",
      "server-cert.pem",
      "server-key.pem",
    ]
  ) {
    const info = await Deno.stat(`${ROOT}/${name}`).catch(() => null);
    state[name] = info && `${info.isDirectory ? "dir" : info.size} ${info.mtime?.getTime()}`;
  }
  return state;
}

Deno.test("server resolves relative --root, --users and --log against INIT_CWD", async () => {
  // A user may have run `deno task server` in the project folder before (README's first
  // command), which leaves server_docs/, users.json and fileshare.jsonl there: compare against
  // what was there, not against nothing.
  const before = await projectFolderState();
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/conf`);
    await Deno.mkdir(`${dir}/logs`);
    await writeTestUsers(`${dir}/conf/u.json`);
    const srv = await spawnServer(dir, [
      "--root",
      "data/shared",
      "--users",
      "conf/u.json",
      "--log",
      "logs/a.jsonl",
    ]);
    try {
      await Deno.writeTextFile(`${dir}/up.txt`, "from INIT_CWD");
      const r = await runTool("client", [
        "--server",
        `127.0.0.1:${srv.port}`,
        "--user",
        "alice",
        "upload",
        "up.txt",
      ], { cwd: dir, env: { FILESHARE_PASSWORD: USERS.alice.password } });
      assert.equal(r.code, 0, r.stderr);
    } finally {
      assert.equal((await srv.stop()).code, 0);
    }
    assert.equal(await Deno.readTextFile(`${dir}/data/shared/up.txt`), "from INIT_CWD");
    assert.match(await Deno.readTextFile(`${dir}/logs/a.jsonl`), /"event":"server_stop"/);
    assert.doesNotMatch(srv.stdout(), /password/, "the given users file was used");
    assert.deepEqual(await projectFolderState(), before, "the project folder was left alone");
  });
});

Deno.test("server user add/passwd refuse short passwords unless --allow-weak", async () => {
  await withDir(async (dir) => {
    const users = ["--users", "u.json"];
    const add = (name: string, password: string, extra: string[] = []) =>
      runTool("server", ["user", "add", name, "--password-stdin", ...extra, ...users], {
        cwd: dir,
        stdin: `${password}\n`,
      });
    const short = await add("erin", "nine-char");
    assert.equal(short.code, 2, short.stderr);
    assert.match(short.stderr, /^Password is too short: 9 characters, at least 10 are needed/);
    assert.match(short.stderr, /--allow-weak/);
    assert.equal(await Deno.stat(`${dir}/u.json`).then(() => true, () => false), false);
    // Ten characters, counted as characters and not bytes.
    assert.equal((await add("erin", "ten-chärs!", ["--iterations", "4096"])).code, 0);
    const weak = await add("frank", "pw", ["--allow-weak"]);
    assert.equal(weak.code, 0, weak.stderr);
    const passwd = (password: string, extra: string[] = []) =>
      runTool("server", ["user", "passwd", "erin", "--password-stdin", ...extra, ...users], {
        cwd: dir,
        stdin: `${password}\n`,
      });
    const before = await Deno.readTextFile(`${dir}/u.json`);
    const shortPasswd = await passwd("short");
    assert.equal(shortPasswd.code, 2);
    assert.match(shortPasswd.stderr, /^Password is too short: 5 characters/);
    assert.equal(await Deno.readTextFile(`${dir}/u.json`), before, "nothing changed");
    assert.equal((await passwd("short", ["--allow-weak"])).code, 0);
    // One iteration count for all: another count for one user would tell it exists.
    const other = await passwd("long enough pw", ["--iterations", "5000"]);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /every user shares one count \(4096\)/);
  });
});

Deno.test("server user commands fail with one line and the right exit code", async () => {
  await withDir(async (dir) => {
    const users = ["--users", "u.json"];
    oneLineFailure(
      await runTool("server", ["user", "remove", "ghost", ...users], { cwd: dir }),
      /^No user "ghost"$/m,
    );
    oneLineFailure(
      await runTool("server", ["user", "passwd", "ghost", "--password-stdin", ...users], {
        cwd: dir,
        stdin: "pw\n",
      }),
      /^No user "ghost"$/m,
    );
    const empty = await runTool("server", ["user", "add", "x", "--password-stdin", ...users], {
      cwd: dir,
      stdin: "\n",
    });
    assert.equal(empty.code, 2, "an empty password line is a usage error");
    const low = await runTool("server", [
      "user",
      "add",
      "x",
      "--password-stdin",
      "--iterations",
      "1000",
      ...users,
    ], { cwd: dir, stdin: "pw\n" });
    assert.equal(low.code, 2);
    assert.match(low.stderr, /--iterations/);
    assert.equal((await runTool("server", ["user", "frobnicate"], { cwd: dir })).code, 2);
    assert.equal((await runTool("server", ["user"], { cwd: dir })).code, 2);
    assert.equal(await Deno.stat(`${dir}/u.json`).then(() => true, () => false), false);
    // A list of a missing file is empty, not an error.
    const list = await runTool("server", ["user", "list", ...users], { cwd: dir });
    assert.equal(list.code, 0);
    assert.equal(list.stdout, "");
  });
});

Deno.test("server refuses to start on a broken users file, with one line", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/users.json`, "{not json");
    const r = await runTool("server", ["--port", "0", "--host", "127.0.0.1"], { cwd: dir });
    oneLineFailure(r, /users\.json" is not valid JSON/);
    assert.equal(await Deno.readTextFile(`${dir}/users.json`), "{not json", "left as it was");
  });
});

Deno.test("first start prints the admin password only on stdout, once", async () => {
  await withDir(async (dir) => {
    const srv = await spawnServer(dir, ["--log", "first.jsonl"]);
    const stopped = await srv.stop();
    assert.equal(stopped.code, 0);
    const m = /password:\s+(\S+)/.exec(stopped.stdout);
    assert.ok(m, stopped.stdout);
    const password = m[1];
    assert.equal(stopped.stdout.split(password).length, 2, "printed exactly once");
    assert.ok(!stopped.stderr.includes(password));
    assert.ok(!(await Deno.readTextFile(`${dir}/first.jsonl`)).includes(password));
    assert.ok(!(await Deno.readTextFile(`${dir}/users.json`)).includes(password));
    assert.equal((await Deno.stat(`${dir}/users.json`)).mode! & 0o777, 0o600);
    const users = JSON.parse(await Deno.readTextFile(`${dir}/users.json`)).users;
    assert.deepEqual(Object.keys(users), ["admin"]);
    assert.equal(users.admin.readOnly, false);
    assert.ok(users.admin.iterations >= 600_000, "default iterations");
  });
});

Deno.test("client as a child process: downloads, failures and aliases", async (t) => {
  await withDir(async (dir) => {
    await writeTestUsers(`${dir}/users.json`);
    const srv = await spawnServer(dir);
    const client = (args: string[], user: "alice" | "bob" = "alice") =>
      runTool("client", ["--server", `127.0.0.1:${srv.port}`, "--user", user, ...args], {
        cwd: dir,
        env: { FILESHARE_PASSWORD: USERS[user].password },
      });
    try {
      await Deno.mkdir(`${dir}/server_docs/docs`);
      await Deno.writeTextFile(`${dir}/server_docs/docs/r.txt`, "remote v1");
      await t.step("download never silently overwrites a local file", async () => {
        await Deno.writeTextFile(`${dir}/r.txt`, "precious local");
        oneLineFailure(
          await client(["download", "docs/r.txt"]),
          /^Cannot download "docs\/r\.txt": local file ".*r\.txt" exists \(use --overwrite\)$/m,
        );
        assert.equal(await Deno.readTextFile(`${dir}/r.txt`), "precious local");
        const ok = await client(["download", "docs/r.txt", "--overwrite"]);
        assert.equal(ok.code, 0, ok.stderr);
        assert.equal(await Deno.readTextFile(`${dir}/r.txt`), "remote v1");
        const named = await client(["download", "docs/r.txt", "copy.txt"]);
        assert.equal(named.code, 0, named.stderr);
        assert.equal(await Deno.readTextFile(`${dir}/copy.txt`), "remote v1");
        assert.deepEqual(
          [...Deno.readDirSync(dir)].filter((e) => e.name.includes("fileshare-part")),
          [],
        );
      });
      await t.step("failures are one line that names the cause", async () => {
        oneLineFailure(
          await client(["upload", "no-such-file.txt"]),
          /^Cannot upload "no-such-file\.txt": local file not found$/m,
        );
        oneLineFailure(await client(["delete", "docs/missing"]), /not found/);
        oneLineFailure(await client(["rmdir", "docs"]), /not empty \(use --recursive\)/);
        oneLineFailure(await client(["delete", "docs"]), /is a folder/);
        oneLineFailure(await client(["upload", "r.txt", "docs/r.txt"], "bob"), /read-only/);
        oneLineFailure(await client(["ls", "/etc"]), /absolute/);
        oneLineFailure(await client(["download", "docs/missing", `nowhere/x.txt`]), /x\.txt/);
        assert.equal(await Deno.readTextFile(`${dir}/server_docs/docs/r.txt`), "remote v1");
      });
      await t.step("subfolder create|delete and rmdir -r", async () => {
        assert.equal((await client(["subfolder", "create", "a/b/c"])).code, 0);
        assert.ok((await Deno.stat(`${dir}/server_docs/a/b/c`)).isDirectory);
        assert.equal((await client(["subfolder", "delete", "a/b/c"])).code, 0);
        assert.equal(
          await Deno.stat(`${dir}/server_docs/a/b/c`).then(() => true, () => false),
          false,
        );
        assert.equal((await client(["subfolder"])).code, 2);
        assert.equal((await client(["subfolder", "create"])).code, 2);
        assert.equal((await client(["rmdir", "a", "-r"])).code, 0);
        assert.equal(await Deno.stat(`${dir}/server_docs/a`).then(() => true, () => false), false);
        const root = await client(["subfolder", "delete", ".", "--recursive"]);
        oneLineFailure(root, /cannot be removed/);
        assert.ok((await Deno.stat(`${dir}/server_docs/docs/r.txt`)).isFile);
      });
      await t.step("dir prints type, size, mtime and name", async () => {
        const r = await client(["dir", "docs"]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^-\s+9 B\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+r\.txt\n$/);
        const json = JSON.parse((await client(["ls", "--json"])).stdout);
        assert.deepEqual(json.map((e: { name: string; type: string }) => [e.name, e.type]), [[
          "docs",
          "dir",
        ]]);
      });
    } finally {
      assert.equal((await srv.stop("SIGTERM")).code, 0);
    }
  });
});
