/**
 * Durability as the system calls show it: the server flushes each upload's file before it
 * takes its name and the folder after, also when many uploads share their flushes (group
 * commit); the client flushes a download only with --fsync. The children run under strace
 * (installed by .ci/run), which records the calls in order.
 */
import assert from "node:assert/strict";
import { GroupSync } from "../lib/store/group_sync.ts";
import { FileshareClient } from "../lib/client/client.ts";
import { patternSource } from "../lib/load/pattern_source.ts";
import { type ChildServer, runTool, spawnServer, USERS, writeTestUsers } from "./_helpers.ts";

/** One finished system call from an `strace -f -ttt -y` log. */
interface Call {
  name: string;
  /** The argument text, with fd paths (`13</path>`). */
  args: string;
  start: number;
  end: number;
}

/** Parses `strace -f -ttt -y -qq` output, joining calls that other threads interrupted. */
function parseStrace(text: string): Call[] {
  const pending = new Map<string, { name: string; args: string; start: number }>();
  const calls: Call[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+)\s+([\d.]+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [, pid, ts, rest] = m;
    const t = Number(ts);
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(rest);
    if (resumed) {
      const p = pending.get(pid);
      pending.delete(pid);
      if (p && !/= -1/.test(resumed[2])) calls.push({ ...p, end: t });
      continue;
    }
    const call = /^(\w+)\((.*)$/.exec(rest);
    if (!call) continue;
    if (rest.endsWith("<unfinished ...>")) {
      pending.set(pid, { name: call[1], args: call[2], start: t });
    } else if (!/\) = -1/.test(rest)) {
      calls.push({ name: call[1], args: call[2], start: t, end: t });
    }
  }
  return calls;
}

const STRACE = ["-f", "-qq", "-ttt", "-y", "-e", "trace=fsync,fdatasync,link,linkat,rename"];

/**
 * Stops a server started under strace: SIGTERM goes to the traced server itself (strace would
 * only detach), and strace exits with it.
 */
