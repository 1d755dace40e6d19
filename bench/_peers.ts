/**
 * The servers the peer benchmark compares fileshare with, each started on loopback on a free
 * port with its own temp configuration, and the client command lines that drive them:
 * OpenSSH's sftp (a throwaway sshd with its own host key and one authorized key), the rsync
 * daemon, and nginx's WebDAV with curl. A tool that is not installed is reported as skipped.
 */
import { UsersFile } from "../lib/auth/users.ts";
import { spawnServer, toolArgs } from "../tests/_helpers.ts";

/** One client process to run. */
export interface Invocation {
  cmd: string;
  args: string[];
  /** Text on stdin (else none). */
  stdin?: string;
  env?: Record<string, string>;
}

/** Client command lines for one server, at a given port (the server's own, or a relay's). */
export interface PeerClient {
  /** One file up: `local` (absolute) to `remote` (relative to the served root). */
  upload(local: string, remote: string): Invocation;
  /** One file down. */
  download(remote: string, local: string): Invocation;
  /** Many files up through one client process into the existing remote folder `dir`. */
  uploadMany(locals: readonly string[], dir: string): Invocation;
  /** Many files (`names` in the remote folder `dir`) down into the local folder `into`. */
  downloadMany(names: readonly string[], dir: string, into: string): Invocation;
  /** Lists a remote folder. */
  list(dir: string): Invocation;
  /** The transfer time the client printed, in ms, when it prints one. */
  reportedMs(stdout: string): number | null;
}

/** A running server of one tool. */
export interface Peer {
  name: string;
  /** Root of the process tree whose CPU time is the server's. */
  pid: number;
  port: number;
  /** The folder it serves (absolute); the benchmark prepares and cleans it directly. */
  root: string;
  /** Client command lines against `port` (default: the server's own). */
  client(port?: number): PeerClient;
  stop(): Promise<void>;
}

/** A tool that could not be started, and why. */
export interface Skipped {
  name: string;
  reason: string;
}

/** The names in the order the benchmark prints them. */
export const PEER_NAMES = ["fileshare", "sftp", "rsync", "nginx"] as const;
/** One of {@link PEER_NAMES}. */
export type PeerName = typeof PEER_NAMES[number];

const decoder = new TextDecoder();

async function which(cmd: string): Promise<string | null> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat("/usr/sbin", "/sbin")) {
    const p = `${dir}/${cmd}`;
    const info = await Deno.stat(p).catch(() => null);
    if (info?.isFile && (info.mode ?? 0) & 0o111) return p;
  }
  return null;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Waits until something accepts on the port, or the process exits (bounded: 10 s). */
