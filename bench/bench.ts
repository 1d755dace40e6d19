/**
 * `deno task bench`: starts its own servers (the real server.ts, as child processes with the
 * `server` task's permission flags) on loopback with temp roots and measures, in one run:
 *
 * - (a) the runtime ceiling: a raw Deno TCP copy file → socket → file, no protocol (and, for
 *   reference, node:crypto's SHA-256 rate);
 * - (b) 1 GiB upload and download through fileshare, SHA-256 verified, fsync off and on, with
 *   the CPU time each end spent per GiB;
 * - (c) 1, 8 and 64 concurrent clients moving 16 MiB each, up and down;
 * - (d) 4 KiB uploads and DIRs on one connection;
 * - (e) server peak RSS moving a 4 GiB file, and holding 1,000 idle logged-in connections;
 * - (f) analysis of a generated 1,000,000-line log (when bench/analysis_bench.ts exists);
 * - (g) what encryption costs: the (b) upload and download with TLS on and off.
 *
 * Prints a table with the targets; `--json-out FILE` also writes the figures as JSON.
 * `--quick` and `--tiny` scale everything down. Timing is reported, never asserted: a missed
 * target is marked, and only a failed or unverified transfer makes the exit code non-zero.
 *
 * @example
 * ```sh
 * deno task bench
 * deno task bench --quick --skip e,f --json-out bench.json
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { FileshareClient } from "../lib/client/client.ts";
import { runLoad } from "../lib/load/run_load.ts";
import { NULL_SINK, patternSource } from "../lib/load/pattern_source.ts";
import { parseSize } from "../lib/load/size.ts";
import {
  type ChildServer,
  sha256File,
  spawnServer,
  testTrust,
  USERS,
  writeRandomFile,
  writeTestUsers,
} from "../tests/_helpers.ts";
import { cpuSeconds, peakRssMiB, rssMiB } from "./_proc.ts";
import { hashRate, rawCopy } from "./_raw_copy.ts";
import { fmt, fmtSize, renderTable, type Row } from "./_table.ts";
import { tlsOnOff } from "./_tls_case.ts";
import { PEER_NAMES, type PeerName } from "./_peers.ts";
import { PEER_SCALES, runPeers } from "./peers_bench.ts";
import { runNatsBench } from "./nats_bench.ts";

const USAGE = `Usage: deno task bench [options]

Options:
  --quick            scaled down: 64 MiB, 4 MiB per client, 256 MiB RSS file, 100 idle
                     connections, 100k log lines, one repetition
  --tiny             smoke test of the harness itself: 4 MiB, 256 KiB, 16 MiB, 20, 10k
  --size SIZE        file size for (a) and (b) (default 1GiB)
  --repeat N         repetitions of (a), (b) and (c); the median counts (default 3, 1 scaled)
  --skip a,b,...     cases to leave out
  --json-out FILE    also write the figures as JSON
  --peers            instead of (a)-(f): the same files through fileshare, OpenSSH sftp, the
                     rsync daemon and nginx WebDAV + curl (those installed), one client process
                     per command, best of 3 interleaved, and through a 50 ms round-trip relay;
                     with --quick or --tiny scaled down
  --tools a,b,...    --peers: which of fileshare,sftp,rsync,nginx (default all)
  --store nats[://HOST:PORT,...]
                     instead of (a)-(f): fileshare on a NATS JetStream store (a 3-node
                     cluster started here unless hosts are given) against raw JetStream
                     publish on the same cluster; --size (default 256MiB), --replicas N
  -h, --help         this help`;

/** How big each case is. */
interface Scale {
  name: "full" | "quick" | "tiny";
  /** (a), (b): file size. */
  big: number;
  /** (c): bytes per client. */
  load: number;
  /** (d): operations of each kind. */
  small: number;
  /** (e): size of the transfer whose RSS is watched. */
  huge: number;
  /** (e): idle connections held. */
  idle: number;
  /** (f): log lines. */
  logLines: number;
  repeat: number;
}

