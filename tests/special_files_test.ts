/**
 * Only regular files and folders are served: a FIFO, a socket or a device node in the root is
 * refused at once by every command (a FIFO used to block its download and the shutdown).
 */
import assert from "node:assert/strict";
import { rawSession, startServer } from "./_helpers.ts";
import type { FrameConn } from "../lib/protocol/conn.ts";

/** Sends one request and reads the answer, failing (not hanging) if none comes in 10 s. */
async function ask(conn: FrameConn, msg: Record<string, unknown>) {
  await conn.send(msg);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${msg.op} ${msg.path}: no answer (blocked)`)),
      10_000,
    );
  });
  try {
    return await Promise.race([conn.expectMessage(), stuck]);
  } finally {
    clearTimeout(timer);
  }
}

async function run(cmd: string, args: string[]): Promise<boolean> {
  const out = await new Deno.Command(cmd, { args, stderr: "piped" }).output();
  if (!out.success) {
    console.log(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return out.success;
}

Deno.test("every command refuses FIFOs, sockets and device nodes at once", async (t) => {
  const srv = await startServer();
  const socket = Deno.listen({ transport: "unix", path: `${srv.root}/socket` });
  try {
    assert.ok(await run("mkfifo", [`${srv.root}/fifo`]));
    await Deno.symlink("fifo", `${srv.root}/fifo-link`);
    const special = ["fifo", "fifo-link", "socket"];
    // Device nodes need CAP_MKNOD (root, outside most containers).
    if (await run("mknod", [`${srv.root}/null-device`, "c", "1", "3"])) special.push("null-device");
    else console.log("device node case skipped: mknod is not permitted here");
    await Deno.writeTextFile(`${srv.root}/plain.txt`, "plain");
    await using conn = await rawSession(srv.port);
    for (const name of special) {
      await t.step(name, async () => {
        const down = await ask(conn, { op: "download", path: name });
        assert.equal(down.code, "BAD_REQUEST", JSON.stringify(down));
        assert.match(String(down.message), /not a regular file/);
        const keep = await ask(conn, { op: "upload", path: name, size: 1, overwrite: false });
        assert.equal(keep.code, "EXISTS", JSON.stringify(keep));
        if (name !== "fifo-link") {
          // Replacing the link itself is allowed (it stays inside); a special file is not.
          const over = await ask(conn, { op: "upload", path: name, size: 1, overwrite: true });
          assert.equal(over.code, "BAD_REQUEST", JSON.stringify(over));
          const del = await ask(conn, { op: "delete", path: name });
          assert.equal(del.code, "BAD_REQUEST", JSON.stringify(del));
        }
        const rm = await ask(conn, { op: "rmdir", path: name, recursive: true });
        assert.equal(rm.code, "BAD_REQUEST", JSON.stringify(rm));
        const ls = await ask(conn, { op: "dir", path: name });
        assert.equal(ls.status, "error", JSON.stringify(ls));
      });
    }
    await t.step("only the regular file is listed", async () => {
      const ls = await ask(conn, { op: "dir", path: "" });
      assert.deepEqual((ls.entries as { name: string }[]).map((e) => e.name), ["plain.txt"]);
    });
    await t.step("the files are all still there", async () => {
      for (const name of special) assert.ok(await Deno.lstat(`${srv.root}/${name}`));
    });
  } finally {
    socket.close();
    // Shutdown must not wait for a session stuck on a FIFO.
    await srv.close();
  }
});
