/**
 * Test helpers: a real server on port 0 with a temp root (in-process or as a child process),
 * and the real entry points run as child processes with exactly their deno.json task's permission flags.
 */
import { type UserSettings, UsersFile } from "../lib/auth/users.ts";
import { ActivityLog } from "../lib/log/activity_log.ts";
import { LocalStore } from "../lib/store/local_store.ts";
import type { Store } from "../lib/store/store.ts";
import { FileshareServer, type ServerOptions } from "../lib/server/server.ts";
import { FileshareClient } from "../lib/client/client.ts";
import { FrameConn } from "../lib/protocol/conn.ts";
import { clientFinal, clientFirst, parseServerFirst, saltedPassword } from "../lib/auth/scram.ts";
import { writeAll } from "../lib/write_all.ts";
import { type BadLine, readEvents } from "../lib/report/read_log.ts";
import { type CertifiedKey, createSelfSignedCertificate } from "../lib/tls/certificate.ts";
import { certificateFingerprint, pemCertificates } from "../lib/tls/fingerprint.ts";
import type { ServerTrust } from "../lib/tls/trust.ts";
import { permissionFlags } from "../tools/permissions.ts";

let testCert: Promise<CertifiedKey & { fingerprint: string }> | null = null;

/**
 * The certificate every in-process test server presents (made once per test process, for
 * localhost and the loopback addresses).
 */
export function testCertificate(): Promise<CertifiedKey & { fingerprint: string }> {
  testCert ??= createSelfSignedCertificate(["localhost", "127.0.0.1", "::1"]).then((c) => {
    const fingerprint = certificateFingerprint(pemCertificates(c.cert)[0]);
    trustedFingerprints.add(fingerprint);
    return { ...c, fingerprint };
  });
  return testCert;
}

/**
 * Fingerprints of the servers this test process started (its test certificate and every
 * spawned server's own): client children trust them through FILESHARE_TRUST, as a script
 * would, unless a test sets FILESHARE_TRUST itself.
 */
const trustedFingerprints = new Set<string>();

/** Trust in every server this test process started, for clients run in-process. */
export function testTrust(): ServerTrust {
  return { fingerprints: [...trustedFingerprints] };
}

/** A config folder that does not exist, so children never read the user's known servers. */
export const NO_CONFIG_DIR = `${
  Deno.env.get("TMPDIR") ?? "/tmp"
}/fileshare-test-no-config-${Deno.pid}`;

/**
 * Opens a connection to a test server: TLS pinned to the test certificate, or clear text
 * with `plain`.
 */
export async function openConn(port: number, plain = false): Promise<Deno.Conn> {
  const raw = await Deno.connect({ hostname: "127.0.0.1", port });
  if (plain) return raw;
  raw.setNoDelay(true);
  const cert = certByPort.get(port) ?? (await testCertificate()).cert;
  return await Deno.startTls(raw, { caCerts: [cert], hostname: "127.0.0.1" });
}

/** Certificates of spawned servers by port (in-process servers use the test certificate). */
const certByPort = new Map<number, string>();

/** Project root (absolute, no trailing slash). */
export const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
/** deno.json of the project. */
export const CONFIG = `${ROOT}/deno.json`;

/** Test users: alice may write, bob is read-only. Low iteration counts keep tests fast. */
export const USERS = {
  alice: { name: "alice", password: "alice-pw ünïcode", readOnly: false },
  bob: { name: "bob", password: "bob-pw-readonly", readOnly: true },
} as const;

/** A running in-process server with its temp folder. */
export interface TestServer extends AsyncDisposable {
  /** Temp folder holding root/, users.json and log.jsonl. */
  dir: string;
  /** The served root (real path). */
  root: string;
  usersPath: string;
  logPath: string;
  port: number;
  server: FileshareServer;
  log: ActivityLog;
  /** SHA-256 fingerprint of the server's certificate; undefined for a `plain` server. */
  fingerprint: string | undefined;
  /** Trust that verifies this server (false for a `plain` one), for `tls` of connect(). */
  tls: ServerTrust | false;
  /** Connects and logs in as a test user. */
  connect(user?: keyof typeof USERS, extra?: { run?: string }): Promise<FileshareClient>;
  /** Parsed lines of the activity log (flushes first). */
  logLines(): Promise<Record<string, unknown>[]>;
  /** Shuts the server down and removes the temp folder. */
  close(): Promise<void>;
}

