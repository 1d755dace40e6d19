/**
 * Resume in both directions: an upload or download cut off (cancelled, connection lost, the
 * client killed with SIGKILL) continues where it stopped, the kept bytes checked by SHA-256
 * first and the whole file's SHA-256 at the end; a source that changed meanwhile starts again
 * from zero; the server's partial uploads are kept per user and path, never listed or served,
 * and expire.
 */
import assert from "node:assert/strict";
import { FileshareError } from "../lib/protocol/errors.ts";
import { partialName, PARTIALS_DIR } from "../lib/store/local_store.ts";
import { parseRemotePath } from "../lib/store/paths.ts";
import { partialFileFor } from "../lib/client/download_file.ts";
import { FileshareClient } from "../lib/client/client.ts";
import { UsersFile } from "../lib/auth/users.ts";
import {
  childEnv,
  listTree,
  ROOT,
  runTool,
  setUser,
  sha256File,
  spawnServer,
  startServer,
  type TestServer,
  toolArgs,
  USERS,
  waitFor,
  writeRandomFile,
  writeTestUsers,
} from "./_helpers.ts";

const MiB = 1024 * 1024;

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

async function sizeOf(path: string): Promise<number> {
  return await Deno.stat(path).then((i) => i.size, () => 0);
}

/** Where the server keeps `user`'s partial upload of `remote`. */
function keptPath(root: string, remote: string, user = "alice"): string {
  return `${root}/${PARTIALS_DIR}/${partialName(user, parseRemotePath(remote))}`;
}

/** Uploads `local` but cancels once `after` bytes went out; the server keeps what arrived. */
async function cutUpload(
  client: FileshareClient,
  local: string,
  remote: string,
  after: number,
): Promise<void> {
  const controller = new AbortController();
  await assert.rejects(
    client.uploadFile(local, remote, {
      keepPartial: true,
      signal: controller.signal,
      onProgress: (done) => done >= after && controller.abort(),
    }),
    (err) => err instanceof FileshareError && err.code === "CANCELLED",
  );
}

Deno.test("uploadFile() with resume continues after the bytes the server kept", async () => {
  await using srv = await startServer();
  const local = `${srv.dir}/big.bin`;
  await writeRandomFile(local, 12 * MiB + 5);
  await using client = await srv.connect("alice");
  await cutUpload(client, local, "big.bin", 4 * MiB);
  const kept = keptPath(srv.root, "big.bin");
  await waitFor(() => exists(kept));
  const keptBytes = await sizeOf(kept);
  assert.ok(keptBytes >= 4 * MiB && keptBytes < 12 * MiB, `${keptBytes} bytes kept`);
  // Never listed, never served, not under its name.
  assert.deepEqual(await client.list(""), []);
  await assert.rejects(client.download("big.bin", () => Promise.reject()), /not found/);
  await using bob = await srv.connect("bob");
  assert.deepEqual(await bob.list(""), []);

  const r = await client.uploadFile(local, "big.bin", { resume: true, keepPartial: true });
  assert.equal(r.offset, keptBytes, "continued after the kept bytes");
  assert.equal(r.bytes, 12 * MiB + 5 - keptBytes, "sent only the rest");
  assert.equal(r.sha256, await sha256File(local));
  assert.equal(await sha256File(`${srv.root}/big.bin`), await sha256File(local));
  assert.equal(await exists(kept), false, "the partial became the file");
  const line = (await srv.logLines()).filter((l) => l.event === "upload").at(-1)!;
  assert.equal(line.offset, keptBytes);
  assert.equal(line.ok, true);
});

Deno.test("uploadFile() with resume starts again from zero when the local file changed", async () => {
  await using srv = await startServer();
  const local = `${srv.dir}/v.bin`;
  await writeRandomFile(local, 6 * MiB);
  await using client = await srv.connect("alice");
  await cutUpload(client, local, "v.bin", 2 * MiB);
  await waitFor(() => exists(keptPath(srv.root, "v.bin")));
  // A new version of the same size: its first bytes differ from what the server kept.
  await writeRandomFile(local, 6 * MiB);
  const r = await client.uploadFile(local, "v.bin", { resume: true });
  assert.equal(r.offset, 0, "the kept bytes of the old version were not used");
  assert.equal(r.bytes, 6 * MiB);
  assert.equal(await sha256File(`${srv.root}/v.bin`), await sha256File(local));
});

