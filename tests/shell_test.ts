import assert from "node:assert/strict";
import { displayRemote, resolveRemote } from "../lib/commands/remote_path.ts";
import { quoteWord, splitWords } from "../lib/shell/words.ts";
import type { ProgressOutput } from "../lib/cli/progress.ts";
import { Shell, ShellExit } from "../lib/shell/shell.ts";
import { palette, useColor } from "../lib/cli/color.ts";
import {
  listTree,
  runTool,
  startServer,
  type TestServer,
  USERS,
  writeRandomFile,
} from "./_helpers.ts";

const pure = { permissions: "none" } as const;

Deno.test({
  ...pure,
  name: "resolveRemote() resolves against the remote folder and never leaves the root",
  fn() {
    const cases: [string, string, string][] = [
      ["", "a", "a"],
      ["photos", "a.jpg", "photos/a.jpg"],
      ["photos/2026", "..", "photos"],
      ["photos", "../music/x", "music/x"],
      ["photos", "/", ""],
      ["photos", "/docs//b/", "docs/b"],
      ["a/b", "../../../..", ""],
      ["a", "./b/./c", "a/b/c"],
      ["a", "..", ""],
    ];
    for (const [cwd, input, want] of cases) {
      assert.equal(resolveRemote(cwd, input), want, `${cwd} + ${input}`);
    }
    assert.equal(displayRemote(""), "/");
    assert.equal(displayRemote("a/b"), "/a/b");
  },
});

Deno.test({
  ...pure,
  name: "splitWords() handles quotes and escapes; quoteWord() round-trips",
  fn() {
    assert.deepEqual(splitWords('put "my file.txt" docs/'), ["put", "my file.txt", "docs/"]);
    assert.deepEqual(splitWords("get 'a \"b\"' c\\ d"), ["get", 'a "b"', "c d"]);
    assert.deepEqual(splitWords('x ""'), ["x", ""]);
    assert.deepEqual(splitWords("   "), []);
    assert.throws(() => splitWords('put "open'), SyntaxError);
    for (const name of ["plain.txt", "with space", 'q"uote', "ünï"]) {
      assert.deepEqual(splitWords(`cmd ${quoteWord(name)}`), ["cmd", name]);
    }
  },
});

function shellFor(
  srv: TestServer,
  localCwd: string,
  io: ReturnType<typeof capture>,
  progress: ProgressOutput | null = null,
): Shell {
  return new Shell({
    login: {
      hostname: "127.0.0.1",
      port: srv.port,
      user: "alice",
      password: USERS.alice.password,
      tls: srv.tls,
    },
    localCwd,
    progress,
    color: false,
    ...io.options,
  });
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    options: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) },
  };
}