/** Writes a users file with alice and bob (4096 iterations). */
export async function writeTestUsers(path: string): Promise<void> {
  const users = UsersFile.create(path);
  for (const u of Object.values(USERS)) {
    await users.add(u.name, u.password, { readOnly: u.readOnly, iterations: 4096 });
  }
  await users.save();
}

/**
 * Starts an in-process server on 127.0.0.1, port 0, temp root; with TLS and the test
 * certificate unless `plain`.
 */
export async function startServer(
  options: Partial<ServerOptions> & {
    fsync?: boolean;
    /** Serve without TLS. */
    plain?: boolean;
    /** Wraps the real store, e.g. to inject faults. */
    wrapStore?: (store: LocalStore) => Store;
  } = {},
): Promise<TestServer> {
  const cert = options.plain ? null : await testCertificate();
  const dir = await Deno.makeTempDir({ prefix: "fileshare-test-" });
  const usersPath = `${dir}/users.json`;
  const logPath = `${dir}/log.jsonl`;
  await writeTestUsers(usersPath);
  const users = (await UsersFile.load(usersPath))!;
  const store = await LocalStore.open(`${dir}/root`, { fsync: options.fsync ?? false });
  const log = await ActivityLog.open(logPath);
  const { wrapStore, plain: _plain, ...serverOptions } = options;
  const server = FileshareServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeoutMs: 30_000,
    graceMs: 2_000,
    maxConnections: 4096,
    serverName: "fileshare/test",
    defaultIterations: 4096,
    authFailDelayMs: 0,
    ...(cert ? { tls: { cert: cert.cert, key: cert.key } } : {}),
    ...serverOptions,
  }, { store: wrapStore ? wrapStore(store) : store, users, log });
  // The certificate itself (as --ca FILE gives it) pins it without a separate fetch.
  const tls: ServerTrust | false = cert ? { ca: cert.cert } : false;
  const port = server.addr.port;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await server.shutdown();
    await log.close();
    try {
      await assertValidLog(logPath);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  };
  return {
    dir,
    root: store.location,
    usersPath,
    logPath,
    port,
    server,
    log,
    fingerprint: cert?.fingerprint,
    tls,
    connect: (user = "alice", extra = {}) =>
      FileshareClient.connect({
        hostname: "127.0.0.1",
        port,
        user: USERS[user].name,
        password: USERS[user].password,
        tls,
        ...extra,
      }),
    logLines: async () => {
      await log.flush();
      const text = await Deno.readTextFile(logPath);
      return text.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l));
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Reads a server's activity log with the analysis reader and throws if any line is not a
 * valid event of docs/log-format.md: every test server's log goes through this at close.
 */
export async function assertValidLog(path: string): Promise<number> {
  const bad: BadLine[] = [];
  let events = 0;
  for await (const _ of readEvents([path], (b) => bad.push(b))) events++;
  if (bad.length > 0) {
    const sample = bad.slice(0, 5).map((b) => `  line ${b.line}: ${b.reason}: ${b.text}`);
    throw new Error(`${bad.length} malformed lines in ${path}:\n${sample.join("\n")}`);
  }
  return events;
}

/** Result of a finished child process. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Which entry point, and so which deno.json task's permission flags. */
export type Tool = "server" | "client" | "analysis";

/** Arguments of `deno run` for a tool: exactly the permission flags its task and compile use. */
export function toolArgs(tool: Tool): string[] {
  return ["run", ...permissionFlags(tool), "--no-prompt", "--config", CONFIG, `${ROOT}/${tool}.ts`];
}