const MiB = 1024 * 1024;
const SCALES: Record<Scale["name"], Scale> = {
  full: {
    name: "full",
    big: 1024 * MiB,
    load: 16 * MiB,
    small: 2000,
    huge: 4096 * MiB,
    idle: 1000,
    logLines: 1_000_000,
    repeat: 3,
  },
  quick: {
    name: "quick",
    big: 64 * MiB,
    load: 4 * MiB,
    small: 500,
    huge: 256 * MiB,
    idle: 100,
    logLines: 100_000,
    repeat: 1,
  },
  tiny: {
    name: "tiny",
    big: 4 * MiB,
    load: 256 * 1024,
    small: 50,
    huge: 16 * MiB,
    idle: 20,
    logLines: 10_000,
    repeat: 1,
  },
};
const CASES = ["a", "b", "c", "d", "e", "f", "g"];

/** What every case gets: the scale, a temp folder, the servers and the places results go. */
interface Bench {
  scale: Scale;
  dir: string;
  /** Server with --no-fsync. */
  fast: ChildServer;
  /** Server with fsync (the default). */
  durable: ChildServer;
  /** Starts another server in a sub-folder of `dir`; it is stopped with the others. */
  spawn(name: string, args: string[]): Promise<ChildServer>;
  rows: Row[];
  json: Record<string, unknown>;
  log(line: string): void;
}

const rate = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function connect(port: number): Promise<FileshareClient> {
  return FileshareClient.connect({
    hostname: "127.0.0.1",
    port,
    user: USERS.alice.name,
    password: USERS.alice.password,
    tls: testTrust(),
  });
}

/** Flushes dirty pages left by the previous case, so each case starts from a quiet disk. */
async function settle(): Promise<void> {
  await new Deno.Command("sync").output().catch(() => null);
}

/** (a) Raw TCP copy of `source`; returns MB/s. */
async function ceiling(b: Bench, source: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < b.scale.repeat; i++) {
    await settle();
    times.push(await rawCopy(source, `${b.dir}/raw-out.bin`));
  }
  const mbps = rate(b.scale.big, median(times));
  const sha = await hashRate(b.scale.big);
  b.json.a = { mbps, ms: times, sha256MBps: sha };
  b.rows.push({
    id: "a",
    what: `raw TCP copy file→socket→file (${fmtSize(b.scale.big)})`,
    value: `${fmt(mbps)} MB/s`,
    target: "ceiling",
    met: null,
  });
  b.rows.push({
    id: "a",
    what: "SHA-256 alone (node:crypto, 1 MiB updates, in memory)",
    value: `${fmt(sha)} MB/s`,
    target: "-",
    met: null,
  });
  b.log(`(a) ${fmt(mbps)} MB/s, sha256 ${fmt(sha)} MB/s`);
  return mbps;
}

/** CPU seconds used by this process and by `pid` while `fn` runs, with its result. */
async function withCpu<T>(
  pid: number,
  fn: () => Promise<T>,
): Promise<{ result: T; client: number; server: number }> {
  const total = (p: number) => {
    const c = cpuSeconds(p);
    return c ? c.user + c.system : NaN;
  };
  const c0 = total(Deno.pid);
  const s0 = total(pid);
  const result = await fn();
  return { result, client: total(Deno.pid) - c0, server: total(pid) - s0 };
}