async function waitListening(port: number, child: Deno.ChildProcess, what: string): Promise<void> {
  let exited = false;
  child.status.then(() => (exited = true));
  for (let i = 0; i < 200; i++) {
    if (exited) throw new Error(`${what} exited before listening`);
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${what} did not listen on port ${port} within 10 s`);
}

/** Spawns a daemon (it logs to its own files); returns it with a stop function. */
function daemon(
  cmd: string,
  args: string[],
): { child: Deno.ChildProcess; stop: () => Promise<void> } {
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let stopped: Promise<void> | null = null;
  return {
    child,
    stop: () =>
      stopped ??= (async () => {
        try {
          child.kill("SIGTERM");
        } catch {
          // already exited
        }
        await child.status;
      })(),
  };
}

async function userName(): Promise<string> {
  const out = await new Deno.Command("id", { args: ["-un"], stdout: "piped" }).output();
  return decoder.decode(out.stdout).trim();
}

/** fileshare: the real server.ts with its default durability and a default-strength user. */
async function startFileshare(dir: string, args: string[]): Promise<Peer> {
  const password = "bench-password";
  await Deno.mkdir(`${dir}/root`, { recursive: true });
  const users = UsersFile.create(`${dir}/users.json`);
  // Default iterations, as `server user add` would create: the one-shot cost users pay.
  await users.add("bench", password, { readOnly: false });
  await users.save();
  const srv = await spawnServer(dir, ["--root", "root", "--log", "log.jsonl", ...args]);
  const root = await Deno.realPath(`${dir}/root`);
  const env = { FILESHARE_PASSWORD: password, NO_COLOR: "1", INIT_CWD: dir };
  return {
    name: "fileshare",
    pid: srv.process.pid,
    port: srv.port,
    root,
    client(port = srv.port) {
      // The server's own certificate file pins it without a separate certificate fetch.
      const base = [
        ...toolArgs("client"),
        "--server",
        `127.0.0.1:${port}`,
        "--user",
        "bench",
        ...(srv.fingerprint ? ["--ca", `${dir}/server-cert.pem`] : []),
      ];
      const one = (args: string[]): Invocation => ({
        cmd: Deno.execPath(),
        args: [...base, "-q", "--json", ...args],
        env,
      });
      return {
        upload: (local, remote) => one(["upload", local, remote]),
        download: (remote, local) => one(["download", remote, local]),
        // One command for many files: the client sends them without a round trip each.
        uploadMany: (locals, d) => one(["upload", ...locals, `${d}/`]),
        downloadMany: (names, d, into) =>
          one(["download", ...names.map((n) => `${d}/${n}`), `${into}/`]),
        list: (d) => one(["dir", d]),
        reportedMs(stdout) {
          try {
            const ms = JSON.parse(stdout).ms;
            return typeof ms === "number" ? ms : null;
          } catch {
            return null;
          }
        },
      };
    },
    stop: async () => {
      await srv.stop();
    },
  };
}

/** OpenSSH: sshd -D on loopback with its own host key; sftp -b with an authorized key. */
async function startSftp(dir: string): Promise<Peer> {
  const sshd = await which("sshd");
  const sftp = await which("sftp");
  const keygen = await which("ssh-keygen");
  if (!sshd || !sftp || !keygen) throw new Error("sshd, sftp or ssh-keygen not installed");
  const port = freePort();
  for (const key of ["host_key", "user_key"]) {
    const out = await new Deno.Command(keygen, {
      args: ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/${key}`],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`ssh-keygen failed: ${decoder.decode(out.stderr)}`);
  }
  await Deno.copyFile(`${dir}/user_key.pub`, `${dir}/authorized_keys`);
  await Deno.chmod(`${dir}/authorized_keys`, 0o600);
  await Deno.mkdir(`${dir}/root`);
  // sshd refuses to start without its privilege separation folder.
  await Deno.mkdir("/run/sshd", { recursive: true }).catch(() => {});
  await Deno.writeTextFile(
    `${dir}/sshd_config`,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${dir}/host_key`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin yes",
      "UsePAM no",
      "StrictModes no",
      `PidFile ${dir}/sshd.pid`,
      "Subsystem sftp internal-sftp",
      // The default (10:30:100) drops logins beyond 10 at once: the 64-process case needs more.
      "MaxStartups 1000",
      "",
    ].join("\n"),
  );
  const d = daemon(sshd, ["-D", "-e", "-f", `${dir}/sshd_config`]);
  await waitListening(port, d.child, "sshd").catch(async (err) => {
    await d.stop();
    throw err;
  });
  const root = await Deno.realPath(`${dir}/root`);
  const user = await userName();
  return {
    name: "sftp",
    pid: d.child.pid,
    port,
    root,
    client(p = port) {
      const batch = (lines: string[]): Invocation => ({
        cmd: sftp,
        args: [
          "-q",
          "-F",
          "/dev/null",
          "-i",
          `${dir}/user_key`,
          "-P",
          String(p),
          "-o",
          "StrictHostKeyChecking=no",
          "-o",
          "UserKnownHostsFile=/dev/null",
          "-o",
          "BatchMode=yes",
          "-o",
          "LogLevel=ERROR",
          "-b",
          "-",
          `${user}@127.0.0.1`,
        ],
        stdin: lines.join("\n") + "\n",
      });
      const q = (s: string) => `"${s}"`;
      return {
        upload: (local, remote) => batch([`put ${q(local)} ${q(`${root}/${remote}`)}`]),
        download: (remote, local) => batch([`get ${q(`${root}/${remote}`)} ${q(local)}`]),
        uploadMany: (locals, d) =>
          batch(
            locals.map((l) =>
              `put ${q(l)} ${q(`${root}/${d}/${l.slice(l.lastIndexOf("/") + 1)}`)}`
            ),
          ),
        downloadMany: (names, d, into) =>
          batch(names.map((n) => `get ${q(`${root}/${d}/${n}`)} ${q(`${into}/${n}`)}`)),
        list: (d) => batch([`ls -l ${q(`${root}/${d}`)}`]),
        reportedMs: () => null,
      };
    },
    stop: d.stop,
  };
}

/** rsync --daemon on loopback with a temp config and one writable module. */
async function startRsync(dir: string): Promise<Peer> {
  const rsync = await which("rsync");
  if (!rsync) throw new Error("rsync not installed");
  const port = freePort();
  await Deno.mkdir(`${dir}/root`);
  const root = await Deno.realPath(`${dir}/root`);
  const uid = Deno.uid() ?? 0;
  const gid = Deno.gid() ?? 0;
  await Deno.writeTextFile(
    `${dir}/rsyncd.conf`,
    [
      "use chroot = no",
      `pid file = ${dir}/rsyncd.pid`,
      `log file = ${dir}/rsyncd.log`,
      "[files]",
      `  path = ${root}`,
      "  read only = no",
      `  uid = ${uid}`,
      `  gid = ${gid}`,
      "",
    ].join("\n"),
  );
  const d = daemon(rsync, [
    "--daemon",
    "--no-detach",
    "--address",
    "127.0.0.1",
    "--port",
    String(port),
    "--config",
    `${dir}/rsyncd.conf`,
  ]);
  await waitListening(port, d.child, "rsync --daemon").catch(async (err) => {
    await d.stop();
    throw err;
  });
  return {
    name: "rsync",
    pid: d.child.pid,
    port,
    root,
    client(p = port) {
      const url = (path: string) => `rsync://127.0.0.1:${p}/files/${path}`;
      const run = (args: string[]): Invocation => ({ cmd: rsync, args });
      return {
        upload: (local, remote) => run(["-t", local, url(remote)]),
        download: (remote, local) => run(["-t", url(remote), local]),
        // One process for the lot, as rsync users move many files: a folder at a time.
        uploadMany: (locals, d) => run(["-t", ...locals, url(`${d}/`)]),
        downloadMany: (_names, d, into) => run(["-rt", url(`${d}/`), `${into}/`]),
        list: (d) => run([url(`${d}/`)]),
        reportedMs: () => null,
      };
    },
    stop: d.stop,
  };
}

