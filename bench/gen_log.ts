/**
 * Writes a realistic activity log for benchmarks and the report screenshot: several users on
 * links of different speeds, overlapping sessions with uploads and downloads of sizes from a
 * few KB to over 1 GB, failed logins from a scanning address, command errors, idle timeouts
 * and a `client bench` run on its own connections. Deterministic for a given seed; about
 * `lines` lines, streamed to disk in 1 MiB writes.
 *
 * @example
 * ```sh
 * deno run -A bench/gen_log.ts --lines 1000000 --out /tmp/big.jsonl
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { writeAll } from "../lib/write_all.ts";

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

/** Users, how often each one connects, and the speed of their link in bytes per second. */
const USERS = [
  { name: "alice", weight: 5, link: 600e6 },
  { name: "bob", weight: 4, link: 300e6 },
  { name: "carol", weight: 3, link: 110e6 },
  { name: "dave", weight: 2, link: 45e6 },
  { name: "erin", weight: 2, link: 11e6 },
  { name: "frank", weight: 1, link: 110e6, readOnly: true },
];
const WEIGHTS = USERS.reduce((s, u) => s + u.weight, 0);
const SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const BENCH_CLIENTS = 8;
const BENCH_FILES = 4;
const BENCH_SIZE = 16_777_216;

/** Options of {@link writeSampleLog}. */
export interface SampleLogOptions {
  /** Lines to write, give or take one (at least 2: server_start and server_stop). */
  lines: number;
  /** Time of the first line (ms since the epoch). */
  start?: number;
  /** Time the log spans (ms). */
  spanMs?: number;
  seed?: number;
}

interface Session {
  conn: number;
  remote: string;
  user: string;
  link: number;
  readOnly: boolean;
  connected: boolean;
  authed: boolean;
  /** An address trying passwords: fails to log in, then leaves. */
  scanner: boolean;
  opsLeft: number;
  openedAt: number;
  run?: string;
}

/**
 * Writes a sample log of `options.lines` lines (or one more; at least 2) to `path`; returns
 * the count. Sessions overlap (2 to 6 at a time, rising and falling over the span); each ends
 * with its `disconnect` before the final `server_stop`.
 */
