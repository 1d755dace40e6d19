/**
 * The protocol fuzzer behind `deno task fuzz` and the short run in tests/fuzz_test.ts: real
 * client sessions are recorded through a proxy, split into frames, mutated (bit flips, cuts,
 * huge lengths, wrong types, unknown ops, frames out of order, bodies longer or shorter than
 * announced, wrong SHA-256 trailers, random bytes) and sent to a live child-process server,
 * while a well-behaved client keeps uploading and downloading.
 */
import { createHash } from "node:crypto";
import { FileshareClient } from "../lib/client/client.ts";
import { encodeMessage, HEADER_BYTES } from "../lib/protocol/frame.ts";
import { writeAll } from "../lib/write_all.ts";
import { listTree, rawSession, USERS } from "./_helpers.ts";
import { rssMiB, startTarget } from "./_hostile.ts";

/** Deterministic pseudo-random numbers (xorshift32), so a failing seed can be replayed. */
export function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  return {
    int: (n: number) => next() % n,
    bytes: (n: number) => Uint8Array.from({ length: n }, () => next() & 0xff),
  };
}

type Rng = ReturnType<typeof rng>;

/** Splits a recorded byte stream into whole frames (a torn tail is dropped). */
export function splitFrames(stream: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let off = 0;
  while (off + HEADER_BYTES <= stream.length) {
    const len = new DataView(stream.buffer, stream.byteOffset + off + 1, 4).getUint32(0);
    if (off + HEADER_BYTES + len > stream.length) break;
    frames.push(stream.slice(off, off + HEADER_BYTES + len));
    off += HEADER_BYTES + len;
  }
  return frames;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A recorded session: the frames a real client sent before and after logging in. */
export interface Recording {
  login: Uint8Array[];
  commands: Uint8Array[][];
}

/**
 * Runs real client sessions through a recording proxy and returns what the client sent, one
 * frame list per command (`login` holds hello, auth_start and auth_final).
 */
export async function recordSessions(port: number): Promise<Recording> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const recorded: Uint8Array[] = [];
  const proxy = (async () => {
    const client = await listener.accept();
    const server = await Deno.connect({ hostname: "127.0.0.1", port });
    const pipe = async (from: Deno.Conn, to: Deno.Conn, record: boolean) => {
      const buf = new Uint8Array(64 * 1024);
      try {
        for (;;) {
          const n = await from.read(buf);
          if (n === null) break;
          if (record) recorded.push(buf.slice(0, n));
          await writeAll(to, buf.subarray(0, n));
        }
      } catch {
        // the other side went away
      }
      try {
        to.closeWrite();
      } catch {
        // already closed
      }
    };
    await Promise.all([pipe(client, server, true), pipe(server, client, false)]);
    client.close();
    server.close();
  })();
  const c = await FileshareClient.connect({
    hostname: "127.0.0.1",
    port: (listener.addr as Deno.NetAddr).port,
    user: USERS.alice.name,
    password: USERS.alice.password,
    tls: false,
  });
  const marks: number[] = [];
  const mark = () => marks.push(splitFrames(concat(recorded)).length);
  const bytes = (n: number, seed: number) => rng(seed).bytes(n);
  const source = (data: Uint8Array) => {
    let off = 0;
    return {
      read(p: Uint8Array) {
        if (off >= data.length) return Promise.resolve(null);
        const n = Math.min(p.length, data.length - off);
        p.set(data.subarray(off, off + n));
        off += n;
        return Promise.resolve(n);
      },
    };
  };
  const sink = () => Promise.resolve({ write: (p: Uint8Array) => Promise.resolve(p.length) });
  try {
    await c.mkdir("fz").catch(() => {});
    mark();
    const small = bytes(3000, 1);
    await c.upload(source(small), small.length, "fz/small.bin", { overwrite: true });
    mark();
    const big = bytes(300 * 1024, 2);
    await c.upload(source(big), big.length, "fz/big.bin", { overwrite: true });
    mark();
    await c.download("fz/big.bin", sink);
    mark();
    await c.list("fz");
    mark();
    await c.mkdir("fz/sub");
    mark();
    await c.rmdir("fz/sub");
    mark();
    await c.delete("fz/small.bin");
    mark();
    await c.benchMark("start", "fuzzrun", { clients: 1 });
    mark();
  } finally {
    c.close();
    await proxy;
    listener.close();
  }
  const frames = splitFrames(concat(recorded));
  const commands: Uint8Array[][] = [];
  for (let i = 1; i < marks.length; i++) commands.push(frames.slice(marks[i - 1], marks[i]));
  return { login: frames.slice(0, marks[0]), commands };
}

