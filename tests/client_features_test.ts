/**
 * The client's everyday capabilities as a user meets them: a real server, the real client as a
 * child process with its deno.json permission set.
 */
import assert from "node:assert/strict";
import { listTree, runTool, startServer, type TestServer, USERS, waitFor } from "./_helpers.ts";

/** Runs the client CLI as alice (or `user`) against `srv`, from `srv.dir`. */
function clientOf(srv: TestServer, user: keyof typeof USERS = "alice") {
  const common = ["--server", `127.0.0.1:${srv.port}`, "--user", user];
  const env = { FILESHARE_PASSWORD: USERS[user].password };
  return (args: string[], stdin?: string) =>
    runTool("client", [...common, ...args], { cwd: srv.dir, env, stdin });
}

Deno.test("client rename moves files and folders on the server, as the shell's mv", async (t) => {
  await using srv = await startServer();
  const client = clientOf(srv);
  await Deno.mkdir(`${srv.root}/docs/old`, { recursive: true });
  await Deno.writeTextFile(`${srv.root}/docs/draft.txt`, "draft");
  await Deno.writeTextFile(`${srv.root}/docs/old/a.txt`, "a");
  await Deno.writeTextFile(`${srv.root}/final.txt`, "keep");

  await t.step("a file, and a folder with what is in it", async () => {
    const r = await client(["rename", "docs/draft.txt", "docs/plan.txt"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "renamed docs/draft.txt to docs/plan.txt\n");
    assert.equal((await client(["mkdir", "archive"])).code, 0);
    const dir = await client(["rename", "docs/old", "archive/"]);
    assert.equal(dir.code, 0, dir.stderr);
    assert.deepEqual(await listTree(srv.root), [
      "archive/",
      "archive/old/",
      "archive/old/a.txt",
      "docs/",
      "docs/plan.txt",
      "final.txt",
    ]);
  });

  await t.step("an existing target is replaced only with --overwrite", async () => {
    const r = await client(["rename", "docs/plan.txt", "final.txt"]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'Cannot rename "docs/plan.txt" to "final.txt": file already exists (use --overwrite)\n',
    );
    assert.equal(await Deno.readTextFile(`${srv.root}/final.txt`), "keep");
    assert.equal((await client(["rename", "docs/plan.txt", "final.txt", "--overwrite"])).code, 0);
    assert.equal(await Deno.readTextFile(`${srv.root}/final.txt`), "draft");
    const folder = await client(["rename", "final.txt", "archive", "--overwrite"]);
    assert.equal(folder.code, 1);
    assert.match(folder.stderr, /a folder has that name/);
  });

  await t.step("confined to the root; read-only users refused", async () => {
    const up = await client(["rename", "final.txt", "../outside.txt"]);
    assert.equal(up.code, 1);
    assert.match(up.stderr, /Cannot rename "final.txt"/);
    await Deno.symlink("/tmp", `${srv.root}/escape`);
    const link = await client(["rename", "final.txt", "escape/x.txt"]);
    assert.equal(link.code, 1);
    assert.match(link.stderr, /outside the shared folder/);
    const bob = await clientOf(srv, "bob")(["rename", "final.txt", "bob.txt"]);
    assert.equal(bob.code, 1);
    assert.match(bob.stderr, /read-only/);
    await Deno.remove(`${srv.root}/escape`);
    assert.deepEqual(await listTree(srv.root), [
      "archive/",
      "archive/old/",
      "archive/old/a.txt",
      "docs/",
      "final.txt",
    ]);
  });

  await t.step("the shell's mv and rename, relative to its folder", async () => {
    const r = await client([], "cd archive\nmv old new\nrename new/a.txt b.txt\nls -R\n");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /renamed archive\/old to archive\/new/);
    assert.match(r.stdout, /renamed archive\/new\/a\.txt to archive\/b\.txt/);
    assert.deepEqual(await listTree(`${srv.root}/archive`), ["b.txt", "new/"]);
  });

  await t.step("logged as its own event and counted by analysis", async () => {
    const lines = await srv.logLines();
    const renames = lines.filter((l) => l.event === "rename");
    assert.equal(renames.length, 10);
    assert.deepEqual(
      renames.filter((l) => l.ok).map((l) => [l.path, l.to]),
      [
        ["docs/draft.txt", "docs/plan.txt"],
        ["docs/old", "archive/old"],
        ["docs/plan.txt", "final.txt"],
        ["archive/old", "archive/new"],
        ["archive/new/a.txt", "archive/b.txt"],
      ],
    );
    await srv.log.flush();
    const analysis = await runTool("analysis", [srv.logPath, "--format", "json"], {
      cwd: srv.dir,
    });
    assert.equal(analysis.code, 0, analysis.stderr);
    assert.equal(JSON.parse(analysis.stdout).events.rename, 10);
  });
});