Deno.test("Shell.execute() runs commands against the remote folder and goes on after an error", async () => {
  await using srv = await startServer();
  const local = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${local}/a file.txt`, "hello");
    const io = capture();
    const shell = shellFor(srv, local, io);
    try {
      const run = async (line: string) => await shell.execute(line);
      assert.equal(shell.prompt(), "alice@127.0.0.1:" + srv.port + ":/> ");
      assert.ok(await run("mkdir photos/2026"));
      assert.ok(await run("cd photos"));
      assert.equal(shell.prompt().endsWith(":/photos> "), true);
      assert.ok(await run('put "a file.txt"'));
      assert.equal(await Deno.readTextFile(`${srv.root}/photos/a file.txt`), "hello");
      assert.ok(await run("put 'a file.txt' 2026/"));
      assert.ok(await Deno.stat(`${srv.root}/photos/2026/a file.txt`));
      assert.equal(await run("put 'a file.txt'"), false, "exists without -f");
      assert.match(io.err.at(-1)!, /already exists \(use --overwrite\)/);
      assert.ok(await run("put -f 'a file.txt'"));
      assert.ok(await run("ls"));
      assert.match(io.out.at(-1)!, /2026\/\n.*a file\.txt/s);
      assert.ok(await run("cd 2026"));
      assert.ok(await run("pwd"));
      assert.equal(io.out.at(-1), "/photos/2026");
      assert.ok(await run("cd .."));
      assert.equal(shell.cwd, "photos");
      assert.equal(await run("cd nowhere"), false);
      assert.match(io.err.at(-1)!, /Cannot cd "nowhere": no such folder/);
      assert.equal(await run("cd 'a file.txt'"), false);
      assert.match(io.err.at(-1)!, /not a folder/);
      assert.equal(shell.cwd, "photos", "a failed cd stays put");
      await Deno.mkdir(`${local}/sub`);
      assert.ok(await run("lcd sub"));
      assert.equal(shell.localCwd, `${local}/sub`);
      assert.ok(await run("get 2026/'a file.txt'"));
      assert.equal(await Deno.readTextFile(`${local}/sub/a file.txt`), "hello");
      assert.equal(await run("get 2026/'a file.txt'"), false, "never overwrites locally");
      assert.ok(await run("lcd .."));
      assert.ok(await run("rm 'a file.txt'"));
      assert.equal(await run("rmdir /photos"), false);
      assert.match(io.err.at(-1)!, /not empty/);
      assert.ok(await run("rmdir -r /photos"));
      assert.equal(shell.cwd, "", "removing the current folder moves to its parent");
      assert.equal(await run("frobnicate"), false);
      assert.match(io.err.at(-1)!, /Unknown command "frobnicate"/);
      assert.equal(await run('put "unclosed'), false);
      assert.ok(await run("help"));
      assert.match(
        io.out.at(-1)!,
        /put \[-f\] \[-r\] \[-L\] \[--no-times\] LOCAL\.\.\. \[REMOTE\]/,
      );
      assert.ok(await run("help get"));
      assert.match(io.out.at(-1)!, /aliases: download/);
      assert.ok(await run("get --help"));
      assert.ok(await run("# a comment"));
      await assert.rejects(shell.execute("quit"), ShellExit);
      assert.deepEqual(await listTree(srv.root), []);
    } finally {
      shell.close();
    }
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("Shell.complete() completes commands and remote and local names", async () => {
  await using srv = await startServer();
  const local = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${srv.root}/photos`);
    await Deno.writeTextFile(`${srv.root}/photos/pic one.jpg`, "x");
    await Deno.writeTextFile(`${srv.root}/notes.txt`, "x");
    await Deno.writeTextFile(`${local}/local.txt`, "x");
    const io = capture();
    const shell = shellFor(srv, local, io);
    try {
      assert.deepEqual(await shell.complete("pw"), [["pwd "], "pw"]);
      assert.deepEqual((await shell.complete("l"))[0], ["lcd ", "lpwd ", "ls "]);
      assert.deepEqual(await shell.complete("cd p"), [["photos/"], "p"]);
      assert.deepEqual(await shell.complete("cd n"), [[], "n"], "cd completes folders only");
      assert.deepEqual(await shell.complete("get photos/pi"), [
        ['"photos/pic one.jpg" '],
        "photos/pi",
      ]);
      assert.deepEqual(
        await shell.complete("put lo"),
        [["local.txt "], "lo"],
        "put's first word is local",
      );
      // Every argument of put is a local name, every argument of get a remote one.
      assert.deepEqual(await shell.complete("put local.txt lo"), [["local.txt "], "lo"]);
      assert.deepEqual(await shell.complete("put local.txt n"), [[], "n"]);
      assert.deepEqual(await shell.complete("get notes.txt n"), [["notes.txt "], "n"]);
    } finally {
      shell.close();
    }
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("Shell.cancel() stops a running upload or download; the next command works", async () => {
  await using srv = await startServer();
  const local = await Deno.makeTempDir();
  try {
    await writeRandomFile(`${local}/big.bin`, 256 * 1024 * 1024);
    await writeRandomFile(`${srv.root}/remote.bin`, 256 * 1024 * 1024);
    const io = capture();
    const holder: { shell?: Shell } = {};
    const progress = {
      write: () => {
        holder.shell?.cancel();
      },
      columns: () => 80,
    };
    const shell = holder.shell = shellFor(srv, local, io, progress);
    try {
      assert.equal(await shell.execute("put big.bin"), false);
      assert.match(io.err.at(-1)!, /cancelled/);
      assert.deepEqual(await listTree(srv.root), ["remote.bin"], "no file and no temp file");
      assert.equal(await shell.execute("get remote.bin"), false);
      assert.match(io.err.at(-1)!, /cancelled/);
      assert.deepEqual((await listTree(local)).filter((n) => n !== "big.bin"), []);
      assert.equal(shell.busy, false);
      // The download's connection was closed; the shell reconnects by itself.
      assert.ok(await shell.execute("ls"));
      assert.match(io.out.at(-1)!, /remote\.bin/);
    } finally {
      shell.close();
    }
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("client reads a script from stdin: stops at the first failure unless --keep-going", async () => {
  await using srv = await startServer();
  const common = ["--server", `127.0.0.1:${srv.port}`, "--user", "alice"];
  const env = { FILESHARE_PASSWORD: USERS.alice.password };
  await Deno.writeTextFile(`${srv.dir}/up.txt`, "data");
  const script = "mkdir s\ncd s\nput up.txt\nrm missing.txt\nmkdir after\n";
  const stop = await runTool("client", common, { cwd: srv.dir, env, stdin: script });
  assert.equal(stop.code, 1);
  assert.match(stop.stdout, /created folder s\nuploaded s\/up\.txt/);
  assert.equal(stop.stderr.trim(), 'Cannot delete "s/missing.txt": not found');
  assert.deepEqual(await listTree(srv.root), ["s/", "s/up.txt"]);
  const go = await runTool("client", [...common, "--keep-going"], {
    cwd: srv.dir,
    env,
    stdin: script.replace("mkdir s\n", ""),
  });
  assert.equal(go.code, 1, "a failure still fails the run");
  assert.deepEqual(await listTree(srv.root), ["s/", "s/after/", "s/up.txt"]);
  const ok = await runTool("client", [...common, "--password-stdin"], {
    cwd: srv.dir,
    stdin: `${USERS.alice.password}\ncd s\nls\n`,
  });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /up\.txt/);
});

Deno.test("--json prints exactly one JSON value on stdout for every one-shot command", async () => {
  await using srv = await startServer();
  const common = ["--server", `127.0.0.1:${srv.port}`, "--user", "alice", "--json"];
  const env = { FILESHARE_PASSWORD: USERS.alice.password };
  await Deno.writeTextFile(`${srv.dir}/j.txt`, "json");
  const run = async (...args: string[]) => {
    const r = await runTool("client", [...common, ...args], { cwd: srv.dir, env });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  assert.deepEqual(await run("mkdir", "d"), { op: "mkdir", path: "d" });
  const up = await run("upload", "j.txt", "d/");
  assert.equal(up.op, "upload");
  assert.equal(up.remote, "d/j.txt");
  assert.equal(up.bytes, 4);
  assert.match(up.sha256, /^[0-9a-f]{64}$/);
  const ls = await run("dir", "d");
  assert.deepEqual(ls.map((e: { name: string }) => e.name), ["j.txt"]);
  const down = await run("download", "d/j.txt", "copy.txt");
  assert.equal(down.sha256, up.sha256);
  assert.deepEqual(await run("delete", "d/j.txt"), { op: "delete", path: "d/j.txt" });
  assert.deepEqual(await run("rmdir", "d"), { op: "rmdir", path: "d", recursive: false });
  const fail = await runTool("client", [...common, "delete", "nope"], { cwd: srv.dir, env });
  assert.equal(fail.code, 1);
  assert.equal(fail.stdout, "", "nothing on stdout when the command fails");
  assert.equal(fail.stderr, 'Cannot delete "nope": not found\n');
});

Deno.test("client COMMAND --help shows that command's help with examples", async () => {
  for (
    const [cmd, usage] of [["upload", "client upload LOCAL"], ["get", "client download REMOTE"], [
      "rmdir",
      "--recursive",
    ]]
  ) {
    const r = await runTool("client", [cmd, "--help"], { cwd: Deno.cwd() });
    assert.equal(r.code, 0);
    assert.ok(r.stdout.includes(usage), r.stdout);
    assert.match(r.stdout, /Examples:/);
  }
  const bench = await runTool("client", ["bench", "--help"], { cwd: Deno.cwd() });
  assert.match(bench.stdout, /Usage: client bench/);
});

Deno.test("useColor() colours only terminals, and never with NO_COLOR set", () => {
  const saved = Deno.env.get("NO_COLOR");
  try {
    Deno.env.delete("NO_COLOR");
    assert.equal(useColor(true), true);
    assert.equal(useColor(false), false);
    Deno.env.set("NO_COLOR", "1");
    assert.equal(useColor(true), false);
    assert.equal(palette(false).red("x"), "x");
    assert.equal(palette(true).red("x"), "\x1b[31mx\x1b[0m");
  } finally {
    if (saved === undefined) Deno.env.delete("NO_COLOR");
    else Deno.env.set("NO_COLOR", saved);
  }
});