const UNKNOWN_OPS = ["", "x", "UPLOAD", "upload ", "hello", "auth_final", "end", "__proto__", "🙂"];

/** Replaces the op of a JSON message frame, or returns the frame as it was. */
function withOp(frame: Uint8Array, op: unknown): Uint8Array {
  if (frame[0] !== 1) return frame;
  try {
    const msg = JSON.parse(new TextDecoder().decode(frame.subarray(HEADER_BYTES)));
    msg.op = op;
    return encodeMessage(msg);
  } catch {
    return frame;
  }
}

/** Changes one field of a JSON message frame (sizes, paths, hashes). */
function withField(frame: Uint8Array, r: Rng): Uint8Array {
  if (frame[0] !== 1) return frame;
  try {
    const msg = JSON.parse(new TextDecoder().decode(frame.subarray(HEADER_BYTES)));
    const keys = Object.keys(msg);
    const key = keys[r.int(keys.length)];
    const values: unknown[] = [
      -1,
      0,
      1,
      2 ** 53,
      1e308,
      "a".repeat(5000),
      "../../etc/passwd",
      "/abs",
      null,
      [],
      {},
      true,
      "f".repeat(64),
      msg[key] + 1,
    ];
    msg[key] = values[r.int(values.length)];
    return encodeMessage(msg);
  } catch {
    return frame;
  }
}

/** One mutation of a frame list; returns the new list. */
export function mutate(frames: Uint8Array[], r: Rng): Uint8Array[] {
  const out: Uint8Array[] = frames.map((f) => f.slice());
  const pick = () => r.int(Math.max(1, out.length));
  switch (r.int(11)) {
    case 0: { // bit flips
      const f = out[pick()];
      if (f) { for (let k = 1 + r.int(4); k > 0; k--) f[r.int(f.length)] ^= 1 << r.int(8); }
      break;
    }
    case 1: { // cut the stream somewhere
      const bytes = concat(out);
      return [bytes.subarray(0, r.int(bytes.length + 1))];
    }
    case 2: { // huge or wrong length
      const f = out[pick()];
      if (f && f.length >= HEADER_BYTES) {
        const lengths = [0xffffffff, 0x7fffffff, 64 * 1024 + 1, 1024 * 1024 + 1, 0, r.int(1 << 24)];
        new DataView(f.buffer, f.byteOffset + 1, 4).setUint32(0, lengths[r.int(lengths.length)]);
      }
      break;
    }
    case 3: { // wrong frame type
      const f = out[pick()];
      if (f && f.length > 0) f[0] = [0, 2, 1, 3, 0xff, r.int(256)][r.int(6)];
      break;
    }
    case 4: { // unknown op
      const i = pick();
      if (out[i]) out[i] = withOp(out[i], UNKNOWN_OPS[r.int(UNKNOWN_OPS.length)]);
      break;
    }
    case 5: { // out of order: swap, duplicate or reverse
      if (out.length > 1) {
        const i = pick();
        const j = pick();
        const k = r.int(3);
        if (k === 0) [out[i], out[j]] = [out[j], out[i]];
        else if (k === 1) out.splice(j, 0, out[i].slice());
        else out.reverse();
      }
      break;
    }
    case 6: { // body longer than announced: an extra DATA frame before the trailer
      const extra = Uint8Array.from([2, 0, 0, 0, 16, ...r.bytes(16)]);
      out.splice(Math.max(0, out.length - 1), 0, extra);
      break;
    }
    case 7: { // body shorter than announced: drop a DATA frame
      const data = out.map((f, i) => (f[0] === 2 ? i : -1)).filter((i) => i >= 0);
      if (data.length > 0) out.splice(data[r.int(data.length)], 1);
      break;
    }
    case 8: { // wrong SHA-256 trailer
      const i = out.findLastIndex((f) => f[0] === 1);
      if (i >= 0) {
        out[i] = encodeMessage({
          op: "end",
          sha256: createHash("sha256").update(r.bytes(8)).digest("hex"),
        });
      }
      break;
    }
    case 9: { // a field of a message changed
      const i = pick();
      if (out[i]) out[i] = withField(out[i], r);
      break;
    }
    default: // random bytes where a frame was
      out.splice(pick(), 0, r.bytes(1 + r.int(64)));
  }
  return out;
}