export async function writeSampleLog(path: string, options: SampleLogOptions): Promise<number> {
  const random = rng(options.seed ?? 42);
  const lines = Math.max(2, Math.floor(options.lines));
  const start = options.start ?? Date.parse("2026-11-24T09:00:00.000Z");
  const span = options.spanMs ?? 3_600_000;
  const step = span / lines;
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const enc = new TextEncoder();
  let buffer: string[] = [];
  let size = 0;
  let written = 0;
  let t = start;
  let conn = 0;
  const flush = async () => {
    await writeAll(file, enc.encode(buffer.join("")));
    buffer = [];
    size = 0;
  };
  // During the load test events come fast; otherwise one every `step` ms on average.
  let fast = false;
  const emit = async (o: Record<string, unknown>) => {
    t += fast ? 2 + random() * 20 : step * (0.5 + random());
    const text = JSON.stringify({ ts: new Date(t).toISOString(), ...o }) + "\n";
    buffer.push(text);
    size += text.length;
    written++;
    if (size > 1024 * 1024) await flush();
  };
  const pickUser = () => {
    let w = random() * WEIGHTS;
    for (const u of USERS) {
      w -= u.weight;
      if (w < 0) return u;
    }
    return USERS[0];
  };
  const base = (s: Session) => {
    const o: Record<string, unknown> = { conn: s.conn, remote: s.remote };
    if (s.authed) o.user = s.user;
    if (s.run !== undefined) o.run = s.run;
    return o;
  };
  const newSession = (run?: string): Session => {
    conn++;
    const scanner = run === undefined && random() < 0.05;
    const u = run === undefined ? pickUser() : USERS[0];
    const host = scanner
      ? `203.0.113.${7 + Math.floor(random() * 3)}`
      : `10.0.${USERS.indexOf(u)}.${10 + Math.floor(random() * 5)}`;
    return {
      conn,
      remote: `${host}:${40000 + (conn * 7919) % 20000}`,
      user: scanner ? (random() < 0.6 ? "admin" : "root") : u.name,
      link: u.link,
      readOnly: u.readOnly === true,
      connected: false,
      authed: false,
      scanner,
      opsLeft: run === undefined ? 1 + Math.floor(random() * 14) : BENCH_FILES,
      openedAt: t,
      run,
    };
  };

  const transfer = (s: Session, kind: "upload" | "download", bytes: number) => {
    // Per-request latency, then the link's speed with some wobble; downloads a bit faster.
    const rate = s.link * (0.7 + random() * 0.6) * (kind === "download" ? 1.1 : 1);
    return Math.round((0.4 + random() * 2.5 + (bytes / rate) * 1000) * 1000) / 1000;
  };
  const command = (s: Session): Record<string, unknown> => {
    const b = base(s);
    if (s.run !== undefined) {
      const i = BENCH_FILES - s.opsLeft;
      const ms = transfer(s, "upload", BENCH_SIZE) * (2 + random());
      return {
        event: "upload",
        ok: true,
        ...b,
        path: `bench-${s.run}/c${s.conn % BENCH_CLIENTS}-f${i}`,
        bytes: BENCH_SIZE,
        size: BENCH_SIZE,
        ms,
        sha256: SHA,
        overwrite: false,
      };
    }
    const r = random();
    const dir = `projects/p${Math.floor(random() * 30)}`;
    const filePath = `${dir}/file-${Math.floor(random() * 1000)}.bin`;
    // Sizes from 1 kB to about 2 GB, most of them small.
    const bytes = Math.round(10 ** (3 + 6.3 * random() ** 1.6));
    if (r < 0.4) {
      if (s.readOnly) {
        return {
          event: "upload",
          ok: false,
          ...b,
          path: filePath,
          bytes: 0,
          size: bytes,
          ms: 0.3,
          code: "DENIED",
          message: `Cannot upload "${filePath}": your account is read-only`,
          overwrite: false,
        };
      }
      const fail = random();
      if (fail < 0.03) {
        return {
          event: "upload",
          ok: false,
          ...b,
          path: filePath,
          bytes: 0,
          size: bytes,
          ms: 0.4,
          code: "EXISTS",
          message: `Cannot upload "${filePath}": file already exists (use --overwrite)`,
          overwrite: false,
        };
      }
      if (fail < 0.04 && bytes > 1e6) {
        const moved = Math.floor(bytes * random());
        return {
          event: "upload",
          ok: false,
          ...b,
          path: filePath,
          bytes: moved,
          size: bytes,
          ms: transfer(s, "upload", moved),
          code: "CANCELLED",
          message: `Upload of "${filePath}" cancelled by the client`,
          overwrite: false,
        };
      }
      return {
        event: "upload",
        ok: true,
        ...b,
        path: filePath,
        bytes,
        size: bytes,
        ms: transfer(s, "upload", bytes),
        sha256: SHA,
        overwrite: random() < 0.2,
      };
    }
    if (r < 0.8) {
      if (random() < 0.05) {
        return {
          event: "download",
          ok: false,
          ...b,
          path: filePath,
          bytes: 0,
          size: 0,
          ms: 0.3,
          code: "NOT_FOUND",
          message: `File "${filePath}" not found`,
        };
      }
      return {
        event: "download",
        ok: true,
        ...b,
        path: filePath,
        bytes,
        size: bytes,
        ms: transfer(s, "download", bytes),
        sha256: SHA,
      };
    }
    if (r < 0.92) {
      return {
        event: "dir",
        ok: true,
        ...b,
        path: dir,
        ms: Math.round((0.3 + random()) * 1000) / 1000,
        entries: Math.floor(random() * 80),
      };
    }
    if (r < 0.97 && !s.readOnly) {
      const ok = random() > 0.1;
      return ok ? { event: "delete", ok, ...b, path: filePath, ms: 0.5 } : {
        event: "delete",
        ok,
        ...b,
        path: filePath,
        ms: 0.2,
        code: "NOT_FOUND",
        message: `File "${filePath}" not found`,
      };
    }
    return s.readOnly
      ? {
        event: "mkdir",
        ok: false,
        ...b,
        path: `${dir}/new`,
        ms: 0.2,
        code: "DENIED",
        message: `Cannot create folder "${dir}/new": your account is read-only`,
      }
      : { event: "mkdir", ok: true, ...b, path: `${dir}/new`, ms: 0.4 };
  };

  await emit({
    event: "server_start",
    ok: true,
    host: "0.0.0.0",
    port: 9000,
    version: "0.1.0",
    pid: 4242,
    root: "/srv/share",
  });
  const active: Session[] = [];
  let bench: { run: string; control: Session; startedAt: number; left: number } | null = null;
  let benchDone = lines < 400;
  // Lines still owed: a disconnect per connected session, and bench_end while a run is open.
  const owed = () => active.reduce((n, s) => n + (s.connected ? 1 : 0), 0) + (bench ? 1 : 0);
  // Ends a session: its disconnect if it connected, and bench_end after the run's last one.
  const disconnect = async (s: Session) => {
    active.splice(active.indexOf(s), 1);
    if (s.connected) {
      await emit({
        event: "disconnect",
        ok: true,
        ...base(s),
        ms: Math.round(t - s.openedAt + 1),
      });
    }
    if (bench && s.run === bench.run && --bench.left === 0) {
      await emit({
        event: "bench_end",
        ok: true,
        ...base(bench.control),
        run: bench.run,
        ops: BENCH_CLIENTS * BENCH_FILES,
        errors: 0,
        bytes: BENCH_CLIENTS * BENCH_FILES * BENCH_SIZE,
        ms: Math.round(t - bench.startedAt + 5),
      });
      bench = null;
      fast = false;
    }
  };

  // Room for the lines still owed, then the final server_stop: the count ends within one line
  // of `lines` (a step may write two lines while owing one less).
  while (written + owed() + 1 < lines) {
    const left = lines - 1 - written;
    if (!benchDone && !bench && written > lines * 0.55 && left > 200) {
      benchDone = true;
      const control = active.find((s) => s.authed && s.user === "alice" && s.run === undefined);
      if (control) {
        const run = "run-7f3a";
        bench = { run, control, startedAt: t, left: BENCH_CLIENTS };
        await emit({
          event: "bench_start",
          ok: true,
          ...base(control),
          run,
          ms: 0.2,
          clients: BENCH_CLIENTS,
          files: BENCH_FILES,
          size: BENCH_SIZE,
          op: "upload",
        });
        for (let i = 0; i < BENCH_CLIENTS; i++) active.push(newSession(run));
        fast = true;
        continue;
      } else benchDone = false;
    }
    // Between 2 and 6 sessions at once, rising and falling twice over the span.
    const phase = (t - start) / span;
    const target = 2 + Math.round(4 * (0.5 + 0.5 * Math.sin(phase * 4 * Math.PI)));
    if (!fast && active.length < target && random() < 0.5 && left > owed() + 2) {
      active.push(newSession());
    }
    const s = active[Math.floor(random() * active.length)];
    if (!s) {
      active.push(newSession());
      continue;
    }
    if (!s.connected) {
      s.connected = true;
      s.openedAt = t;
      await emit({ event: "connect", ok: true, ...base(s) });
    } else if (!s.authed) {
      if (s.scanner) {
        await emit({
          event: "auth_fail",
          ok: false,
          ...base(s),
          user: s.user,
          code: "AUTH_FAILED",
          message: "Authentication failed: wrong user name or password",
        });
        if (random() < 0.5) await disconnect(s);
      } else {
        s.authed = true;
        await emit({ event: "auth_ok", ok: true, ...base(s) });
      }
    } else if (s.opsLeft > 0) {
      s.opsLeft--;
      await emit(command(s));
    } else if (s.run === undefined && random() < 0.04) {
      await emit({
        event: "error",
        ok: false,
        ...base(s),
        code: "TIMEOUT",
        message: "Connection idle for 300 s: closed",
      });
      await disconnect(s);
    } else if (s !== bench?.control) await disconnect(s);
  }
  // Wind down: close what is still open (bench sessions that never connected just vanish).
  while (active.length > 0) await disconnect(active[Math.floor(random() * active.length)]);
  await emit({ event: "server_stop", ok: true, pid: 4242, reason: "SIGTERM", ms: t - start });
  await flush();
  return written;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      lines: { type: "string", default: "5000" },
      out: { type: "string", default: "sample.jsonl" },
      span: { type: "string", default: "3600" },
    },
  });
  const n = await writeSampleLog(values.out, {
    lines: Number(values.lines),
    spanMs: Number(values.span) * 1000,
  });
  console.log(`wrote ${n} lines to ${values.out}`);
}