async function stopTraced(srv: ChildServer): Promise<void> {
  const pid = srv.process.pid;
  const children = await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`).catch(() => "");
  for (const child of children.trim().split(/\s+/).filter(Boolean)) {
    try {
      Deno.kill(Number(child), "SIGTERM");
    } catch {
      // already gone
    }
  }
  await srv.process.status;
  await srv.stop();
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-durability-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("GroupSync resolves every waiter and gives each its own error", async () => {
  await withDir(async (dir) => {
    const sync = new GroupSync();
    const files = await Promise.all(
      Array.from({ length: 8 }, (_, i) => Deno.open(`${dir}/f${i}`, { write: true, create: true })),
    );
    try {
      await Promise.all([
        ...files.map((f) => sync.syncFile(f)),
        ...Array.from({ length: 8 }, () => sync.syncDir(dir)),
      ]);
      const results = await Promise.allSettled([
        sync.syncDir(`${dir}/missing`),
        sync.syncDir(dir),
        sync.syncFile(files[0]),
      ]);
      assert.equal(results[0].status, "rejected");
      assert.ok((results[0] as PromiseRejectedResult).reason instanceof Deno.errors.NotFound);
      assert.deepEqual(results.slice(1).map((r) => r.status), ["fulfilled", "fulfilled"]);
    } finally {
      for (const f of files) f.close();
    }
  });
});

Deno.test("server flushes each upload's file before linking it and its folder after, also one connection's pipelined uploads", async () => {
  await withDir(async (dir) => {
    await writeTestUsers(`${dir}/users.json`);
    const trace = `${dir}/strace.log`;
    const srv = await spawnServer(dir, ["--root", "root", "--log", "log.jsonl"], {}, [
      "strace",
      ...STRACE,
      "-o",
      trace,
    ]);
    let stopped = false;
    try {
      const clients = await Promise.all(
        Array.from({ length: 8 }, () =>
          FileshareClient.connect({
            hostname: "127.0.0.1",
            port: srv.port,
            user: USERS.alice.name,
            password: USERS.alice.password,
            tls: srv.tls,
          })),
      );
      try {
        await clients[0].mkdir("in");
        // Concurrent uploads into one folder: the flushes are shared, the order must hold.
        await Promise.all(
          clients.flatMap((c, i) =>
            [0, 1].map(async (k) => {
              await c.upload(patternSource(4096, i * 2 + k), 4096, `in/f${i}-${k}`);
            })
          ),
        );
        // Pipelined on one connection: written and committed while the next are read.
        const local = `${dir}/p.bin`;
        await Deno.writeFile(local, new Uint8Array(4096).fill(1));
        const outcomes = await clients[0].uploadFiles(
          Array.from({ length: 16 }, (_, k) => ({ local, remote: `in/p${k}` })),
        );
        assert.deepEqual(outcomes.filter((o) => o.error !== undefined), []);
      } finally {
        for (const c of clients) c.close();
      }
      await stopTraced(srv);
      stopped = true;
      const calls = parseStrace(await Deno.readTextFile(trace));
      const root = await Deno.realPath(`${dir}/root`);
      const names = [
        ...Array.from({ length: 8 }, (_, i) => [`f${i}-0`, `f${i}-1`]).flat(),
        ...Array.from({ length: 16 }, (_, k) => `p${k}`),
      ];
      for (const name of names) {
        const target = `${root}/in/${name}`;
        // The race-free store names the folder by its open descriptor (/proc/self/fd/N).
        const folder = `${root}/in`.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        const named = new RegExp(`"(?:${folder}|/proc/self/fd/\\d+)/${name}"`);
        const link = calls.find((c) => c.name.startsWith("link") && named.test(c.args));
        assert.ok(link, `no link to ${target}`);
        const temp = /"[^"]*\/(\.fileshare-tmp-[0-9a-f]+)"/.exec(link.args)?.[1];
        assert.ok(temp, link.args);
        const fileSync = calls.find((c) =>
          c.name === "fsync" && c.args.includes(`<${root}/in/${temp}>`)
        );
        assert.ok(fileSync && fileSync.end <= link.start, `${target}: file not flushed first`);
        const dirSync = calls.find((c) =>
          c.name === "fsync" && c.args.includes(`<${root}/in>`) && c.start >= link.end
        );
        assert.ok(dirSync, `${target}: folder not flushed after the link`);
      }
    } finally {
      if (!stopped) await stopTraced(srv);
    }
  });
});

Deno.test("client download flushes the file only with --fsync", async () => {
  await withDir(async (dir) => {
    await writeTestUsers(`${dir}/users.json`);
    const srv = await spawnServer(dir, ["--root", "root", "--log", "log.jsonl", "--no-fsync"]);
    try {
      await Deno.writeTextFile(`${dir}/root/r.txt`, "remote bytes");
      const flushes = async (extra: string[]) => {
        const trace = `${dir}/client-${extra.length}.log`;
        const out = await runTool("client", [
          "--server",
          `127.0.0.1:${srv.port}`,
          "--user",
          "alice",
          "download",
          "r.txt",
          `copy-${extra.length}.txt`,
          ...extra,
        ], {
          cwd: dir,
          env: { FILESHARE_PASSWORD: USERS.alice.password },
          wrapper: ["strace", ...STRACE, "-o", trace],
        });
        assert.equal(out.code, 0, out.stderr);
        assert.equal(await Deno.readTextFile(`${dir}/copy-${extra.length}.txt`), "remote bytes");
        return parseStrace(await Deno.readTextFile(trace)).filter((c) =>
          (c.name === "fsync" || c.name === "fdatasync") && c.args.includes("fileshare-part")
        ).length;
      };
      assert.equal(await flushes([]), 0);
      assert.equal(await flushes(["--fsync"]), 1);
    } finally {
      await srv.stop();
    }
  });
});