/** Sends `bytes`, reads whatever comes back for a short while, then closes. */
async function sendAndDrain(
  conn: { writeAll(b: Uint8Array): Promise<void> } & {
    readMessage(): Promise<unknown>;
    close(): void;
  },
  bytes: Uint8Array,
): Promise<void> {
  await conn.writeAll(bytes).catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const drained = (async () => {
    for (;;) if ((await conn.readMessage()) === null) return;
  })().catch(() => {});
  await Promise.race([drained, new Promise((res) => (timer = setTimeout(res, 30)))]);
  clearTimeout(timer);
  conn.close();
  await drained;
}

/** Options of {@link runFuzz}. */
export interface FuzzOptions {
  /** Frames to send in all (at least). */
  frames: number;
  seed?: number;
  /** Connections fuzzing at once. */
  parallel?: number;
  /** Progress lines go here. */
  log?: (line: string) => void;
}

/** What a fuzz run saw. */
export interface FuzzResult {
  frames: number;
  connections: number;
  goodRounds: number;
  goodFailures: string[];
  peakRssMiB: number;
  serverAlive: boolean;
  outsideChanged: string[];
  ms: number;
}

async function snapshot(dir: string, skip: (rel: string) => boolean): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const rel of await listTree(dir)) {
    if (skip(rel)) continue;
    if (rel.endsWith("/")) out.set(rel, "dir");
    else {out.set(
        rel,
        createHash("sha256").update(await Deno.readFile(`${dir}/${rel}`)).digest("hex"),
      );}
  }
  return out;
}

/**
 * Fuzzes a fresh child-process server: mutated recorded sessions from `parallel` connections
 * (one in three before login), while a good client uploads, downloads and compares hashes.
 */