/** (b) File-to-file upload and download through fileshare, fsync off and on. */
async function bigTransfers(b: Bench, source: string, rawMbps: number): Promise<void> {
  const { big, repeat } = b.scale;
  const want = await sha256File(source);
  const back = `${b.dir}/back.bin`;
  const results: Record<string, unknown> = {};
  const cases = [["fsync off", b.fast, false], ["fsync on", b.durable, true]] as const;
  for (const [label, srv, fsync] of cases) {
    await using client = await connect(srv.port);
    // One untimed round first, so start-up costs (JIT, first connection) are not measured.
    await client.uploadFile(source, "warmup.bin", { overwrite: true });
    await client.downloadFile("warmup.bin", back, { overwrite: true, fsync });
    await client.delete("warmup.bin");
    await Deno.remove(back);
    const times = { upload: [] as number[], download: [] as number[], nullSink: [] as number[] };
    const cpu = { upload: { client: 0, server: 0 }, download: { client: 0, server: 0 } };
    for (let i = 0; i < repeat; i++) {
      await settle();
      const up = await withCpu(
        srv.process.pid,
        () => client.uploadFile(source, `big-${i}.bin`, { overwrite: true }),
      );
      if (up.result.sha256 !== want) throw new Error("Upload stored a different SHA-256");
      times.upload.push(up.result.ms);
      cpu.upload.client += up.client;
      cpu.upload.server += up.server;
      await settle();
      const down = await withCpu(
        srv.process.pid,
        () => client.downloadFile(`big-${i}.bin`, back, { overwrite: true, fsync }),
      );
      if (down.result.sha256 !== want) throw new Error("Download delivered a different SHA-256");
      times.download.push(down.result.ms);
      cpu.download.client += down.client;
      cpu.download.server += down.server;
      if (!fsync) {
        // The same download into a null sink: the protocol and hashing without the client's disk.
        await settle();
        const mem = await client.download(`big-${i}.bin`, () => Promise.resolve(NULL_SINK));
        if (mem.sha256 !== want) throw new Error("Download delivered a different SHA-256");
        times.nullSink.push(mem.ms);
      }
      await client.delete(`big-${i}.bin`);
      await Deno.remove(back);
    }
    const gib = (repeat * big) / 1024 ** 3;
    for (const dirn of ["upload", "download"] as const) {
      const mbps = rate(big, median(times[dirn]));
      const ratio = rawMbps > 0 ? mbps / rawMbps : null;
      const perGiB = {
        wall: median(times[dirn]) / 1000 / (big / 1024 ** 3),
        client: cpu[dirn].client / gib,
        server: cpu[dirn].server / gib,
      };
      results[`${dirn} ${label}`] = mbps;
      results[`${dirn} ${label} ms`] = times[dirn];
      results[`${dirn} ${label} cpu s/GiB`] = perGiB;
      b.rows.push({
        id: "b",
        what: `${dirn} ${fmtSize(big)}, ${label}, sha256 verified`,
        value: `${fmt(mbps)} MB/s${ratio === null ? "" : ` (${ratio.toFixed(2)}x of a)`}`,
        target: fsync ? "-" : ">= 0.8x of (a)",
        met: fsync || ratio === null ? null : ratio >= 0.8,
      });
      // Clock ticks are 10 ms: only a transfer of a few hundred MiB gives a meaningful figure.
      if (!fsync && repeat * big >= 256 * 1024 * 1024) {
        b.rows.push({
          id: "b",
          what: `  CPU per GiB, ${dirn}: client + server (wall)`,
          value: `${perGiB.client.toFixed(2)} + ${perGiB.server.toFixed(2)} s (${
            perGiB.wall.toFixed(2)
          } s)`,
          target: "-",
          met: null,
        });
      }
      b.log(`(b) ${dirn} ${label}: ${fmt(mbps)} MB/s`);
    }
    if (!fsync) {
      const mbps = rate(big, median(times.nullSink));
      results["download to null sink"] = mbps;
      b.rows.push({
        id: "b",
        what: `  download ${fmtSize(big)}, to a null sink (no client disk)`,
        value: `${fmt(mbps)} MB/s${rawMbps > 0 ? ` (${(mbps / rawMbps).toFixed(2)}x of a)` : ""}`,
        target: "-",
        met: null,
      });
    }
  }
  b.json.b = results;
}

