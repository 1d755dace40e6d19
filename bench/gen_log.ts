/**
 * Writes a realistic activity log for benchmarks and the report screenshot: several users,
 * sessions with uploads and downloads of varied sizes, failed logins, errors and a load-test
 * run, spread over time. Deterministic for a given seed; streamed to disk in 1 MiB writes.
 *
 * @example
 * ```sh
 * deno run -A bench/gen_log.ts --lines 1000000 --out /tmp/big.jsonl
 * ```
 * @module
 */
import { parseArgs } from "node:util";

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

const USERS = ["alice", "bob", "carol", "dave", "erin", "frank"];
const SIZES = [4096, 65536, 900_000, 3_000_000, 16_000_000, 80_000_000, 400_000_000, 1_100_000_000];

/** Options of {@link writeSampleLog}. */
export interface SampleLogOptions {
  /** Lines to write (about). */
  lines: number;
  /** Time of the first line (ms since the epoch). */
  start?: number;
  /** Time the log spans (ms). */
  spanMs?: number;
  seed?: number;
}

/** Writes a sample log of about `options.lines` lines to `path`. */
export async function writeSampleLog(path: string, options: SampleLogOptions): Promise<number> {
  const random = rng(options.seed ?? 42);
  const start = options.start ?? Date.parse("2026-11-24T09:00:00.000Z");
  const span = options.spanMs ?? 3_600_000;
  const step = span / Math.max(1, options.lines);
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const enc = new TextEncoder();
  let buffer: string[] = [];
  let size = 0;
  let written = 0;
  let t = start;
  let conn = 0;
  const flush = async () => {
    const bytes = enc.encode(buffer.join(""));
    let off = 0;
    while (off < bytes.length) off += await file.write(bytes.subarray(off));
    buffer = [];
    size = 0;
  };
  const emit = async (o: Record<string, unknown>) => {
    t += step * (0.5 + random());
    const text = JSON.stringify({ ts: new Date(t).toISOString(), ...o }) + "\n";
    buffer.push(text);
    size += text.length;
    written++;
    if (size > 1024 * 1024) await flush();
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
  let benchDone = false;
  while (written < options.lines - 1) {
    conn++;
    const remote = `10.0.${Math.floor(random() * 4)}.${10 + Math.floor(random() * 40)}:${
      40000 + conn % 20000
    }`;
    const base = { conn, remote };
    await emit({ event: "connect", ok: true, ...base });
    if (random() < 0.04) {
      await emit({
        event: "auth_fail",
        ok: false,
        ...base,
        user: random() < 0.5 ? "admin" : "root",
        code: "AUTH_FAILED",
        message: "Authentication failed: wrong user name or password",
      });
      await emit({ event: "disconnect", ok: true, ...base, ms: Math.round(200 + random() * 300) });
      continue;
    }
    const user = USERS[Math.floor(random() ** 1.6 * USERS.length)];
    const session = { ...base, user };
    await emit({ event: "auth_ok", ok: true, ...session });
    if (!benchDone && written > options.lines / 2) {
      benchDone = true;
      const run = "run-7f3a";
      await emit({
        event: "bench_start",
        ok: true,
        ...session,
        run,
        clients: 8,
        files: 4,
        size: 16_777_216,
        op: "upload",
      });
      for (let i = 0; i < 32; i++) {
        const ms = 60 + random() * 90;
        await emit({
          event: "upload",
          ok: true,
          ...session,
          run,
          path: `bench-${run}/c${i % 8}-f${i >> 3}`,
          bytes: 16_777_216,
          size: 16_777_216,
          ms,
          sha256: "0".repeat(64),
          overwrite: false,
        });
      }
      await emit({
        event: "bench_end",
        ok: true,
        ...session,
        run,
        ops: 32,
        errors: 0,
        bytes: 32 * 16_777_216,
        ms: 1180,
      });
    }
    const ops = 1 + Math.floor(random() * 12);
    let sessionMs = 0;
    for (let i = 0; i < ops && written < options.lines - 1; i++) {
      const r = random();
      const size = SIZES[Math.floor(random() ** 1.4 * SIZES.length)];
      const path = `projects/p${Math.floor(random() * 50)}/file-${Math.floor(random() * 1000)}.bin`;
      // Rates grow with size (per-file overhead) and wobble with load.
      const rate = (40 + 560 * (1 - Math.exp(-size / 30_000_000))) * (0.6 + random() * 0.8) * 1e6;
      const ms = Math.max(0.2, (size / rate) * 1000);
      sessionMs += ms + 50;
      if (r < 0.42) {
        const ok = random() > 0.03;
        await emit(
          ok
            ? {
              event: "upload",
              ok,
              ...session,
              path,
              bytes: size,
              size,
              ms,
              sha256: "0".repeat(64),
              overwrite: false,
            }
            : {
              event: "upload",
              ok,
              ...session,
              path,
              bytes: 0,
              size,
              ms: 0.4,
              code: "EXISTS",
              message: `Cannot upload "${path}": file already exists (use --overwrite)`,
              overwrite: false,
            },
        );
      } else if (r < 0.82) {
        const ok = random() > 0.04;
        await emit(
          ok
            ? {
              event: "download",
              ok,
              ...session,
              path,
              bytes: size,
              size,
              ms,
              sha256: "0".repeat(64),
            }
            : {
              event: "download",
              ok,
              ...session,
              path,
              bytes: 0,
              size: 0,
              ms: 0.3,
              code: "NOT_FOUND",
              message: `Cannot download "${path}": not found`,
            },
        );
      } else if (r < 0.93) {
        await emit({ event: "dir", ok: true, ...session, path: "projects", ms: 0.8, entries: 50 });
      } else if (r < 0.97) {
        await emit({ event: "delete", ok: true, ...session, path, ms: 0.5 });
      } else {
        await emit({
          event: "mkdir",
          ok: user !== "frank",
          ...session,
          path: "projects/new",
          ms: 0.4,
          ...(user === "frank"
            ? {
              code: "DENIED",
              message: 'Cannot create folder "projects/new": your account is read-only',
            }
            : {}),
        });
      }
    }
    await emit({
      event: "disconnect",
      ok: true,
      ...session,
      ms: Math.round(sessionMs + 1000 + random() * 60000),
    });
  }
  await emit({ event: "server_stop", ok: true, pid: 4242, reason: "SIGTERM", ms: span });
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