export async function runFuzz(options: FuzzOptions): Promise<FuzzResult> {
  const log = options.log ?? (() => {});
  const r = rng(options.seed ?? 1);
  // Clear text: the mutations must reach the protocol's own parser (TLS would refuse a flipped
  // bit in its record layer before the server's code saw it).
  // The fuzzer's own address is trusted by the login guard: a few of its mutated logins are
  // well-formed wrong ones, and from the 6th the guard would let one login a second through
  // from the address, fuzzer and good client alike (seen: a 100,000-frame run crawling after
  // 90,040 frames). The guard has its own tests (login_guard_test.ts).
  await using target = await startTarget(["--no-tls", "--trusted-network", "127.0.0.1/32"]);
  // Files outside the root that nothing may touch.
  await Deno.mkdir(`${target.dir}/outside`);
  await Deno.writeTextFile(`${target.dir}/outside/secret.txt`, "outside the root");
  await Deno.symlink(`${target.dir}/outside`, `${target.root}/link-out`).catch(() => {});
  const isOwn = (rel: string) =>
    rel.startsWith("root/") || rel === "root/" || rel.startsWith("log.jsonl");
  const before = await snapshot(target.dir, isOwn);
  const rec = await recordSessions(target.port);
  const started = performance.now();
  let frames = 0;
  let connections = 0;
  let peak = rssMiB(target.pid);
  let stop = false;

  const good = { rounds: 0, failures: [] as string[] };
  const goodLoop = (async () => {
    await Deno.mkdir(`${target.root}/goodclient-zq`).catch(() => {});
    while (!stop) {
      try {
        await using c = await target.connect();
        for (let k = 0; k < 5 && !stop; k++) {
          const data = r.bytes(1 + r.int(200_000));
          const want = createHash("sha256").update(data).digest("hex");
          let off = 0;
          const src = {
            read(p: Uint8Array) {
              if (off >= data.length) return Promise.resolve(null);
              const n = Math.min(p.length, data.length - off);
              p.set(data.subarray(off, off + n));
              off += n;
              return Promise.resolve(n);
            },
          };
          const name = `goodclient-zq/f${good.rounds}.bin`;
          const up = await c.upload(src, data.length, name, { overwrite: true });
          const hash = createHash("sha256");
          const down = await c.download(name, () =>
            Promise.resolve({
              write: (p: Uint8Array) => {
                hash.update(p);
                return Promise.resolve(p.length);
              },
            }));
          if (up.sha256 !== want || down.sha256 !== want || hash.digest("hex") !== want) {
            throw new Error(`hash mismatch on ${name}`);
          }
          await c.delete(name);
          good.rounds++;
        }
      } catch (err) {
        good.failures.push(String(err));
        if (good.failures.length > 20) return;
      }
    }
  })();

  const parallel = options.parallel ?? 8;
  let lastReport = 0;
  const worker = async () => {
    while (frames < options.frames) {
      const preLogin = r.int(3) === 0;
      let seq: Uint8Array[];
      if (preLogin) seq = rec.login.map((f) => f.slice());
      else {
        seq = [];
        // A few commands in a row, as a session would send them.
        for (let k = 1 + r.int(3); k > 0; k--) {
          seq.push(...rec.commands[r.int(rec.commands.length)]);
        }
      }
      for (let k = 1 + r.int(3); k > 0; k--) seq = mutate(seq, r);
      try {
        const conn = await rawSession(target.port, { login: !preLogin, plain: true });
        connections++;
        frames += seq.length;
        await sendAndDrain(conn, concat(seq));
      } catch (err) {
        // A refused login or a connection the server cut is part of the game; a server that
        // no longer answers is not.
        if (!(await alive())) throw err;
      }
      const rss = rssMiB(target.pid);
      if (rss > peak) peak = rss;
      if (frames - lastReport >= 10_000) {
        lastReport = frames;
        log(`${frames} frames, ${connections} connections, server RSS ${rss} MiB`);
      }
    }
  };
  const alive = async () => {
    const status = await Promise.race([
      target.server.process.status.then(() => "exited"),
      new Promise((res) => setTimeout(() => res("running"), 10)),
    ]);
    return status === "running";
  };
  try {
    await Promise.all(Array.from({ length: parallel }, worker));
  } finally {
    stop = true;
    await goodLoop;
  }
  const serverAlive = await alive();
  // One more good round after the storm.
  {
    await using c = await target.connect();
    await c.list("");
  }
  const after = await snapshot(target.dir, isOwn);
  const outsideChanged = [...new Set([...before.keys(), ...after.keys()])].filter((k) =>
    before.get(k) !== after.get(k)
  );
  return {
    frames,
    connections,
    goodRounds: good.rounds,
    goodFailures: good.failures,
    peakRssMiB: peak,
    serverAlive,
    outsideChanged,
    ms: performance.now() - started,
  };
}