/** (c) 1, 8 and 64 concurrent clients, each moving one file, up and down. */
async function concurrentClients(b: Bench): Promise<void> {
  const results: Record<string, unknown>[] = [];
  for (const op of ["upload", "download"] as const) {
    let single = 0;
    for (const clients of [1, 8, 64]) {
      const runs = [];
      for (let i = 0; i < b.scale.repeat; i++) {
        await settle();
        runs.push(
          await runLoad({
            hostname: "127.0.0.1",
            port: b.fast.port,
            user: USERS.alice.name,
            password: USERS.alice.password,
            tls: testTrust(),
            clients,
            files: 1,
            size: b.scale.load,
            op,
          }),
        );
      }
      // The run with the median rate stands for the case.
      const r = runs.sort((x, y) => x.mbps - y.mbps)[Math.floor(runs.length / 2)];
      const errors = runs.reduce((n, x) => n + x.errors, 0);
      results.push({ op, clients, mbps: r.mbps, errors, ms: r.ms, latencyMs: r.latencyMs });
      if (clients === 1) single = r.mbps;
      b.rows.push({
        id: "c",
        what: `${clients} client${clients > 1 ? "s" : ""} x ${
          fmtSize(b.scale.load)
        } ${op}, verified`,
        value: `${fmt(r.mbps)} MB/s, ${errors} errors`,
        target: clients === 1 ? "all succeed" : "all succeed, >= 1 client",
        met: errors === 0 && (clients === 1 || r.mbps >= single),
      });
      b.log(`(c) ${op} x${clients}: ${fmt(r.mbps)} MB/s, ${errors} errors`);
    }
  }
  b.json.c = results;
}

/** (d) 4 KiB uploads, then DIRs, one request at a time on one connection. */
async function smallOps(b: Bench): Promise<void> {
  await settle();
  const n = b.scale.small;
  await using client = await connect(b.fast.port);
  await client.mkdir("small");
  const perSecond = async (fn: (i: number) => Promise<unknown>) => {
    const t = performance.now();
    for (let i = 0; i < n; i++) await fn(i);
    return n / ((performance.now() - t) / 1000);
  };
  const uploads = await perSecond((i) =>
    client.upload(patternSource(4096, i), 4096, `small/f${i}`)
  );
  const dirsBig = await perSecond(() => client.list("small"));
  const dirs = await perSecond(() => client.list(""));
  await client.rmdir("small", true);
  b.json.d = { n, uploadsPerSec: uploads, dirsPerSec: dirs, dirsOfNFilesPerSec: dirsBig };
  b.rows.push(
    {
      id: "d",
      what: `4 KiB uploads, one connection (${n})`,
      value: `${fmt(uploads)} ops/s`,
      target: ">= 2000 ops/s",
      met: uploads >= 2000,
    },
    {
      id: "d",
      what: "DIR of a small folder, one connection",
      value: `${fmt(dirs)} ops/s`,
      target: ">= 2000 ops/s",
      met: dirs >= 2000,
    },
    {
      id: "d",
      what: `DIR of a ${n}-file folder`,
      value: `${fmt(dirsBig)} ops/s`,
      target: "-",
      met: null,
    },
  );
  b.log(`(d) uploads ${fmt(uploads)}/s, dirs ${fmt(dirs)}/s`);
}

/** (e) Server RSS: peak while moving a huge file up and down, then holding idle connections. */
async function serverMemory(b: Bench): Promise<void> {
  const { huge, idle } = b.scale;
  // A fresh server, so its high-water mark belongs to this case alone.
  const srv = await b.spawn("rss", ["--no-fsync"]);
  const pid = srv.process.pid;
  const result: Record<string, number> = { startRssMiB: rssMiB(pid)?.rss ?? NaN };
  b.json.e = result;
  {
    await using client = await connect(srv.port);
    // The source is generated in memory, so only the server touches the disk.
    const up = client.upload(patternSource(huge), huge, "huge.bin");
    const [, upPeak] = await Promise.all([up, peakRssMiB(pid, up)]);
    const down = client.download("huge.bin", () => Promise.resolve(NULL_SINK));
    const [, downPeak] = await Promise.all([down, peakRssMiB(pid, down)]);
    await client.delete("huge.bin");
    result.transferPeakMiB = Math.max(upPeak, downPeak);
  }
  b.rows.push({
    id: "e",
    what: `server peak RSS, ${fmtSize(huge)} up and down`,
    value: `${fmt(result.transferPeakMiB)} MiB`,
    target: "< 150 MiB",
    met: result.transferPeakMiB < 150,
  });
  b.log(`(e) ${fmtSize(huge)}: ${fmt(result.transferPeakMiB)} MiB`);
  const clients: FileshareClient[] = [];
  try {
    for (let i = 0; i < idle; i += 50) {
      const batch = await Promise.allSettled(
        Array.from({ length: Math.min(50, idle - i) }, () => connect(srv.port)),
      );
      for (const s of batch) {
        if (s.status === "fulfilled") clients.push(s.value);
        else throw s.reason;
      }
    }
    // Let the server finish the logins' bookkeeping before reading its memory.
    await new Promise((r) => setTimeout(r, 500));
    result.idleConnections = idle;
    result.idleRssMiB = rssMiB(pid)?.rss ?? NaN;
  } finally {
    for (const c of clients) c.close();
  }
  b.rows.push({
    id: "e",
    what: `server RSS holding ${idle} idle logged-in connections`,
    value: `${fmt(result.idleRssMiB)} MiB`,
    target: "< 150 MiB",
    met: result.idleRssMiB < 150,
  });
  b.log(`(e) ${idle} idle: ${fmt(result.idleRssMiB)} MiB`);
}