Deno.test("partial uploads are kept per user: another user's resume starts at zero", async () => {
  await using srv = await startServer();
  const users = (await UsersFile.load(srv.usersPath))!;
  await users.add("carol", "carol-pw", { readOnly: false, iterations: 4096 });
  await users.save();
  const local = `${srv.dir}/p.bin`;
  await writeRandomFile(local, 4 * MiB);
  await using alice = await srv.connect("alice");
  await cutUpload(alice, local, "p.bin", MiB);
  await waitFor(() => exists(keptPath(srv.root, "p.bin")));
  await using carol = await FileshareClient.connect({
    hostname: "127.0.0.1",
    port: srv.port,
    user: "carol",
    password: "carol-pw",
    tls: srv.tls,
  });
  const r = await carol.uploadFile(local, "p.bin", { resume: true });
  assert.equal(r.offset, 0, "alice's kept bytes are not offered to carol");
  assert.equal(await exists(keptPath(srv.root, "p.bin")), true, "alice's partial stays");
  await assert.rejects(
    alice.uploadFile(local, "p.bin", { resume: true }),
    (err) => err instanceof FileshareError && err.code === "EXISTS",
  );
});

Deno.test("a partial upload in a home counts toward nothing the user sees, and resumes", async () => {
  await using srv = await startServer();
  const users = (await UsersFile.load(srv.usersPath))!;
  users.set("alice", { home: "alice", quota: 20 * MiB });
  await users.save();
  const local = `${srv.dir}/h.bin`;
  await writeRandomFile(local, 8 * MiB);
  await using client = await srv.connect("alice");
  await cutUpload(client, local, "h.bin", 2 * MiB);
  // Kept at the top of the served folder, outside every home, under the owner's key.
  const kept = keptPath(srv.root, "h.bin");
  await waitFor(() => exists(kept));
  assert.deepEqual(await listTree(`${srv.root}/alice`), []);
  assert.equal((await client.df()).used, 0, "the partial is not counted");
  assert.deepEqual(await client.list(""), []);
  const r = await client.uploadFile(local, "h.bin", { resume: true });
  assert.equal(r.offset, await sizeOf(`${srv.dir}/h.bin`) - r.bytes);
  assert.ok((r.offset ?? 0) > 0);
  assert.equal(await sha256File(`${srv.root}/alice/h.bin`), await sha256File(local));
  assert.equal((await client.df()).used, 8 * MiB);
});

Deno.test("the server removes partial uploads after the partial time", async () => {
  await using srv = await startServer({ partialTtlMs: 600 });
  const local = `${srv.dir}/e.bin`;
  await writeRandomFile(local, 4 * MiB);
  await using client = await srv.connect("alice");
  await cutUpload(client, local, "e.bin", MiB);
  const kept = keptPath(srv.root, "e.bin");
  await waitFor(() => exists(kept));
  await waitFor(async () => !(await exists(kept)), 5_000);
  const r = await client.uploadFile(local, "e.bin", { resume: true });
  assert.equal(r.offset, 0, "nothing left to resume");
  assert.equal(await sha256File(`${srv.root}/e.bin`), await sha256File(local));
});

Deno.test("a server with a partial time of 0 keeps nothing", async () => {
  await using srv = await startServer({ partialTtlMs: 0 });
  const local = `${srv.dir}/z.bin`;
  await writeRandomFile(local, 4 * MiB);
  await using client = await srv.connect("alice");
  await cutUpload(client, local, "z.bin", MiB);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(await listTree(srv.root), []);
});