/** Environment for a child: INIT_CWD set to `cwd`, and no FILESHARE_* leaking from outside. */
export function childEnv(cwd: string, env: Record<string, string> = {}): Record<string, string> {
  const base = Deno.env.toObject();
  for (const k of Object.keys(base)) if (k.startsWith("FILESHARE_")) delete base[k];
  const trust = [...trustedFingerprints].join(",");
  return {
    ...base,
    NO_COLOR: "1",
    INIT_CWD: cwd,
    XDG_CONFIG_HOME: NO_CONFIG_DIR,
    // Every command logs in in full, as the password tests expect; the session-ticket
    // tests turn tickets on with their own config folder.
    FILESHARE_TICKETS: "0",
    ...(trust ? { FILESHARE_TRUST: trust } : {}),
    ...env,
  };
}

/** Runs a tool to completion with optional stdin text. */
export async function runTool(
  tool: Tool,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; stdin?: string; wrapper?: string[] } = {
    cwd: ROOT,
  },
): Promise<CliResult> {
  const [cmd, ...cmdArgs] = [
    ...(options.wrapper ?? []),
    Deno.execPath(),
    ...toolArgs(tool),
    ...args,
  ];
  const child = new Deno.Command(cmd, {
    args: cmdArgs,
    cwd: ROOT,
    env: childEnv(options.cwd, options.env),
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  if (options.stdin !== undefined) await writer.write(new TextEncoder().encode(options.stdin));
  await writer.close();
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** A server running as a child process (the real entry point). */
export interface ChildServer extends AsyncDisposable {
  process: Deno.ChildProcess;
  port: number;
  /** The certificate fingerprint the server printed (undefined with --no-tls). */
  fingerprint: string | undefined;
  /** Trust that verifies this server (false with --no-tls), for `tls` of connect(). */
  tls: ServerTrust | false;
  /** Everything the server printed on stdout so far (including the listening line). */
  stdout(): string;
  /** Sends a signal and waits for exit; returns the exit code and all output. */
  stop(signal?: Deno.Signal): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Where a child server started in `cwd` with `args` writes its log. */
function logOf(cwd: string, args: string[]): string {
  const i = args.lastIndexOf("--log");
  const path = i >= 0 && i + 1 < args.length ? args[i + 1] : "fileshare.jsonl";
  return path.startsWith("/") ? path : `${cwd}/${path}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts `server.ts` as a child in folder `cwd` with extra args; waits for "listening on".
 * `wrapper` runs it under another program (e.g. `["strace", "-f", ...]`).
 */
export async function spawnServer(
  cwd: string,
  args: string[] = [],
  env: Record<string, string> = {},
  wrapper: string[] = [],
): Promise<ChildServer> {
  const deno = [Deno.execPath(), ...toolArgs("server"), "--host", "127.0.0.1", "--port", "0"];
  const [cmd, ...cmdArgs] = [...wrapper, ...deno, ...args];
  const process = new Deno.Command(cmd, {
    args: cmdArgs,
    cwd: ROOT,
    env: childEnv(cwd, env),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  let out = "";
  let err = "";
  const errPump = (async () => {
    for await (const chunk of process.stderr) err += decoder.decode(chunk, { stream: true });
  })();
  const reader = process.stdout.getReader();
  let port = 0;
  while (port === 0) {
    const { value, done } = await reader.read();
    if (done) {
      await errPump;
      await process.status;
      throw new Error(`Server exited before listening:\n${out}\n${err}`);
    }
    out += decoder.decode(value, { stream: true });
    const m = /listening on \S+:(\d+)/.exec(out);
    if (m) port = Number(m[1]);
  }
  const fingerprint = /fingerprint: ([0-9A-F:]{95})/.exec(out)?.[1];
  if (fingerprint) trustedFingerprints.add(fingerprint);
  const certPath = /Created a TLS key and self-signed certificate: "([^"]+)"/.exec(out)?.[1];
  const certPem = certPath ? await Deno.readTextFile(certPath) : undefined;
  if (certPem) certByPort.set(port, certPem);
  const tls: ServerTrust | false = certPem
    ? { ca: certPem }
    : fingerprint
    ? { fingerprints: [fingerprint] }
    : false;
  const outPump = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      out += decoder.decode(value, { stream: true });
    }
  })();
  let stopped: Promise<{ code: number; stdout: string; stderr: string }> | null = null;
  const stop = (signal: Deno.Signal = "SIGTERM") => {
    stopped ??= (async () => {
      try {
        process.kill(signal);
      } catch {
        // already exited
      }
      const status = await process.status;
      await outPump;
      await errPump;
      const logPath = logOf(cwd, args);
      if (await exists(logPath)) await assertValidLog(logPath);
      return { code: status.code, stdout: out, stderr: err };
    })();
    return stopped;
  };
  return {
    process,
    port,
    fingerprint,
    tls,
    stdout: () => out,
    stop,
    [Symbol.asyncDispose]: async () => {
      await stop();
    },
  };
}

/** Writes `size` pseudo-random bytes to `path` in 1 MiB pieces. */
export async function writeRandomFile(path: string, size: number): Promise<void> {
  using f = await Deno.open(path, { write: true, create: true, truncate: true });
  const chunk = new Uint8Array(1024 * 1024);
  let left = size;
  while (left > 0) {
    const n = Math.min(left, chunk.length);
    for (let i = 0; i < n; i += 65536) {
      crypto.getRandomValues(chunk.subarray(i, Math.min(i + 65536, n)));
    }
    await writeAll(f, chunk.subarray(0, n));
    left -= n;
  }
}

/** Hex SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const { createHash } = await import("node:crypto");
  const h = createHash("sha256");
  using f = await Deno.open(path, { read: true });
  const buf = new Uint8Array(1024 * 1024);
  for (;;) {
    const n = await f.read(buf);
    if (n === null) break;
    h.update(buf.subarray(0, n));
  }
  return h.digest("hex");
}

/** All file and folder names below `dir`, recursively, as relative paths. */
export async function listTree(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const rel = prefix + e.name;
    out.push(rel + (e.isDirectory ? "/" : ""));
    if (e.isDirectory && !e.isSymlink) out.push(...await listTree(`${dir}/${e.name}`, rel + "/"));
  }
  return out.sort();
}

/** Opens a raw framed connection and completes the handshake (and SCRAM login unless `login` is false). */
export async function rawSession(
  port: number,
  options: { user?: keyof typeof USERS; login?: boolean; plain?: boolean } = {},
): Promise<FrameConn> {
  const conn = new FrameConn(await openConn(port, options.plain), {
    timeoutMs: 10_000,
  });
  try {
    await conn.send({ op: "hello", protocol: "fileshare", versions: [1], client: "raw-test" });
    const hello = await conn.expectMessage();
    if (hello.status !== "ok") throw new Error(`handshake failed: ${JSON.stringify(hello)}`);
    if (options.login === false) return conn;
    const u = USERS[options.user ?? "alice"];
    const first = clientFirst(u.name);
    await conn.send({ op: "auth_start", mechanism: "SCRAM-SHA-256", message: first.message });
    const cont = await conn.expectMessage();
    const server = parseServerFirst(String(cont.message), first.nonce);
    const salted = await saltedPassword(u.password, server.salt, server.iterations);
    const final = clientFinal(first, server, salted);
    await conn.send({ op: "auth_final", message: final.message });
    const done = await conn.expectMessage();
    if (done.status !== "ok") throw new Error(`login failed: ${JSON.stringify(done)}`);
    return conn;
  } catch (err) {
    conn.close();
    throw err;
  }
}

/** Polls `check` until it returns true or `ms` pass. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("Timed out waiting for a condition");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Adds a user (when a password is given) or changes one's settings in a users file. */
export async function setUser(
  srv: { usersPath: string },
  name: string,
  settings: Partial<UserSettings>,
  password?: string,
): Promise<void> {
  const users = (await UsersFile.load(srv.usersPath))!;
  if (password !== undefined) await users.add(name, password, { ...settings, iterations: 4096 });
  else users.set(name, settings);
  await users.save();
}

/** A client of a test server logged in as `user`. */
export function connectAs(
  srv: TestServer,
  user: { name: string; password: string },
): Promise<FileshareClient> {
  return FileshareClient.connect({
    hostname: "127.0.0.1",
    port: srv.port,
    user: user.name,
    password: user.password,
    tls: srv.tls,
  });
}