/** What bench/analysis_bench.ts reports. */
interface AnalysisBenchResult {
  lines: number;
  ms: number;
  peakRssMiB: number;
  linesPerSec: number;
}

/** (f) The analysis benchmark, loaded only if its module exists (it comes with the analysis). */
async function analysis(b: Bench): Promise<void> {
  const url = new URL("./analysis_bench.ts", import.meta.url);
  const exists = await Deno.stat(url).then(() => true, () => false);
  const mod = exists
    ? await import(url.href) as {
      benchAnalysis?: (lines: number) => Promise<AnalysisBenchResult>;
    }
    : {};
  if (typeof mod.benchAnalysis !== "function") {
    b.json.f = null;
    b.rows.push({
      id: "f",
      what: "analysis of a generated log",
      value: "not available",
      target: "-",
      met: null,
    });
    b.log("(f) not available");
    return;
  }
  const r = await mod.benchAnalysis(b.scale.logLines);
  b.json.f = r;
  b.rows.push({
    id: "f",
    what: `analysis of a ${r.lines.toLocaleString("en-US")}-line log`,
    value: `${(r.ms / 1000).toFixed(2)} s, ${fmt(r.peakRssMiB)} MiB peak`,
    target: "-",
    met: null,
  });
  b.log(`(f) ${r.ms} ms, ${fmt(r.peakRssMiB)} MiB`);
}

/** What the command line asked for. */
interface Options {
  scale: Scale;
  skip: Set<string>;
  jsonOut?: string;
  /** With --peers: the tools to compare. */
  peers: PeerName[] | null;
  /** With --store: the NATS case (bench/nats_bench.ts). */
  store: { url: string; replicas: number; size: number } | null;
}