Deno.test("the server's default partial time is a day: its sweep at start keeps a 23 h old partial, removes a 25 h old one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-resume-" });
  try {
    await writeTestUsers(`${dir}/users.json`);
    const root = `${dir}/server_docs`;
    await Deno.mkdir(`${root}/${PARTIALS_DIR}`, { recursive: true });
    const hours = (h: number) => new Date(Date.now() - h * 3600 * 1000);
    const young = keptPath(root, "young.bin");
    const old = keptPath(root, "old.bin");
    for (const [path, h] of [[young, 23], [old, 25]] as const) {
      await Deno.writeTextFile(path, "kept bytes");
      await Deno.utime(path, hours(h), hours(h));
    }
    const server = await spawnServer(dir, ["--no-fsync"]);
    try {
      await waitFor(async () => !(await exists(old)), 10_000);
      assert.equal(await exists(young), true, "a partial younger than a day stays");
    } finally {
      await server.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function cutDownload(
  srv: TestServer,
  client: FileshareClient,
  remote: string,
  local: string,
  after: number,
): Promise<FileshareError> {
  const controller = new AbortController();
  let caught: unknown;
  await client.downloadFile(remote, local, {
    keepPartial: true,
    signal: controller.signal,
    onProgress: (done) => done >= after && controller.abort(),
  }).catch((err) => (caught = err));
  assert.ok(caught instanceof FileshareError && caught.code === "CANCELLED", String(caught));
  assert.ok(srv.port > 0);
  return caught;
}

Deno.test("downloadFile() keeps a cut-off download when asked, names it, and resumes it", async () => {
  await using srv = await startServer();
  await writeRandomFile(`${srv.root}/big.bin`, 12 * MiB + 3);
  const local = `${srv.dir}/big.bin`;
  {
    await using client = await srv.connect("alice");
    const err = await cutDownload(srv, client, "big.bin", local, 3 * MiB);
    const partial = partialFileFor(local);
    assert.match(
      err.message,
      /partial kept: rerun with --resume, or delete ".*\.big\.bin\.fileshare-part"/,
    );
    assert.equal(await exists(local), false);
    assert.ok((await sizeOf(partial)) >= 3 * MiB);
  }
  await using client = await srv.connect("alice");
  const kept = await sizeOf(partialFileFor(local));
  const r = await client.downloadFile("big.bin", local, { resume: true, keepPartial: true });
  assert.equal(r.offset, kept);
  assert.equal(r.bytes, 12 * MiB + 3 - kept);
  assert.equal(await sha256File(local), await sha256File(`${srv.root}/big.bin`));
  assert.equal(await exists(partialFileFor(local)), false);
});

Deno.test("downloadFile() with resume starts again from zero when the remote file changed", async () => {
  await using srv = await startServer();
  await writeRandomFile(`${srv.root}/c.bin`, 6 * MiB);
  const local = `${srv.dir}/c.bin`;
  {
    await using client = await srv.connect("alice");
    await cutDownload(srv, client, "c.bin", local, 2 * MiB);
  }
  await writeRandomFile(`${srv.root}/c.bin`, 6 * MiB); // a new version
  await using client = await srv.connect("alice");
  const r = await client.downloadFile("c.bin", local, { resume: true });
  assert.equal(r.offset, 0, "the old version's bytes were not used");
  assert.equal(r.bytes, 6 * MiB);
  assert.equal(await sha256File(local), await sha256File(`${srv.root}/c.bin`));
  assert.equal(await exists(partialFileFor(local)), false);
});

Deno.test("downloadFile() without keepPartial leaves nothing when cancelled", async () => {
  await using srv = await startServer();
  await writeRandomFile(`${srv.root}/n.bin`, 8 * MiB);
  await using client = await srv.connect("alice");
  const controller = new AbortController();
  const local = `${srv.dir}/n.bin`;
  await assert.rejects(
    client.downloadFile("n.bin", local, {
      signal: controller.signal,
      onProgress: (done) => done >= MiB && controller.abort(),
    }),
    (err) => err instanceof FileshareError && err.code === "CANCELLED",
  );
  assert.deepEqual((await listTree(srv.dir)).filter((p) => p.includes("fileshare-part")), []);
});

/** Starts the client CLI as a child (alice, password on stdin) with `args`. */
async function spawnClient(cwd: string, port: number, args: string[]): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      ...toolArgs("client"),
      "--server",
      `127.0.0.1:${port}`,
      "--user",
      "alice",
      "--password-stdin",
      "--quiet",
      ...args,
    ],
    cwd: ROOT,
    env: childEnv(cwd),
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(`${USERS.alice.password}\n`));
  await w.close();
  return child;
}

