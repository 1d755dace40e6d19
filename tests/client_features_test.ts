/**
 * The client's everyday capabilities as a user meets them: a real server, the real client as a
 * child process with its deno.json permission set.
 */
import assert from "node:assert/strict";
import { listTree, runTool, startServer, type TestServer, USERS } from "./_helpers.ts";

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