Deno.test("client dir -l shows bytes, times and types; -R every folder below", async () => {
  await using srv = await startServer();
  const client = clientOf(srv);
  await Deno.mkdir(`${srv.root}/p/q`, { recursive: true });
  await Deno.writeFile(`${srv.root}/p/big.bin`, new Uint8Array(123_456));
  await Deno.writeTextFile(`${srv.root}/p/q/n.txt`, "12345");
  const when = new Date("2024-02-03T04:05:06Z");
  await Deno.utime(`${srv.root}/p/big.bin`, when, when);
  const long = await client(["dir", "-l", "p"]);
  assert.equal(long.code, 0, long.stderr);
  const lines = long.stdout.trimEnd().split("\n");
  assert.equal(lines[0], "file  123456  2024-02-03 04:05:06Z  big.bin");
  assert.match(lines[1], /^dir +0 {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ {2}q\/$/);
  const tree = await client(["dir", "--recursive", "p"]);
  assert.equal(tree.code, 0, tree.stderr);
  assert.match(tree.stdout, /^p:\n.*big\.bin\n.*q\/\n\np\/q:\n.*n\.txt\n$/);
  const json = await client(["--json", "ls", "-lR"]);
  assert.deepEqual(
    JSON.parse(json.stdout).map((e: { path: string; size: number }) => [e.path, e.size]),
    [["p", 0], ["p/big.bin", 123456], ["p/q", 0], ["p/q/n.txt", 5]],
  );
  const shell = await client([], "cd p\nls -lR\n");
  assert.equal(shell.code, 0, shell.stderr);
  assert.match(
    shell.stdout,
    /^p:\nfile {2}123456 .*big\.bin\ndir +0 .*q\/\n\np\/q:\nfile {2}5 .*n\.txt\n$/,
  );
});

/** Sets a file's modification time. */
async function age(path: string, iso: string): Promise<void> {
  await Deno.utime(path, new Date(), new Date(iso));
}

Deno.test("client upload -r and download -r move whole folders; one failure, the rest go on", async (t) => {
  await using srv = await startServer();
  const client = clientOf(srv);
  const src = `${srv.dir}/site`;
  await Deno.mkdir(`${src}/css/empty`, { recursive: true });
  await Deno.mkdir(`${src}/img`, { recursive: true });
  await Deno.writeTextFile(`${src}/index.html`, "<h1>hi</h1>");
  await Deno.writeTextFile(`${src}/css/a.css`, "a{}");
  await Deno.writeFile(`${src}/img/big.bin`, new Uint8Array(700_000).fill(7));
  for (let i = 0; i < 40; i++) await Deno.writeTextFile(`${src}/img/s${i}.txt`, `small ${i}`);
  await Deno.symlink(`${src}/index.html`, `${src}/link.html`);
  await age(`${src}/css/a.css`, "2020-05-06T07:08:09Z");

  await t.step("upload -r: every file, folders created, symlink skipped and counted", async () => {
    const r = await client(["upload", "-r", "site", "www"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^uploaded 43 files \(6\d\d KiB\) in .*; 1 skipped, 0 failed\n$/);
    assert.match(r.stderr, /skipped "site\/link\.html": symlink \(use --follow-symlinks\)/);
    const names = await listTree(`${srv.root}/www`);
    assert.equal(names.length, 43 + 3);
    assert.ok(names.includes("css/empty/"));
    assert.ok(!names.includes("link.html"));
    assert.equal((await Deno.stat(`${srv.root}/www/img/big.bin`)).size, 700_000);
    assert.equal(
      (await Deno.stat(`${srv.root}/www/css/a.css`)).mtime?.toISOString(),
      "2020-05-06T07:08:09.000Z",
    );
  });

  await t.step("a file that fails is reported, the rest go on, exit status 1", async () => {
    await Deno.writeTextFile(`${src}/new.txt`, "new");
    const r = await client(["upload", "-r", "--follow-symlinks", "site", "www"]);
    assert.equal(r.code, 1);
    // Everything but new.txt and link.html exists already (no --overwrite).
    assert.match(r.stdout, /^uploaded 2 files .*; 0 skipped, 43 failed\n$/);
    assert.match(r.stderr, /Cannot upload "www\/index\.html": file already exists/);
    assert.match(r.stderr, /43 of 45 files failed\n$/);
    assert.equal(await Deno.readTextFile(`${srv.root}/www/link.html`), "<h1>hi</h1>");
  });

  await t.step("download -r: the folder back, verified, with the server's times", async () => {
    const r = await client(["download", "-r", "www", "copy"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^downloaded 45 files .*; 0 skipped, 0 failed\n$/);
    assert.deepEqual(await listTree(`${srv.dir}/copy`), await listTree(`${srv.root}/www`));
    assert.equal(await Deno.readTextFile(`${srv.dir}/copy/img/s39.txt`), "small 39");
    assert.equal(
      (await Deno.stat(`${srv.dir}/copy/css/a.css`)).mtime?.toISOString(),
      "2020-05-06T07:08:09.000Z",
    );
    const again = await client(["download", "-r", "www", "copy"]);
    assert.equal(again.code, 0, "an existing folder is downloaded into");
    assert.ok((await Deno.stat(`${srv.dir}/copy/www/index.html`)).isFile);
  });
});

Deno.test("client upload/download of several files and wildcards; shell mput/mget", async () => {
  await using srv = await startServer();
  const client = clientOf(srv);
  for (const n of ["a.txt", "b.txt", "c.md", "d1.log", "d2.log", "dx.log"]) {
    await Deno.writeTextFile(`${srv.dir}/${n}`, n);
  }
  assert.equal((await client(["mkdir", "docs"])).code, 0);
  const up = await client(["upload", "a.txt", "b.txt", "c.md", "docs/"]);
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stdout, /^uploaded 3 files/);
  assert.deepEqual(await listTree(`${srv.root}/docs`), ["a.txt", "b.txt", "c.md"]);
  const glob = await client(["upload", "d[0-9].log", "docs"]);
  assert.equal(glob.code, 0, glob.stderr);
  assert.deepEqual(await listTree(`${srv.root}/docs`), [
    "a.txt",
    "b.txt",
    "c.md",
    "d1.log",
    "d2.log",
  ]);
  await Deno.mkdir(`${srv.dir}/out`);
  const down = await client(["download", "docs/a.txt", "docs/c.md", "out/"]);
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(await listTree(`${srv.dir}/out`), ["a.txt", "c.md"]);
  const remoteGlob = await client(["download", "docs/*.log", "out"]);
  assert.equal(remoteGlob.code, 0, remoteGlob.stderr);
  assert.deepEqual(await listTree(`${srv.dir}/out`), ["a.txt", "c.md", "d1.log", "d2.log"]);
  const none = await client(["download", "docs/*.pdf", "out"]);
  assert.equal(none.code, 1);
  assert.equal(none.stderr, 'No remote file matches "docs/*.pdf"\n');

  await Deno.mkdir(`${srv.dir}/shell`);
  const shell = await client([], "mkdir s\ncd s\nmput ?.txt dx.*\nlcd shell\nmget *.txt\nls\n");
  assert.equal(shell.code, 0, shell.stderr);
  assert.deepEqual(await listTree(`${srv.root}/s`), ["a.txt", "b.txt", "dx.log"]);
  assert.deepEqual(await listTree(`${srv.dir}/shell`), ["a.txt", "b.txt"]);
});

Deno.test("client upload and download of several files make a missing destination folder, on either side", async () => {
  await using srv = await startServer();
  const client = clientOf(srv);
  for (const n of ["q1.pdf", "q2.pdf"]) await Deno.writeTextFile(`${srv.dir}/${n}`, n);
  const up = await client(["upload", "q[1-4].pdf", "reports/2026/"]);
  assert.equal(up.code, 0, up.stderr);
  assert.deepEqual(await listTree(`${srv.root}/reports`), ["2026/", "2026/q1.pdf", "2026/q2.pdf"]);
  const down = await client(["download", "reports/2026/*.pdf", "pdfs/"]);
  assert.equal(down.code, 0, down.stderr);
  assert.match(down.stdout, /^downloaded 2 files/);
  assert.deepEqual(await listTree(`${srv.dir}/pdfs`), ["q1.pdf", "q2.pdf"]);
  // A folder named with a final "/" is one to download into, as upload -r does remotely.
  const tree = await client(["download", "-r", "reports", "restore/"]);
  assert.equal(tree.code, 0, tree.stderr);
  assert.deepEqual(await listTree(`${srv.dir}/restore`), [
    "reports/",
    "reports/2026/",
    "reports/2026/q1.pdf",
    "reports/2026/q2.pdf",
  ]);
  const onFile = await client(["download", "reports/2026/*.pdf", "q1.pdf"]);
  assert.equal(onFile.code, 1);
  assert.equal(onFile.stderr, 'Cannot download into "q1.pdf": not a folder\n');
});

Deno.test("client streams: tar c | upload - backup.tar, download backup.tar - | tar x", async () => {
  await using srv = await startServer();
  const common = ["--server", `127.0.0.1:${srv.port}`, "--user", "alice"];
  const env = { FILESHARE_PASSWORD: USERS.alice.password };
  await Deno.mkdir(`${srv.dir}/tree/sub`, { recursive: true });
  await Deno.writeFile(
    `${srv.dir}/tree/sub/blob.bin`,
    crypto.getRandomValues(new Uint8Array(65536)),
  );
  await Deno.writeFile(`${srv.dir}/tree/big.bin`, new Uint8Array(3 * 1024 * 1024).fill(1));
  await Deno.writeTextFile(`${srv.dir}/tree/note.txt`, "stream me");
  // The client runs as the last command of a shell pipeline, exactly as a user types it.
  const up = await runTool("client", [...common, "upload", "-", "backup.tar"], {
    cwd: srv.dir,
    env,
    wrapper: ["bash", "-c", `set -o pipefail; tar c -C "${srv.dir}" tree | "$0" "$@"`],
  });
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stdout, /^uploaded backup\.tar \(3\.\d MiB\) in .*sha256 verified\n$/);
  const stored = await Deno.stat(`${srv.root}/backup.tar`);
  assert.ok(stored.size > 3 * 1024 * 1024);
  await Deno.mkdir(`${srv.dir}/restore`);
  const down = await runTool("client", [...common, "download", "backup.tar", "-"], {
    cwd: srv.dir,
    env,
    wrapper: ["bash", "-c", `set -o pipefail; "$0" "$@" | tar x -C "${srv.dir}/restore"`],
  });
  assert.equal(down.code, 0, down.stderr);
  assert.equal(down.stdout, "", "stdout carried only the file, into tar");
  assert.match(down.stderr, /downloaded backup\.tar .* sha256 verified/);
  for (const f of ["sub/blob.bin", "big.bin", "note.txt"]) {
    assert.deepEqual(
      await Deno.readFile(`${srv.dir}/restore/tree/${f}`),
      await Deno.readFile(`${srv.dir}/tree/${f}`),
      f,
    );
  }
  // A stream that breaks off (the client stopped mid-body) leaves nothing.
  const broken = await runTool("client", [...common, "upload", "-", "broken.tar"], {
    cwd: srv.dir,
    env,
    wrapper: [
      "bash",
      "-c",
      // SIGTERM: a non-interactive shell starts background jobs with SIGINT ignored.
      // The producer keeps the stream open, a byte at a time, until the client is gone.
      `(head -c 3000000 /dev/urandom; for i in $(seq 300); do sleep 0.1; printf x; done) |
        "$0" "$@" & pid=$!
      for i in $(seq 400); do ls -a "${srv.root}" | grep -q fileshare-tmp && break; sleep 0.05; done
      ls -a "${srv.root}" | grep -q fileshare-tmp || exit 99
      kill -TERM $pid; wait $pid`,
    ],
  });
  assert.notEqual(broken.code, 99, "the upload's temporary file never appeared");
  assert.notEqual(broken.code, 0);
  await waitFor(async () =>
    (await srv.logLines()).some((l) => l.event === "upload" && l.path === "broken.tar")
  );
  const failed = (await srv.logLines()).find((l) => l.path === "broken.tar");
  assert.equal(failed?.ok, false);
  assert.ok((failed?.bytes as number) > 0, "the body was on its way when it broke off");
  assert.deepEqual(await listTree(srv.root), ["backup.tar"], "no file, no temporary file");
  const lines = await srv.logLines();
  const upload = lines.find((l) => l.event === "upload" && l.path === "backup.tar");
  assert.equal(upload?.size, stored.size);
});

Deno.test("client keeps modification times both ways unless --no-times; ls shows them", async () => {
  await using srv = await startServer();
  const client = clientOf(srv);
  await Deno.writeTextFile(`${srv.dir}/old.txt`, "old");
  await age(`${srv.dir}/old.txt`, "2019-01-02T03:04:05Z");
  assert.equal((await client(["upload", "old.txt"])).code, 0);
  const ls = await client(["ls", "-l"]);
  assert.match(ls.stdout, /^file {2}3 {2}2019-01-02 03:04:05Z {2}old\.txt\n$/);
  assert.equal((await client(["upload", "old.txt", "now.txt", "--no-times"])).code, 0);
  const now = (await Deno.stat(`${srv.root}/now.txt`)).mtime!.getTime();
  assert.ok(Math.abs(now - Date.now()) < 60_000, "--no-times: the time of the upload");
  assert.equal((await client(["download", "old.txt", "back.txt"])).code, 0);
  assert.equal(
    (await Deno.stat(`${srv.dir}/back.txt`)).mtime?.toISOString(),
    "2019-01-02T03:04:05.000Z",
  );
  assert.equal((await client(["download", "old.txt", "fresh.txt", "--no-times"])).code, 0);
  const fresh = (await Deno.stat(`${srv.dir}/fresh.txt`)).mtime!.getTime();
  assert.ok(Math.abs(fresh - Date.now()) < 60_000);
});

Deno.test("client upload -r on a terminal draws one overall progress line, then the summary", async () => {
  await using srv = await startServer();
  await Deno.mkdir(`${srv.dir}/many`);
  for (let i = 0; i < 30; i++) {
    await Deno.writeFile(`${srv.dir}/many/f${i}.bin`, new Uint8Array(300_000).fill(i));
  }
  // `script` gives the client a real terminal; its transcript is what the user saw.
  const r = await runTool(
    "client",
    ["--server", `127.0.0.1:${srv.port}`, "--user", "alice", "upload", "-r", "many"],
    {
      cwd: srv.dir,
      env: { FILESHARE_PASSWORD: USERS.alice.password, TERM: "xterm" },
      wrapper: ["bash", "-c", 'script -qefc "$(printf "%q " "$0" "$@")" /dev/null'],
    },
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const drawn = r.stdout.split("\r").map((l) => l.replaceAll("\x1b[K", ""));
  const lines = drawn.filter((l) => /^\d+\/30 files {2}/.test(l));
  assert.ok(lines.length >= 1, JSON.stringify(r.stdout));
  for (const l of lines) {
    assert.match(
      l,
      /^\d+\/30 files {2}[\d.]+ [KM]iB\/8\.6 MiB {2}(--|[\d.]+ [kMG]B)\/?s? {2}(ETA .+|done)$/,
    );
  }
  assert.match(r.stdout, /uploaded 30 files \(8\.6 MiB\) in .*; 0 skipped, 0 failed\r?\n/);
});
