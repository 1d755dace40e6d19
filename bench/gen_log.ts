/**
 * Writes a realistic activity log for benchmarks and the report screenshot: several users on
 * links of different speeds, overlapping sessions with uploads and downloads of sizes from a
 * few KB to over 1 GB, failed logins from a scanning address, command errors, idle timeouts
 * and a `client bench` run on its own connections. Every line has the fields, in the order,
 * that the server writes them (lib/server/session.ts, lib/server/handlers.ts), including the
 * SHA-256 of each successful transfer, so line lengths are those of a real log. Deterministic
 * for a given seed; about `lines` lines, streamed to disk in 1 MiB writes.
 *
 * @example
 * ```sh
 * deno run -A bench/gen_log.ts --lines 1000000 --mix transfers --out /tmp/big.jsonl
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
const BENCH_CLIENTS = 8;
const BENCH_FILES = 4;
const BENCH_SIZE = 16_777_216;
const BENCH_RUN = "run-7f3a";
const FLUSH_BYTES = 1024 * 1024;

/** Options of {@link writeSampleLog}. */
export interface SampleLogOptions {
  /** Lines to write, give or take one (at least 2: server_start and server_stop). */
  lines: number;
  /** Time of the first line (ms since the epoch). */
  start?: number;
  /** Time the log spans (ms). */
  spanMs?: number;
  seed?: number;
  /**
   * `mixed` (default): every kind of command, sessions of 1 to 14 commands. `transfers`: long
   * sessions of uploads and downloads only (with their failures), so nearly every line is a
   * transfer, the heaviest lines a server writes.
   */
  mix?: "mixed" | "transfers";
}

