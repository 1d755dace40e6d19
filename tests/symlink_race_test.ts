/**
 * The symlink race: a local user swaps a folder inside the root with a symlink to the outside
 * (renameat2 RENAME_EXCHANGE in a tight loop) while a client runs every command on paths in
 * that folder. Nothing outside the root may be read, written, listed or deleted. The server
 * runs as a child process with exactly the deno.json server permission set (`-P=server`), as
 * `deno task server` and the compiled executable do.
 * FILESHARE_RACE_ROUNDS sets the rounds (default 60; `deno task stress` runs 2,000).
 */
import assert from "node:assert/strict";
import type { FileshareClient } from "../lib/client/client.ts";
import { TEMP_PREFIX } from "../lib/store/paths.ts";
import type { ByteSource } from "../lib/transfer.ts";
import { startTarget } from "./_hostile.ts";
import { CONFIG, ROOT, writeTestUsers } from "./_helpers.ts";
import { permissionFlags } from "../tools/permissions.ts";

const ROUNDS = Number(Deno.env.get("FILESHARE_RACE_ROUNDS") ?? 60);
const UPLOAD_BYTES = 300_000; // over the eager limit: a READY round trip widens the window

const SWAPPER = `
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
a, b = sys.argv[1].encode(), sys.argv[2].encode()
print("swapping", flush=True)
while True:
    libc.renameat2(-100, a, -100, b, 2)  # AT_FDCWD, RENAME_EXCHANGE
`;

function source(size: number): ByteSource {
  let left = size;
  return {
    read(p) {
      if (left === 0) return Promise.resolve(null);
      const n = Math.min(p.length, left);
      p.fill(0x61, 0, n);
      left -= n;
      return Promise.resolve(n);
    },
  };
}

async function download(c: FileshareClient, path: string): Promise<string> {
  const parts: Uint8Array[] = [];
  await c.download(path, () =>
    Promise.resolve({
      write(p: Uint8Array) {
        parts.push(p.slice());
        return Promise.resolve(p.length);
      },
    }));
  return new TextDecoder().decode(new Uint8Array(parts.flatMap((p) => [...p])));
}

/** Files and folders in the same layout inside (`sub`) and outside the root. */
async function plant(dir: string, marker: string, rounds: number): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/f.txt`, marker);
  await Deno.writeTextFile(`${dir}/${marker}-only.txt`, marker);
  for (let i = 0; i < rounds; i++) {
    await Deno.writeTextFile(`${dir}/del-${i}`, marker);
    await Deno.mkdir(`${dir}/r-${i}`);
  }
}

Deno.test("no command escapes the root while a folder is swapped with an outside symlink", async () => {
  await using srv = await startTarget();
  const outside = `${srv.dir}/outside`;
  await plant(outside, "OUTSIDE", ROUNDS);
  await plant(`${srv.root}/sub`, "inside", ROUNDS);
  await Deno.symlink(outside, `${srv.root}/alt`);
  const swapper = new Deno.Command("python3", {
    args: ["-c", SWAPPER, `${srv.root}/sub`, `${srv.root}/alt`],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const escapes = { read: 0, listed: 0 };
  const counts = { ok: 0, refused: 0 };
  try {
    const reader = swapper.stdout.getReader();
    await reader.read(); // "swapping": the loop runs
    reader.releaseLock();
    await using c = await srv.connect();
    const attempt = async (op: () => Promise<void>) => {
      try {
        await op();
        counts.ok++;
      } catch {
        counts.refused++; // refusals are expected while the link is in place
      }
    };
    for (let i = 0; i < ROUNDS; i++) {
      await attempt(async () => {
        await c.upload(source(UPLOAD_BYTES), UPLOAD_BYTES, `sub/up-${i}`, { overwrite: true });
      });
      await attempt(async () => {
        if ((await download(c, "sub/f.txt")) === "OUTSIDE") escapes.read++;
      });
      await attempt(async () => {
        const names = (await c.list("sub")).map((e) => e.name);
        if (names.includes("OUTSIDE-only.txt")) escapes.listed++;
      });
      await attempt(() => c.delete(`sub/del-${i}`));
      await attempt(() => c.mkdir(`sub/m-${i}`));
      await attempt(() => c.rmdir(`sub/r-${i}`, true));
    }
  } finally {
    swapper.kill("SIGKILL");
    await swapper.status;
    await swapper.stdout.cancel().catch(() => {});
  }
  const names = new Set<string>();
  for await (const e of Deno.readDir(outside)) names.add(e.name);
  const written = [...names].filter((n) => n.startsWith("up-")).length;
  const folders = [...names].filter((n) => n.startsWith("m-")).length;
  const temps = [...names].filter((n) => n.startsWith(TEMP_PREFIX)).length;
  let deleted = 0;
  for (let i = 0; i < ROUNDS; i++) {
    if (!names.has(`del-${i}`)) deleted++;
    if (!names.has(`r-${i}`)) deleted++;
  }
  const total = escapes.read + escapes.listed + written + folders + temps + deleted;
  console.log(
    `${ROUNDS} rounds x 6 commands (${counts.ok} done, ${counts.refused} refused): ` +
      `escapes ${total} (read ${escapes.read}, listed ${escapes.listed}, uploads ${written}, ` +
      `folders ${folders}, temp files ${temps}, deleted ${deleted})`,
  );
  assert.ok(counts.ok > 0, "no command ever succeeded: the race did not run");
  assert.equal(total, 0, "something outside the root was read, listed, written or deleted");
});

Deno.test({
  name: "server warns at start when it runs without what race-free resolution needs",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "fileshare-racewarn-" });
    await writeTestUsers(`${dir}/users.json`);
    // Narrower than the server task's --allow-all: no FFI, no /proc/self/fd.
    const start = async (permissions: string[]) => {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          ...permissions,
          "--no-prompt",
          "--config",
          CONFIG,
          `${ROOT}/server.ts`,
          ...["--host", "127.0.0.1", "--port", "0", "--no-tls", "--no-fsync"],
          ...["--root", `${dir}/root`, "--users", `${dir}/users.json`, "--log", `${dir}/log`],
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(child.stderr).text();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let out = "";
      while (!out.includes("listening on")) {
        const { value, done } = await reader.read();
        if (done) break;
        out += value;
      }
      child.kill("SIGTERM");
      await reader.cancel();
      await child.status;
      return { out, stderr: await stderr };
    };
    try {
      const narrow = await start(["--allow-net", "--allow-read", "--allow-write", "--allow-env"]);
      assert.match(narrow.out, /listening on/);
      assert.match(narrow.stderr, /symlink race protection is off/);
      const full = await start(permissionFlags("server"));
      assert.match(full.out, /listening on/);
      assert.doesNotMatch(full.stderr, /race protection/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
