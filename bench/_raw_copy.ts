/** Benchmark (a), the runtime ceiling: a raw Deno TCP copy file → socket → file, no protocol. */

const RECEIVER = new URL("./_raw_recv.ts", import.meta.url).pathname;
const CHUNK = 1024 * 1024;

/**
 * Copies `file` over loopback TCP to a receiver process that writes it to `out`, both ends with
 * a 1 MiB read/write loop; returns the wall time in ms from connect to the receiver's last
 * write. The receiver starts before the clock does; `out` is removed afterwards.
 */
export async function rawCopy(file: string, out: string): Promise<number> {
  const receiver = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", RECEIVER, out],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = receiver.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const waitFor = async (word: string) => {
    while (!text.includes(word)) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`Raw receiver exited before printing "${word}"`);
      text += value;
    }
  };
  try {
    await waitFor("\n");
    const port = Number(text.split("\n")[0]);
    const started = performance.now();
    {
      using conn = await Deno.connect({ hostname: "127.0.0.1", port });
      using f = await Deno.open(file, { read: true });
      const buf = new Uint8Array(CHUNK);
      for (;;) {
        const n = await f.read(buf);
        if (n === null) break;
        let off = 0;
        while (off < n) off += await conn.write(buf.subarray(off, n));
      }
    }
    await waitFor("done");
    return performance.now() - started;
  } finally {
    await lines.cancel().catch(() => {});
    try {
      receiver.kill();
    } catch {
      // already exited
    }
    await receiver.status;
    await Deno.remove(out).catch(() => {});
  }
}

/** SHA-256 throughput of node:crypto over `bytes` bytes in 1 MiB updates, MB/s. */
export async function hashRate(bytes: number): Promise<number> {
  const { createHash } = await import("node:crypto");
  const buf = new Uint8Array(CHUNK);
  for (let i = 0; i < buf.length; i += 65536) crypto.getRandomValues(buf.subarray(i, i + 65536));
  const h = createHash("sha256");
  const started = performance.now();
  for (let done = 0; done < bytes; done += CHUNK) {
    h.update(buf.subarray(0, Math.min(CHUNK, bytes - done)));
  }
  h.digest();
  return bytes / 1e6 / ((performance.now() - started) / 1000);
}
