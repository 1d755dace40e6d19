import assert from "node:assert/strict";
import { runTool, spawnServer, startServer, writeTestUsers } from "./_helpers.ts";

Deno.test("in-process server: upload, list, download round trip", async () => {
  await using srv = await startServer();
  await using client = await srv.connect("alice");
  const data = new TextEncoder().encode("hello <EOF> world");
  let i = 0;
  await client.upload(
    {
      read: (p) => {
        if (i >= data.length) return Promise.resolve(null);
        const n = Math.min(p.length, data.length - i);
        p.set(data.subarray(i, i + n));
        i += n;
        return Promise.resolve(n);
      },
    },
    data.length,
    "hello.txt",
  );
  const entries = await client.list("");
  assert.deepEqual(entries.map((e) => [e.name, e.size]), [["hello.txt", data.length]]);
  const received: number[] = [];
  const down = await client.download("hello.txt", () =>
    Promise.resolve({
      write: (p: Uint8Array) => {
        received.push(...p);
        return Promise.resolve(p.length);
      },
    }));
  assert.equal(down.bytes, data.length);
  assert.deepEqual(new Uint8Array(received), data);
  const local = `${srv.dir}/hello-copy.txt`;
  await client.downloadFile("hello.txt", local);
  assert.deepEqual(await Deno.readFile(local), data);
});

Deno.test("child server and child client: upload and dir", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeTestUsers(`${dir}/users.json`);
    await using srv = await spawnServer(dir);
    await Deno.writeTextFile(`${dir}/a.txt`, "abc");
    const env = { FILESHARE_PASSWORD: "alice-pw ünïcode" };
    const common = ["--server", `127.0.0.1:${srv.port}`, "--user", "alice"];
    const up = await runTool("client", [...common, "upload", "a.txt"], { cwd: dir, env });
    assert.equal(up.code, 0, up.stderr);
    const ls = await runTool("client", [...common, "dir", "--json"], { cwd: dir, env });
    assert.equal(ls.code, 0, ls.stderr);
    assert.equal(JSON.parse(ls.stdout)[0].name, "a.txt");
    const stopped = await srv.stop("SIGTERM");
    assert.equal(stopped.code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
