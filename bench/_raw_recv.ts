/**
 * Benchmark helper: the runtime ceiling's receiving end. Listens on 127.0.0.1 (port 0), prints
 * the port, accepts one connection and writes everything it receives to a file with a 1 MiB
 * read/write loop, then prints "done".
 */
const out = Deno.args[0];
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
console.log(listener.addr.port);
const conn = await listener.accept();
listener.close();
{
  using file = await Deno.open(out, { write: true, create: true, truncate: true });
  const buf = new Uint8Array(1024 * 1024);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    let off = 0;
    while (off < n) off += await file.write(buf.subarray(off, n));
  }
}
conn.close();
console.log("done");