function parseOptions(args: string[]): Options | null {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      quick: { type: "boolean", default: false },
      tiny: { type: "boolean", default: false },
      size: { type: "string" },
      repeat: { type: "string" },
      skip: { type: "string", default: "" },
      "json-out": { type: "string" },
      peers: { type: "boolean", default: false },
      tools: { type: "string", default: PEER_NAMES.join(",") },
      store: { type: "string" },
      replicas: { type: "string", default: "3" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return null;
  if (positionals.length > 0) throw new TypeError(`Unexpected argument "${positionals[0]}"`);
  const scale = { ...SCALES[values.tiny ? "tiny" : values.quick ? "quick" : "full"] };
  if (values.size !== undefined) {
    const big = parseSize(values.size);
    if (big === null || big < 1) {
      throw new TypeError(`Invalid --size "${values.size}": use e.g. 64MiB or 1GiB`);
    }
    scale.big = big;
  }
  if (values.repeat !== undefined) {
    const n = Number(values.repeat);
    if (!Number.isInteger(n) || n < 1 || n > 100) {
      throw new TypeError(`Invalid --repeat "${values.repeat}": use a whole number from 1 to 100`);
    }
    scale.repeat = n;
  }
  const skip = new Set(values.skip.split(",").map((s) => s.trim()).filter(Boolean));
  for (const s of skip) {
    if (!CASES.includes(s)) throw new TypeError(`Invalid --skip "${s}": use letters a to g`);
  }
  const tools = values.tools.split(",").map((s) => s.trim()).filter(Boolean);
  for (const t of tools) {
    if (!(PEER_NAMES as readonly string[]).includes(t)) {
      throw new TypeError(`Invalid --tools "${t}": use ${PEER_NAMES.join(", ")}`);
    }
  }
  const peers = values.peers ? tools as PeerName[] : null;
  if (values.store !== undefined && !/^nats(:\/\/.*)?$/.test(values.store)) {
    throw new TypeError(`Invalid --store "${values.store}": use nats or nats://HOST:PORT,...`);
  }
  const replicas = Number(values.replicas);
  if (!/^[1-5]$/.test(values.replicas)) {
    throw new TypeError(`Invalid --replicas "${values.replicas}": use 1 to 5`);
  }
  const store = values.store === undefined
    ? null
    : { url: values.store, replicas, size: values.size === undefined ? 256 * MiB : scale.big };
  return { scale, skip, jsonOut: values["json-out"], peers, store };
}

/** Runs the cases not skipped; returns the table rows and the JSON figures. */
async function runBench(
  scale: Scale,
  skip: ReadonlySet<string>,
): Promise<{ rows: Row[]; json: Record<string, unknown> }> {
  const rows: Row[] = [];
  const json: Record<string, unknown> = {
    machine: { cpus: navigator.hardwareConcurrency, deno: Deno.version.deno, os: Deno.build.os },
    scale,
  };
  const dir = await Deno.makeTempDir({ prefix: "fileshare-bench-" });
  const servers: ChildServer[] = [];
  try {
    await writeTestUsers(`${dir}/users.json`);
    const spawn = async (name: string, args: string[]) => {
      await Deno.mkdir(`${dir}/${name}`);
      const srv = await spawnServer(dir, [
        "--root",
        `${name}/root`,
        "--log",
        `${name}/log.jsonl`,
        ...args,
      ]);
      servers.push(srv);
      return srv;
    };
    const b: Bench = {
      scale,
      dir,
      fast: await spawn("nofsync", ["--no-fsync"]),
      durable: await spawn("fsync", []),
      spawn,
      rows,
      json,
      log: (line) => console.error(`bench: ${line}`),
    };
    const source = `${dir}/source.bin`;
    if (!skip.has("a") || !skip.has("b") || !skip.has("g")) {
      b.log(`writing a ${fmtSize(scale.big)} source file`);
      await writeRandomFile(source, scale.big);
    }
    const rawMbps = skip.has("a") ? 0 : await ceiling(b, source);
    if (!skip.has("b")) await bigTransfers(b, source, rawMbps);
    if (!skip.has("c")) await concurrentClients(b);
    if (!skip.has("d")) await smallOps(b);
    if (!skip.has("e")) await serverMemory(b);
    if (!skip.has("f")) await analysis(b);
    if (!skip.has("g")) await tlsOnOff(b, source);
  } finally {
    for (const s of servers) await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
  json.rows = rows;
  return { rows, json };
}

async function main(): Promise<number> {
  let options;
  try {
    options = parseOptions(Deno.args);
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options === null) {
    console.log(USAGE);
    return 0;
  }
  if (options.peers !== null) {
    const { text, json } = await runPeers(
      PEER_SCALES[options.scale.name],
      options.peers,
      (line) => console.error(`bench: ${line}`),
    );
    console.log(text);
    if (options.jsonOut) {
      await Deno.writeTextFile(options.jsonOut, JSON.stringify(json, null, 2) + "\n");
    }
    return 0;
  }
  const { rows, json } = options.store !== null
    ? await runNatsBench({
      store: options.store.url,
      size: options.store.size,
      replicas: options.store.replicas,
      repeat: options.scale.repeat,
      log: (line) => console.error(`bench: ${line}`),
    })
    : await runBench(options.scale, options.skip);
  const title =
    `fileshare bench (${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}${
      options.scale.name === "full" ? "" : `, --${options.scale.name}`
    })`;
  console.log(renderTable(title, rows));
  if (options.jsonOut) {
    await Deno.writeTextFile(options.jsonOut, JSON.stringify(json, null, 2) + "\n");
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