/** nginx with WebDAV (PUT, DELETE, MKCOL; PROPFIND from dav-ext) on loopback; curl as client. */
async function startNginx(dir: string): Promise<Peer> {
  const nginx = await which("nginx");
  const curl = await which("curl");
  if (!nginx || !curl) throw new Error("nginx or curl not installed");
  const davExt = "/usr/lib/nginx/modules/ngx_http_dav_ext_module.so";
  const hasExt = await Deno.stat(davExt).then(() => true, () => false);
  const port = freePort();
  await Deno.mkdir(`${dir}/root`);
  await Deno.mkdir(`${dir}/tmp`);
  const root = await Deno.realPath(`${dir}/root`);
  const asRoot = Deno.uid() === 0;
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    [
      hasExt ? `load_module ${davExt};` : "",
      asRoot ? "user root;" : "",
      "daemon off;",
      "worker_processes auto;",
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log;`,
      "events { worker_connections 1024; }",
      "http {",
      "  access_log off;",
      "  sendfile on;",
      "  client_max_body_size 0;",
      `  client_body_temp_path ${dir}/tmp;`,
      `  proxy_temp_path ${dir}/tmp;`,
      `  fastcgi_temp_path ${dir}/tmp;`,
      `  uwsgi_temp_path ${dir}/tmp;`,
      `  scgi_temp_path ${dir}/tmp;`,
      "  server {",
      `    listen 127.0.0.1:${port};`,
      `    root ${root};`,
      "    location / {",
      "      dav_methods PUT DELETE MKCOL;",
      hasExt ? "      dav_ext_methods PROPFIND OPTIONS;" : "      autoindex on;",
      "      create_full_put_path on;",
      "    }",
      "  }",
      "}",
      "",
    ].join("\n"),
  );
  const d = daemon(nginx, ["-p", dir, "-e", `${dir}/error.log`, "-c", `${dir}/nginx.conf`]);
  await waitListening(port, d.child, "nginx").catch(async (err) => {
    await d.stop();
    throw err;
  });
  return {
    name: "nginx",
    pid: d.child.pid,
    port,
    root,
    client(p = port) {
      const url = (path: string) => `http://127.0.0.1:${p}/${path}`;
      const run = (args: string[], stdin?: string): Invocation => ({
        cmd: curl,
        args: ["-sS", "-f", "-w", "%{time_total}\\n", ...args],
        stdin,
      });
      const cfg = (pairs: string[][]) => pairs.map((kv) => kv.join(" = ")).join("\n") + "\n";
      const q = (s: string) => JSON.stringify(s);
      return {
        upload: (local, remote) => run(["-T", local, url(remote)]),
        download: (remote, local) => run(["-o", local, url(remote)]),
        // One curl for the lot, one connection reused: a config of url/upload-file pairs.
        uploadMany: (locals, d) =>
          run(
            ["-K", "-"],
            cfg(locals.flatMap((l) => [
              ["upload-file", q(l)],
              ["url", q(url(`${d}/${l.slice(l.lastIndexOf("/") + 1)}`))],
            ])),
          ),
        downloadMany: (names, d, into) =>
          run(
            ["-K", "-"],
            cfg(
              names.flatMap((n) => [["url", q(url(`${d}/${n}`))], ["output", q(`${into}/${n}`)]]),
            ),
          ),
        list: (d) =>
          hasExt
            ? run(["-o", "/dev/null", "-X", "PROPFIND", "-H", "Depth: 1", url(`${d}/`)])
            : run(["-o", "/dev/null", url(`${d}/`)]),
        reportedMs(stdout) {
          const s = Number(stdout.trim().split("\n").at(-1));
          return Number.isFinite(s) ? s * 1000 : null;
        },
      };
    },
    stop: d.stop,
  };
}

const STARTERS: Record<PeerName, (dir: string, args: string[]) => Promise<Peer>> = {
  fileshare: startFileshare,
  sftp: startSftp,
  rsync: startRsync,
  nginx: startNginx,
};

/**
 * Starts each named tool in its own sub-folder of `dir` (`fileshareArgs` go to fileshare's
 * server); those that cannot start are skipped, except fileshare.
 */
export async function startPeers(
  dir: string,
  names: readonly PeerName[],
  fileshareArgs: string[] = [],
): Promise<{ peers: Peer[]; skipped: Skipped[] }> {
  const peers: Peer[] = [];
  const skipped: Skipped[] = [];
  for (const name of names) {
    await Deno.mkdir(`${dir}/${name}`, { recursive: true });
    try {
      peers.push(await STARTERS[name](`${dir}/${name}`, fileshareArgs));
    } catch (err) {
      if (name === "fileshare") throw err;
      skipped.push({ name, reason: (err as Error).message });
    }
  }
  return { peers, skipped };
}