/** Runs the client CLI as a child and kills it with SIGKILL once `cut()` says so. */
async function killedClient(
  cwd: string,
  port: number,
  args: string[],
  cut: () => Promise<boolean>,
): Promise<void> {
  const child = await spawnClient(cwd, port, args);
  let exited = false;
  const output = child.output().then((o) => {
    exited = true;
    return o;
  });
  await waitFor(async () => exited || await cut(), 30_000);
  if (!exited) child.kill("SIGKILL");
  const out = await output;
  assert.equal(exited && out.success, false, "the transfer was cut before it finished");
}

Deno.test({
  name: "client killed with SIGKILL mid-transfer, then upload --resume and download --resume " +
    "continue (also after a server restart)",
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "fileshare-resume-" });
    try {
      await writeTestUsers(`${dir}/users.json`);
      const size = 48 * MiB + 11;
      await writeRandomFile(`${dir}/up.bin`, size);
      const want = await sha256File(`${dir}/up.bin`);
      let server = await spawnServer(dir, ["--no-fsync"]);
      const client = (port: number, args: string[]) =>
        runTool("client", [
          "--server",
          `127.0.0.1:${port}`,
          "--user",
          "alice",
          "--password-stdin",
          "--json",
          ...args,
        ], { cwd: dir, stdin: `${USERS.alice.password}\n` });
      const root = `${dir}/server_docs`;
      await t.step("upload: SIGKILL, server restart, --resume", async () => {
        // The upload's temporary file grows in the root; kill once a few MiB arrived.
        const temp = async () => {
          for await (const e of Deno.readDir(root)) {
            if (e.name.startsWith(".fileshare-tmp-") && e.isFile) {
              return (await sizeOf(`${root}/${e.name}`)) > 4 * MiB;
            }
          }
          return false;
        };
        await killedClient(dir, server.port, ["upload", "up.bin"], temp);
        const kept = keptPath(await Deno.realPath(root), "up.bin");
        await waitFor(() => exists(kept));
        const keptBytes = await sizeOf(kept);
        assert.ok(keptBytes > 0 && keptBytes < size);
        // The server restarts: the partial survives it.
        await server.stop();
        server = await spawnServer(dir, ["--no-fsync"]);
        const r = await client(server.port, ["upload", "--resume", "up.bin"]);
        assert.equal(r.code, 0, r.stderr);
        const out = JSON.parse(r.stdout);
        assert.equal(out.offset, keptBytes, "continued after the kept bytes");
        assert.equal(out.bytes, size - keptBytes);
        assert.equal(out.sha256, want);
        assert.equal(await sha256File(`${root}/up.bin`), want);
      });
      await t.step("download: SIGKILL, --resume", async () => {
        const partial = partialFileFor(`${dir}/down.bin`);
        await killedClient(
          dir,
          server.port,
          ["download", "up.bin", "down.bin"],
          async () => (await sizeOf(partial)) > 4 * MiB,
        );
        const kept = await sizeOf(partial);
        assert.ok(kept > 0 && kept < size, `${kept}`);
        const r = await client(server.port, ["download", "-a", "up.bin", "down.bin"]);
        assert.equal(r.code, 0, r.stderr);
        const out = JSON.parse(r.stdout);
        assert.ok(out.offset >= kept - MiB && out.offset > 0, `offset ${out.offset}`);
        assert.equal(out.sha256, want);
        assert.equal(await sha256File(`${dir}/down.bin`), want);
        assert.equal(await exists(partial), false);
      });
      await t.step("download stopped by SIGINT or SIGTERM keeps a named partial", async () => {
        for (const sig of ["SIGINT", "SIGTERM"] as const) {
          const local = `${dir}/sig-${sig}.bin`;
          const partial = partialFileFor(local);
          const child = await spawnClient(dir, server.port, ["download", "up.bin", local]);
          await waitFor(async () => (await sizeOf(partial)) > 2 * MiB, 30_000);
          child.kill(sig);
          const out = await child.output();
          const stderr = new TextDecoder().decode(out.stderr);
          // As a shell reports a process ended by the signal (README's exit codes).
          assert.equal(out.code, sig === "SIGINT" ? 130 : 143, stderr);
          assert.match(
            stderr,
            /partial kept: rerun with --resume, or delete ".*\.sig-SIG(INT|TERM)\.bin\.fileshare-part"/,
          );
          // Nothing hidden but the named partial.
          const hidden = [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith(`.sig-${sig}`));
          assert.deepEqual(hidden.map((e) => e.name), [`.sig-${sig}.bin.fileshare-part`]);
          await Deno.remove(partial);
        }
      });
      await server.stop();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Writes `size` random bytes to `path` and dates it `mtime`. */
async function oldFile(path: string, size: number, mtime: Date): Promise<void> {
  await writeRandomFile(path, size);
  await Deno.utime(path, mtime, mtime);
}

const OLD = new Date("2024-03-01T10:00:00Z");

Deno.test("uploadFiles() with resume continues the file cut off; every file keeps its mtime", async () => {
  await using srv = await startServer();
  await Deno.mkdir(`${srv.dir}/src`);
  const names = ["small.txt", "big.bin", "other.bin"];
  const sizes = [100, 6 * MiB + 1, 2 * MiB];
  for (const [i, n] of names.entries()) await oldFile(`${srv.dir}/src/${n}`, sizes[i], OLD);
  await using client = await srv.connect("alice");
  await client.mkdir("d");
  await cutUpload(client, `${srv.dir}/src/big.bin`, "d/big.bin", 2 * MiB);
  const kept = keptPath(srv.root, "d/big.bin");
  await waitFor(() => exists(kept));
  const keptBytes = await sizeOf(kept);
  const jobs = names.map((n) => ({ local: `${srv.dir}/src/${n}`, remote: `d/${n}` }));
  const outcomes = await client.uploadFiles(jobs, { resume: true, keepPartial: true });
  assert.deepEqual(outcomes.map((o) => o.error), [undefined, undefined, undefined]);
  assert.deepEqual(outcomes.map((o) => o.result!.offset), [0, keptBytes, 0]);
  assert.equal(outcomes[1].result!.bytes, sizes[1] - keptBytes, "only the rest went");
  for (const { local, remote } of jobs) {
    assert.equal(await sha256File(`${srv.root}/${remote}`), await sha256File(local));
    const stored = await Deno.stat(`${srv.root}/${remote}`);
    assert.equal(stored.mtime?.getTime(), OLD.getTime(), `${remote} has the local mtime`);
  }
  assert.equal(await exists(kept), false, "the partial became the file");
});

Deno.test("downloadFiles() with resume continues the file cut off; it gets the server's mtime", async () => {
  await using srv = await startServer();
  await Deno.mkdir(`${srv.root}/d`);
  const names = ["c.txt", "a.bin", "b.bin"];
  const sizes = [10, 5 * MiB + 7, MiB];
  for (const [i, n] of names.entries()) await oldFile(`${srv.root}/d/${n}`, sizes[i], OLD);
  const out = `${srv.dir}/out`;
  await Deno.mkdir(out);
  {
    await using first = await srv.connect("alice");
    await cutDownload(srv, first, "d/a.bin", `${out}/a.bin`, MiB);
  }
  const kept = await sizeOf(partialFileFor(`${out}/a.bin`));
  assert.ok(kept >= MiB && kept < sizes[1], `${kept}`);
  await using client = await srv.connect("alice");
  const jobs = names.map((n) => ({ remote: `d/${n}`, local: `${out}/${n}` }));
  const outcomes = await client.downloadFiles(jobs, { resume: true, keepPartial: true });
  assert.deepEqual(outcomes.map((o) => o.error), [undefined, undefined, undefined]);
  assert.deepEqual(outcomes.map((o) => o.result!.offset), [0, kept, 0]);
  for (const { remote, local } of jobs) {
    assert.equal(await sha256File(local), await sha256File(`${srv.root}/${remote}`));
    assert.equal((await Deno.stat(local)).mtime?.getTime(), OLD.getTime(), `${local} mtime`);
  }
  assert.deepEqual((await listTree(out)).filter((p) => p.includes("fileshare-part")), []);
});

Deno.test("a resumed upload is held to the quota on the whole file's size", async () => {
  await using srv = await startServer();
  const local = `${srv.dir}/q.bin`;
  await writeRandomFile(local, 4 * MiB);
  {
    await using first = await srv.connect("alice");
    await cutUpload(first, local, "q.bin", 3 * MiB);
  }
  const kept = keptPath(srv.root, "q.bin");
  await waitFor(() => exists(kept));
  // The rest would fit; the whole file does not.
  await setUser(srv, "alice", { quota: 4 * MiB - 1 });
  await using client = await srv.connect("alice");
  assert.equal((await client.df()).used, 0, "the partial counts toward nothing");
  await assert.rejects(
    client.uploadFile(local, "q.bin", { resume: true }),
    (err) => err instanceof FileshareError && err.code === "LIMIT",
  );
  assert.equal(await exists(`${srv.root}/q.bin`), false);
});

/** Runs the client CLI as alice against `srv`, from `srv.dir`. */
function cliOf(srv: TestServer) {
  const common = ["--server", `127.0.0.1:${srv.port}`, "--user", "alice"];
  const env = { FILESHARE_PASSWORD: USERS.alice.password };
  return (args: string[]) => runTool("client", [...common, ...args], { cwd: srv.dir, env });
}

Deno.test("client upload -r and download -r --resume: each file resumes, whole ones are skipped, streams are refused", async (t) => {
  await using srv = await startServer();
  const cli = cliOf(srv);
  const src = `${srv.dir}/src`;
  await Deno.mkdir(src);
  await oldFile(`${src}/whole.bin`, MiB, OLD);
  await oldFile(`${src}/cut.bin`, 6 * MiB, OLD);
  await oldFile(`${src}/new.txt`, 50, OLD);
  await t.step("upload -r --resume", async () => {
    await using client = await srv.connect("alice");
    await client.mkdir("backup");
    await client.mkdir("backup/src");
    await client.uploadFile(`${src}/whole.bin`, "backup/src/whole.bin");
    await cutUpload(client, `${src}/cut.bin`, "backup/src/cut.bin", 2 * MiB);
    await waitFor(() => exists(keptPath(srv.root, "backup/src/cut.bin")));
    const r = await cli(["upload", "-r", "--resume", "src", "backup/"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /skipped 1 file already there \(same size and modification time\)/);
    assert.match(r.stdout, /uploaded 2 files .*1 skipped, 0 failed/);
    for (const n of ["whole.bin", "cut.bin", "new.txt"]) {
      assert.equal(
        await sha256File(`${srv.root}/backup/src/${n}`),
        await sha256File(`${src}/${n}`),
      );
    }
    assert.equal(await exists(keptPath(srv.root, "backup/src/cut.bin")), false);
  });
  await t.step("download -r --resume", async () => {
    const out = `${srv.dir}/out/src`;
    await Deno.mkdir(out, { recursive: true });
    await Deno.copyFile(`${src}/whole.bin`, `${out}/whole.bin`);
    await Deno.utime(`${out}/whole.bin`, OLD, OLD);
    // The first MiB of cut.bin, as a cut-off download leaves it.
    const head = (await Deno.readFile(`${src}/cut.bin`)).subarray(0, MiB);
    await Deno.writeFile(partialFileFor(`${out}/cut.bin`), head);
    const r = await cli(["download", "-r", "--resume", "--json", "backup/src", "out"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /skipped 1 file already there/);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.files, 2);
    assert.equal(summary.bytes, 5 * MiB + 50, "cut.bin continued after its kept MiB");
    for (const n of ["whole.bin", "cut.bin", "new.txt"]) {
      assert.equal(await sha256File(`${out}/${n}`), await sha256File(`${src}/${n}`));
    }
    assert.equal(await exists(partialFileFor(`${out}/cut.bin`)), false);
  });
  await t.step("a stream cannot be resumed", async () => {
    const up = await cli(["upload", "--resume", "-", "s.tar"]);
    assert.equal(up.code, 2, up.stderr);
    assert.match(up.stderr, /Cannot resume an upload of stdin \("-"\)/);
    const down = await cli(["download", "--resume", "backup/src/new.txt", "-"]);
    assert.equal(down.code, 2, down.stderr);
    assert.match(down.stderr, /Cannot resume a download to stdout \("-"\)/);
    assert.equal(down.stdout, "");
  });
});