/** The `--mix` flag's value as a {@link SampleLogOptions} mix. */
export function parseMix(text: string): "mixed" | "transfers" {
  if (text !== "mixed" && text !== "transfers") {
    throw new TypeError(`Invalid --mix "${text}": use mixed or transfers`);
  }
  return text;
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

type Fields = Record<string, unknown>;

/** Server durations: fractional ms rounded to µs, as lib/server/session.ts logs them. */
const micros = (ms: number) => Math.round(ms * 1000) / 1000;

/** Lines collected into 1 MiB writes. */
class LineSink {
  #file: Deno.FsFile;
  #parts: string[] = [];
  #size = 0;
  #encoder = new TextEncoder();

  constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  async write(line: string): Promise<void> {
    this.#parts.push(line);
    this.#size += line.length;
    if (this.#size > FLUSH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    await writeAll(this.#file, this.#encoder.encode(this.#parts.join("")));
    this.#parts = [];
    this.#size = 0;
  }
}

/** The state of one generated log: the clock, the open sessions and the load-test run. */
class SampleLog {
  readonly random: () => number;
  readonly lines: number;
  readonly start: number;
  readonly span: number;
  readonly mix: "mixed" | "transfers";
  #sink: LineSink;
  #step: number;
  written = 0;
  t: number;
  #conn = 0;
  /** During the load test events come fast; otherwise one every `#step` ms on average. */
  fast = false;
  active: Session[] = [];
  bench: { control: Session; startedAt: number; left: number } | null = null;
  benchDone: boolean;

  constructor(sink: LineSink, options: SampleLogOptions) {
    this.random = rng(options.seed ?? 42);
    this.lines = Math.max(2, Math.floor(options.lines));
    this.start = options.start ?? Date.parse("2026-11-24T09:00:00.000Z");
    this.span = options.spanMs ?? 3_600_000;
    this.mix = options.mix ?? "mixed";
    this.#sink = sink;
    this.#step = this.span / this.lines;
    this.t = this.start;
    this.benchDone = this.lines < 400;
  }

  /** Writes one event as the server's ActivityLog does: `ts` first, then the fields. */
  async emit(o: Fields): Promise<void> {
    this.t += this.fast ? 2 + this.random() * 20 : this.#step * (0.5 + this.random());
    await this.#sink.write(JSON.stringify({ ts: new Date(this.t).toISOString(), ...o }) + "\n");
    this.written++;
  }

  async flush(): Promise<void> {
    await this.#sink.flush();
  }

  /** Lines still owed: a disconnect per connected session, and bench_end while a run is open. */
  owed(): number {
    return this.active.reduce((n, s) => n + (s.connected ? 1 : 0), 0) + (this.bench ? 1 : 0);
  }

  /** A fresh 64-digit hex digest for a transfer. */
  sha256(): string {
    let hex = "";
    for (let i = 0; i < 8; i++) {
      hex += Math.floor(this.random() * 0x100000000).toString(16).padStart(8, "0");
    }
    return hex;
  }

  newSession(run?: string): Session {
    const conn = ++this.#conn;
    const random = this.random;
    const scanner = run === undefined && random() < (this.mix === "mixed" ? 0.05 : 0.002);
    const u = run === undefined ? pickUser(random) : USERS[0];
    const host = scanner
      ? `203.0.113.${7 + Math.floor(random() * 3)}`
      : `10.0.${USERS.indexOf(u)}.${10 + Math.floor(random() * 5)}`;
    const ops = run !== undefined
      ? BENCH_FILES
      : this.mix === "mixed"
      ? 1 + Math.floor(random() * 14)
      : 500 + Math.floor(random() * 1500);
    return {
      conn,
      remote: `${host}:${40000 + (conn * 7919) % 20000}`,
      user: scanner ? (random() < 0.6 ? "admin" : "root") : u.name,
      link: u.link,
      readOnly: u.readOnly === true,
      connected: false,
      authed: false,
      scanner,
      opsLeft: ops,
      openedAt: this.t,
      run,
    };
  }
}

function pickUser(random: () => number): typeof USERS[number] {
  let w = random() * WEIGHTS;
  for (const u of USERS) {
    w -= u.weight;
    if (w < 0) return u;
  }
  return USERS[0];
}

/** The fields every session event starts with, in the server's order (Session#base). */
function head(s: Session, event: string, ok: boolean): Fields {
  const o: Fields = { event, ok, conn: s.conn, remote: s.remote };
  if (s.authed) o.user = s.user;
  if (s.run !== undefined) o.run = s.run;
  return o;
}

/** A failure's fields, appended after what the handler had set, then `ms` (session.ts). */
function failed(o: Fields, code: string, message: string, ms: number): Fields {
  o.ok = false;
  o.code = code;
  o.message = message;
  o.ms = micros(ms);
  return o;
}

/** Server time of a transfer: per-request latency, then the link's speed with some wobble. */
function transferMs(log: SampleLog, s: Session, kind: "upload" | "download", bytes: number) {
  const rate = s.link * (0.7 + log.random() * 0.6) * (kind === "download" ? 1.1 : 1);
  return micros(0.4 + log.random() * 2.5 + (bytes / rate) * 1000);
}

/** An upload as handleUpload logs it: path, size, bytes, overwrite, then the outcome. */
function uploadEvent(log: SampleLog, s: Session, path: string, size: number): Fields {
  const random = log.random;
  const overwrite = random() < 0.2;
  const o: Fields = { ...head(s, "upload", true), path, size, bytes: 0, overwrite };
  if (s.readOnly) {
    return failed(o, "DENIED", `Cannot upload "${path}": your account is read-only`, 0.3);
  }
  const fail = random();
  if (fail < 0.03 && !overwrite) {
    return failed(
      o,
      "EXISTS",
      `Cannot upload "${path}": file already exists (use --overwrite)`,
      0.4,
    );
  }
  if (fail < 0.04 && size > 1e6) {
    o.bytes = Math.floor(size * random());
    const message = `Upload of "${path}" cancelled by the client`;
    return failed(o, "CANCELLED", message, transferMs(log, s, "upload", o.bytes as number));
  }
  o.bytes = size;
  o.sha256 = log.sha256();
  o.ms = transferMs(log, s, "upload", size);
  return o;
}

/** A download as handleDownload logs it: path, bytes, size once open, then the outcome. */
function downloadEvent(log: SampleLog, s: Session, path: string, size: number): Fields {
  const o: Fields = { ...head(s, "download", true), path, bytes: 0 };
  if (log.random() < 0.05) return failed(o, "NOT_FOUND", `File "${path}" not found`, 0.3);
  o.size = size;
  o.bytes = size;
  o.sha256 = log.sha256();
  o.ms = transferMs(log, s, "download", size);
  return o;
}

/** One of the load test's uploads: 16 MiB each, slower since eight run at once. */
function benchUpload(log: SampleLog, s: Session): Fields {
  const i = BENCH_FILES - s.opsLeft;
  const path = `bench-${s.run}/c${s.conn % BENCH_CLIENTS}-f${i}`;
  const o: Fields = { ...head(s, "upload", true), path, size: BENCH_SIZE, bytes: BENCH_SIZE };
  Object.assign(o, { overwrite: false, sha256: log.sha256() });
  o.ms = micros(transferMs(log, s, "upload", BENCH_SIZE) * (2 + log.random()));
  return o;
}

/** dir, delete or mkdir, with the failures a read-only user or a stale path meets. */
function otherCommand(log: SampleLog, s: Session, r: number, dir: string, path: string): Fields {
  const random = log.random;
  if (r < 0.92) {
    const ms = micros(0.3 + random());
    return { ...head(s, "dir", true), path: dir, entries: Math.floor(random() * 80), ms };
  }
  if (r < 0.97 && !s.readOnly) {
    const o = { ...head(s, "delete", true), path };
    if (random() > 0.1) return { ...o, ms: 0.5 };
    return failed(o, "NOT_FOUND", `File "${path}" not found`, 0.2);
  }
  const o = { ...head(s, "mkdir", true), path: `${dir}/new` };
  if (!s.readOnly) return { ...o, ms: 0.4 };
  const message = `Cannot create folder "${dir}/new": your account is read-only`;
  return failed(o, "DENIED", message, 0.2);
}

/** The next command of a logged-in session. */
function command(log: SampleLog, s: Session): Fields {
  if (s.run !== undefined) return benchUpload(log, s);
  const random = log.random;
  const r = random();
  const dir = `${FOLDERS[Math.floor(random() * 6)]}/p${Math.floor(random() * 30)}`;
  const path = `${dir}/${NAMES[Math.floor(random() * 8)]}-${Math.floor(random() * 10000)}.bin`;
  // Sizes from 1 kB to about 2 GB, most of them small.
  const size = Math.round(10 ** (3 + 6.3 * random() ** 1.6));
  const [up, down] = log.mix === "mixed" ? [0.4, 0.8] : [0.5, 1];
  if (r < up) return uploadEvent(log, s, path, size);
  if (r < down) return downloadEvent(log, s, path, size);
  return otherCommand(log, s, r, dir, path);
}

const FOLDERS = ["raw", "video", "docs", "backup", "shared", "photos"];
const NAMES = ["scan", "frame", "data", "export", "snap", "build", "photo", "notes"];

/** Ends a session: its disconnect if it connected, and bench_end after the run's last one. */
async function disconnect(log: SampleLog, s: Session): Promise<void> {
  log.active.splice(log.active.indexOf(s), 1);
  if (s.connected) {
    await log.emit({ ...head(s, "disconnect", true), ms: Math.round(log.t - s.openedAt + 1) });
  }
  const bench = log.bench;
  if (bench && s.run === BENCH_RUN && --bench.left === 0) {
    await log.emit({
      ...head(bench.control, "bench_end", true),
      run: BENCH_RUN,
      ops: BENCH_CLIENTS * BENCH_FILES,
      errors: 0,
      bytes: BENCH_CLIENTS * BENCH_FILES * BENCH_SIZE,
      ms: Math.round(log.t - bench.startedAt + 5),
    });
    log.bench = null;
    log.fast = false;
  }
}

/** Starts the load test on a logged-in session of alice; false when none is open yet. */
async function startBench(log: SampleLog): Promise<boolean> {
  const control = log.active.find((s) => s.authed && s.user === "alice" && s.run === undefined);
  if (!control) return false;
  log.bench = { control, startedAt: log.t, left: BENCH_CLIENTS };
  await log.emit({
    ...head(control, "bench_mark", true),
    event: "bench_start",
    run: BENCH_RUN,
    clients: BENCH_CLIENTS,
    files: BENCH_FILES,
    size: BENCH_SIZE,
    op: "upload",
    ms: 0.2,
  });
  for (let i = 0; i < BENCH_CLIENTS; i++) log.active.push(log.newSession(BENCH_RUN));
  log.fast = true;
  return true;
}

/** Moves one session on by one event: connect, login, a command or its end. */
async function advance(log: SampleLog, s: Session): Promise<void> {
  if (!s.connected) {
    s.connected = true;
    s.openedAt = log.t;
    await log.emit(head(s, "connect", true));
  } else if (!s.authed) {
    if (s.scanner) {
      await log.emit({
        ...head(s, "auth_fail", false),
        user: s.user,
        code: "AUTH_FAILED",
        message: "Authentication failed: wrong user name or password",
      });
      if (log.random() < 0.5) await disconnect(log, s);
    } else {
      s.authed = true;
      await log.emit(head(s, "auth_ok", true));
    }
  } else if (s.opsLeft > 0) {
    s.opsLeft--;
    await log.emit(command(log, s));
  } else if (s.run === undefined && log.random() < 0.04) {
    const message = "Connection idle for 300 s: closed";
    await log.emit({ ...head(s, "error", false), code: "TIMEOUT", message });
    await disconnect(log, s);
  } else if (s !== log.bench?.control) await disconnect(log, s);
}

/** One step of the main loop: maybe the load test or a new session, then one event. */
async function step(log: SampleLog): Promise<void> {
  const left = log.lines - 1 - log.written;
  if (!log.benchDone && !log.bench && log.written > log.lines * 0.55 && left > 200) {
    log.benchDone = await startBench(log);
    if (log.benchDone) return;
  }
  // Between 2 and 6 sessions at once, rising and falling twice over the span.
  const phase = (log.t - log.start) / log.span;
  const target = 2 + Math.round(4 * (0.5 + 0.5 * Math.sin(phase * 4 * Math.PI)));
  const { active } = log;
  if (!log.fast && active.length < target && log.random() < 0.5 && left > log.owed() + 2) {
    active.push(log.newSession());
  }
  const s = active[Math.floor(log.random() * active.length)];
  if (s) await advance(log, s);
  else active.push(log.newSession());
}

/**
 * Writes a sample log of `options.lines` lines (or one more; at least 2) to `path`; returns
 * the count. Sessions overlap (2 to 6 at a time, rising and falling over the span); each ends
 * with its `disconnect` before the final `server_stop`.
 */
export async function writeSampleLog(path: string, options: SampleLogOptions): Promise<number> {
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const log = new SampleLog(new LineSink(file), options);
  const server = { pid: 4242 };
  await log.emit({
    event: "server_start",
    ok: true,
    host: "0.0.0.0",
    port: 9000,
    version: "0.1.0",
    ...server,
    root: "/srv/share",
  });
  // Room for the lines still owed, then the final server_stop: the count ends within one line
  // of `lines` (a step may write two lines while owing one less).
  while (log.written + log.owed() + 1 < log.lines) await step(log);
  // Wind down: close what is still open (bench sessions that never connected just vanish).
  while (log.active.length > 0) {
    await disconnect(log, log.active[Math.floor(log.random() * log.active.length)]);
  }
  const ms = Math.round(log.t - log.start);
  await log.emit({ event: "server_stop", ok: true, ...server, reason: "SIGTERM", ms });
  await log.flush();
  return log.written;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      lines: { type: "string", default: "5000" },
      out: { type: "string", default: "sample.jsonl" },
      span: { type: "string", default: "3600" },
      mix: { type: "string", default: "mixed" },
    },
  });
  const n = await writeSampleLog(values.out, {
    lines: Number(values.lines),
    spanMs: Number(values.span) * 1000,
    mix: parseMix(values.mix),
  });
  console.log(`wrote ${n} lines to ${values.out}`);
}
