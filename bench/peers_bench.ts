/**
 * `deno task bench --peers`: the same files through fileshare and the tools its users would
 * otherwise pick (OpenSSH sftp, the rsync daemon, nginx WebDAV with curl), each as the user
 * runs it: one client process per command, wall time from process start to exit (login
 * included). Runs are interleaved (each repetition runs every tool in turn) and the best of
 * them counts. A second part puts a delaying relay (50 ms round trip) in front of each server.
 */
import { type Invocation, type Peer, type PeerName, type Skipped, startPeers } from "./_peers.ts";
import { reapedChildrenCpuSeconds, treeCpuSeconds } from "./_proc.ts";
import { DelayRelay } from "./_relay.ts";
import { fmtSize } from "./_table.ts";
import { writeRandomFile } from "../tests/_helpers.ts";

/** How big each peer case is. */
export interface PeersScale {
  /** One big file, up and down. */
  big: number;
  /** Small files moved through one client process. */
  smallFiles: number;
  smallSize: number;
  /** Concurrent client processes, each uploading `loadSize`. */
  loadProcs: number;
  loadSize: number;
  /** Runs of one-shot `dir`; the median counts. */
  dirRuns: number;
  /** Small files moved through the relay in one command. */
  relayFiles: number;
  /** One-way delay of the relay. */
  relayDelayMs: number;
  repeat: number;
}

const MiB = 1024 * 1024;

/** The scales of `--peers`, `--peers --quick` and `--peers --tiny`. */
export const PEER_SCALES: Record<"full" | "quick" | "tiny", PeersScale> = {
  full: {
    big: 1024 * MiB,
    smallFiles: 1000,
    smallSize: 4096,
    loadProcs: 64,
    loadSize: 16 * MiB,
    dirRuns: 9,
    relayFiles: 100,
    relayDelayMs: 25,
    repeat: 3,
  },
  quick: {
    big: 128 * MiB,
    smallFiles: 200,
    smallSize: 4096,
    loadProcs: 16,
    loadSize: 4 * MiB,
    dirRuns: 5,
    relayFiles: 20,
    relayDelayMs: 25,
    repeat: 2,
  },
  tiny: {
    big: MiB,
    smallFiles: 10,
    smallSize: 4096,
    loadProcs: 2,
    loadSize: 256 * 1024,
    dirRuns: 1,
    relayFiles: 3,
    relayDelayMs: 5,
    repeat: 1,
  },
};

/** One measured run of a client process. */
interface Run {
  ms: number;
  /** CPU seconds of the client process(es). */
  clientCpu: number;
  /** CPU seconds of the server's process tree meanwhile. */
  serverCpu: number;
  /** The transfer time the client printed, if any. */
  reportedMs: number | null;
}

/** A figure per tool for one case. */
interface Line {
  what: string;
  /** Formatted values by tool name. */
  cells: Map<string, string>;
  /** fileshare's advantage over each other tool: >1 means fileshare did better. */
  ratios: Map<string, number>;
}

/** A target checked against one tool's figure. */
interface Target {
  text: string;
  ratio: number | null;
  met: boolean | null;
}

const decoder = new TextDecoder();
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** Flushes dirty pages left by the previous run, so each starts from a quiet disk. */
async function settle(): Promise<void> {
  try {
    await new Deno.Command("sync").output();
  } catch {
    // no sync(1) on PATH: measure without
  }
}

async function run(inv: Invocation): Promise<{ ms: number; stdout: string }> {
  const started = performance.now();
  const child = new Deno.Command(inv.cmd, {
    args: inv.args,
    env: inv.env,
    stdin: inv.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (inv.stdin !== undefined) {
    const w = child.stdin.getWriter();
    // A client that fails early closes its stdin; its exit code and message tell why.
    await w.write(new TextEncoder().encode(inv.stdin)).then(() => w.close()).catch(() => {});
  }
  const out = await child.output();
  const ms = performance.now() - started;
  if (!out.success) {
    throw new Error(
      `${inv.cmd.split("/").pop()} failed (exit ${out.code}): ${
        decoder.decode(out.stderr).trim().slice(0, 500)
      }`,
    );
  }
  return { ms, stdout: decoder.decode(out.stdout) };
}

/** Runs the invocations at once and measures the lot. */
async function measure(peer: Peer, invs: Invocation[]): Promise<Run> {
  const c0 = reapedChildrenCpuSeconds();
  const s0 = treeCpuSeconds(peer.pid);
  const started = performance.now();
  const results = await Promise.all(invs.map(run));
  const ms = performance.now() - started;
  const reported = invs.length === 1 ? peer.client().reportedMs(results[0].stdout) : null;
  return {
    ms,
    clientCpu: reapedChildrenCpuSeconds() - c0,
    serverCpu: treeCpuSeconds(peer.pid) - s0,
    reportedMs: reported,
  };
}

async function emptyDir(path: string): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch(() => {});
  await Deno.mkdir(path, { recursive: true });
}

async function expectSize(path: string, size: number): Promise<void> {
  const info = await Deno.stat(path).catch(() => null);
  if (info?.size !== size) {
    throw new Error(`Expected ${size} bytes at ${path}, found ${info?.size ?? "nothing"}`);
  }
}

function fmtS(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function fmtN(v: number): string {
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

/** Everything one peer run has to hand. */
interface Ctx {
  scale: PeersScale;
  dir: string;
  peers: Peer[];
  lines: Line[];
  targets: Target[];
  json: Record<string, unknown>;
  log(line: string): void;
}

function line(
  ctx: Ctx,
  what: string,
  values: Map<string, number>,
  format: (v: number) => string,
  better: "higher" | "lower" | null,
): Line {
  const cells = new Map<string, string>();
  const ratios = new Map<string, number>();
  const mine = values.get("fileshare");
  for (const [name, v] of values) {
    cells.set(name, format(v));
    if (better !== null && name !== "fileshare" && mine !== undefined && v > 0 && mine > 0) {
      ratios.set(name, better === "higher" ? mine / v : v / mine);
    }
  }
  const l = { what, cells, ratios };
  ctx.lines.push(l);
  return l;
}

/** A line of already formatted cells, without ratios. */
function textLine(ctx: Ctx, what: string, cells: Map<string, string>): void {
  ctx.lines.push({ what, cells, ratios: new Map() });
}

/** `client + server` CPU seconds per GiB. */
function cpuCell(r: Run, gib: number): string {
  return `${(r.clientCpu / gib).toFixed(2)} + ${(r.serverCpu / gib).toFixed(2)}`;
}

function target(ctx: Ctx, text: string, ratio: number | undefined, want: number): void {
  ctx.targets.push({
    text,
    ratio: ratio ?? null,
    met: ratio === undefined ? null : ratio >= want,
  });
}

/** One big file up, then down, per tool: wall, reported time, CPU per GiB. */
async function bigFile(ctx: Ctx, source: string): Promise<void> {
  const { big, repeat } = ctx.scale;
  const gib = big / 1024 ** 3;
  const back = `${ctx.dir}/back.bin`;
  const results: Record<string, Record<string, Run[]>> = {};
  for (const dirn of ["upload", "download"] as const) {
    for (let i = 0; i < repeat; i++) {
      for (const peer of ctx.peers) {
        const c = peer.client();
        const stored = `${peer.root}/big.bin`;
        if (dirn === "upload") await Deno.remove(stored).catch(() => {});
        else await Deno.remove(back).catch(() => {});
        await settle();
        const r = await measure(
          peer,
          [dirn === "upload" ? c.upload(source, "big.bin") : c.download("big.bin", back)],
        );
        await expectSize(dirn === "upload" ? stored : back, big);
        ((results[peer.name] ??= {})[dirn] ??= []).push(r);
        ctx.log(`${dirn} ${fmtSize(big)} ${peer.name}: ${fmtS(r.ms)}`);
      }
    }
  }
  await Deno.remove(back).catch(() => {});
  for (const peer of ctx.peers) await Deno.remove(`${peer.root}/big.bin`).catch(() => {});
  const json: Record<string, unknown> = {};
  for (const dirn of ["upload", "download"] as const) {
    const best = new Map<string, Run>();
    for (const peer of ctx.peers) {
      best.set(peer.name, results[peer.name][dirn].reduce((a, b) => (b.ms < a.ms ? b : a)));
    }
    const pick = (f: (r: Run) => number | null) =>
      new Map([...best].flatMap(([k, r]) => (f(r) === null ? [] : [[k, f(r)!]])));
    const wall = line(
      ctx,
      `${fmtSize(big)} ${dirn}, wall incl. start and login`,
      pick((r) => r.ms),
      fmtS,
      "lower",
    );
    line(ctx, "  transfer time the client reports", pick((r) => r.reportedMs), fmtS, null);
    textLine(
      ctx,
      "  CPU s per GiB, client + server",
      new Map([...best].map(([k, r]) => [k, cpuCell(r, gib)])),
    );
    json[dirn] = Object.fromEntries(best);
    target(
      ctx,
      `${fmtSize(big)} ${dirn}: >= 0.8x the rsync daemon (encryption off)`,
      wall.ratios.get("rsync"),
      0.8,
    );
    target(
      ctx,
      `${fmtSize(big)} ${dirn}: >= 1.5x sftp (once encryption is on)`,
      wall.ratios.get("sftp"),
      1.5,
    );
  }
  ctx.json.big = json;
}

/** Small files through one client process per command, both directions. */
async function smallFiles(ctx: Ctx, extra: Peer | null): Promise<void> {
  const { smallFiles: n, smallSize, repeat } = ctx.scale;
  const src = `${ctx.dir}/small-src`;
  const back = `${ctx.dir}/small-back`;
  await emptyDir(src);
  const names = Array.from({ length: n }, (_, i) => `f${String(i).padStart(5, "0")}`);
  const body = new Uint8Array(smallSize);
  for (const name of names) {
    crypto.getRandomValues(body);
    await Deno.writeFile(`${src}/${name}`, body);
  }
  const locals = names.map((x) => `${src}/${x}`);
  const all = extra ? [...ctx.peers, extra] : ctx.peers;
  const best: Record<string, Record<string, number>> = {};
  for (const dirn of ["upload", "download"] as const) {
    for (let i = 0; i < repeat; i++) {
      for (const peer of dirn === "upload" ? all : ctx.peers) {
        const c = peer.client();
        if (dirn === "upload") await emptyDir(`${peer.root}/small`);
        else await emptyDir(back);
        await settle();
        const r = await measure(peer, [
          dirn === "upload" ? c.uploadMany(locals, "small") : c.downloadMany(names, "small", back),
        ]);
        const where = dirn === "upload" ? `${peer.root}/small` : back;
        for (const x of [names[0], names[n - 1]]) await expectSize(`${where}/${x}`, smallSize);
        const rate = n / (r.ms / 1000);
        const b = best[peer.name] ??= {};
        b[dirn] = Math.max(b[dirn] ?? 0, rate);
        ctx.log(`${n} x ${fmtSize(smallSize)} ${dirn} ${peer.name}: ${fmtN(rate)} files/s`);
      }
    }
  }
  await Deno.remove(src, { recursive: true });
  await Deno.remove(back, { recursive: true }).catch(() => {});
  for (const p of all) await Deno.remove(`${p.root}/small`, { recursive: true }).catch(() => {});
  ctx.json.small = best;
  for (const dirn of ["upload", "download"] as const) {
    const values = new Map(
      ctx.peers.map((p) => [p.name, best[p.name][dirn]]),
    );
    const l = line(
      ctx,
      `${n} x ${fmtSize(smallSize)} ${dirn}, one process, files/s`,
      values,
      fmtN,
      "higher",
    );
    target(ctx, `${n} x ${fmtSize(smallSize)} ${dirn}: >= 2x sftp batch`, l.ratios.get("sftp"), 2);
    if (dirn === "upload" && extra) {
      const off = best[extra.name].upload;
      const on = best.fileshare.upload;
      line(
        ctx,
        `  fileshare server --no-fsync (fsync on is ${(off / on).toFixed(2)}x slower)`,
        new Map([["fileshare", off]]),
        fmtN,
        null,
      );
      ctx.targets.push({
        text: `${n} x ${fmtSize(smallSize)} upload: fsync on within 1.5x of --no-fsync`,
        ratio: on / off,
        met: off / on <= 1.5,
      });
    }
  }
}

/** One-shot listing of a small folder: median wall time per tool. */
async function listing(ctx: Ctx): Promise<Map<string, number>> {
  const files = 20;
  for (const p of ctx.peers) {
    await emptyDir(`${p.root}/list`);
    for (let i = 0; i < files; i++) {
      await Deno.writeFile(`${p.root}/list/file-${i}.txt`, new Uint8Array(4096));
    }
  }
  const times = new Map<string, number[]>();
  for (let i = 0; i < ctx.scale.dirRuns; i++) {
    for (const p of ctx.peers) {
      const r = await measure(p, [p.client().list("list")]);
      times.set(p.name, [...(times.get(p.name) ?? []), r.ms]);
    }
  }
  const medians = new Map([...times].map(([k, v]) => [k, median(v)]));
  const l = line(
    ctx,
    `list a ${files}-file folder, one command (median ms)`,
    medians,
    (v) => `${fmtN(v)} ms`,
    "lower",
  );
  ctx.json.dir = Object.fromEntries(times);
  const sftp = l.ratios.get("sftp");
  // Latency target: fileshare <= 0.6x sftp's time, i.e. sftp's time / ours >= 1/0.6.
  target(ctx, "one-shot dir: <= 0.6x sftp's time", sftp, 1 / 0.6);
  return medians;
}

/** Many client processes at once, each uploading one file. */
async function manyProcesses(ctx: Ctx): Promise<void> {
  const { loadProcs, loadSize, repeat } = ctx.scale;
  const src = `${ctx.dir}/load.bin`;
  await writeRandomFile(src, loadSize);
  const best = new Map<string, Run & { mbps: number }>();
  for (let i = 0; i < repeat; i++) {
    for (const p of ctx.peers) {
      await emptyDir(`${p.root}/load`);
      await settle();
      const c = p.client();
      const r = await measure(
        p,
        Array.from({ length: loadProcs }, (_, k) => c.upload(src, `load/p${k}.bin`)),
      );
      await expectSize(`${p.root}/load/p${loadProcs - 1}.bin`, loadSize);
      const mbps = (loadProcs * loadSize) / 1e6 / (r.ms / 1000);
      if (mbps > (best.get(p.name)?.mbps ?? 0)) best.set(p.name, { ...r, mbps });
      ctx.log(`${loadProcs} x ${fmtSize(loadSize)} ${p.name}: ${fmtN(mbps)} MB/s`);
    }
  }
  await Deno.remove(src);
  for (const p of ctx.peers) await Deno.remove(`${p.root}/load`, { recursive: true });
  const gib = (loadProcs * loadSize) / 1024 ** 3;
  const l = line(
    ctx,
    `${loadProcs} processes x ${fmtSize(loadSize)} upload, MB/s`,
    new Map([...best].map(([k, r]) => [k, r.mbps])),
    fmtN,
    "higher",
  );
  textLine(
    ctx,
    "  CPU s per GiB, clients + server",
    new Map([...best].map(([k, r]) => [k, cpuCell(r, gib)])),
  );
  // Whether the server could use both cores: its CPU seconds over the wall time.
  textLine(
    ctx,
    "  server's busy cores (CPU s / wall s)",
    new Map([...best].map(([k, r]) => [k, (r.serverCpu / (r.ms / 1000)).toFixed(2)])),
  );
  ctx.json.load = Object.fromEntries(best);
  target(ctx, `${loadProcs} processes: >= 2x sftp aggregate`, l.ratios.get("sftp"), 2);
}

/** Through the delaying relay: many small files in one command, and a one-shot listing. */
async function overRelay(ctx: Ctx, direct: Map<string, number>): Promise<void> {
  const { relayFiles: n, smallSize, relayDelayMs: delay } = ctx.scale;
  const src = `${ctx.dir}/relay-src`;
  await emptyDir(src);
  const names = Array.from({ length: n }, (_, i) => `r${String(i).padStart(5, "0")}`);
  for (const x of names) await Deno.writeFile(`${src}/${x}`, new Uint8Array(smallSize));
  const locals = names.map((x) => `${src}/${x}`);
  const rates = new Map<string, number>();
  const downRates = new Map<string, number>();
  const back = `${ctx.dir}/relay-back`;
  const dirMs = new Map<string, number>();
  const trips = new Map<string, number>();
  const flights = new Map<string, number>();
  for (const p of ctx.peers) {
    await using relay = DelayRelay.start(p.port, delay);
    const c = p.client(relay.port);
    await emptyDir(`${p.root}/relay`);
    const up = await measure(p, [c.uploadMany(locals, "relay")]);
    await expectSize(`${p.root}/relay/${names[n - 1]}`, smallSize);
    rates.set(p.name, n / (up.ms / 1000));
    ctx.log(`relay ${n} x ${fmtSize(smallSize)} upload ${p.name}: ${fmtS(up.ms)}`);
    await emptyDir(back);
    const down = await measure(p, [c.downloadMany(names, "relay", back)]);
    await expectSize(`${back}/${names[n - 1]}`, smallSize);
    downRates.set(p.name, n / (down.ms / 1000));
    ctx.log(`relay ${n} x ${fmtSize(smallSize)} download ${p.name}: ${fmtS(down.ms)}`);
    const runs: number[] = [];
    for (let i = 0; i < Math.max(1, Math.min(3, ctx.scale.dirRuns)); i++) {
      relay.reset();
      runs.push((await measure(p, [c.list("list")])).ms);
    }
    const ms = median(runs);
    dirMs.set(p.name, ms);
    // Round trips: each flight of client bytes that waited for the server, plus the TCP
    // handshake, which the relay cannot delay (the kernel answers it). The extra wall time
    // over the direct run says the same on a quiet machine; it goes to the JSON only.
    flights.set(p.name, relay.stats.clientFlights);
    trips.set(p.name, (ms - (direct.get(p.name) ?? 0)) / (2 * delay));
    await Deno.remove(`${p.root}/relay`, { recursive: true });
  }
  await Deno.remove(src, { recursive: true });
  await Deno.remove(back, { recursive: true }).catch(() => {});
  for (const p of ctx.peers) await Deno.remove(`${p.root}/list`, { recursive: true });
  const up = line(
    ctx,
    `${n} x ${fmtSize(smallSize)} upload via ${2 * delay} ms RTT relay, one command, files/s`,
    rates,
    fmtN,
    "higher",
  );
  const downLine = line(
    ctx,
    `${n} x ${fmtSize(smallSize)} download via ${2 * delay} ms RTT relay, one command, files/s`,
    downRates,
    fmtN,
    "higher",
  );
  line(ctx, `one-shot dir via the relay (median ms)`, dirMs, (v) => `${fmtN(v)} ms`, "lower");
  line(
    ctx,
    "  round trips, connect to answer (TCP + client flights)",
    new Map([...flights].map(([k, v]) => [k, v + 1])),
    (v) => String(v),
    "lower",
  );
  ctx.json.relay = {
    delayMs: delay,
    files: n,
    filesPerSec: Object.fromEntries(rates),
    downloadFilesPerSec: Object.fromEntries(downRates),
    dirMs: Object.fromEntries(dirMs),
    roundTrips: Object.fromEntries([...flights].map(([k, v]) => [k, v + 1])),
    clientFlights: Object.fromEntries(flights),
    extraRoundTripsFromTime: Object.fromEntries(trips),
  };
  target(ctx, "relay, many files up: within 2x of rsync", up.ratios.get("rsync"), 0.5);
  target(ctx, "relay, many files up: >= 3x sftp batch", up.ratios.get("sftp"), 3);
  target(ctx, "relay, many files down: within 2x of rsync", downLine.ratios.get("rsync"), 0.5);
  target(ctx, "relay, many files down: >= 3x sftp batch", downLine.ratios.get("sftp"), 3);
}

/** The result of a peer run as a table: one column per tool, fileshare's ratio beside each. */
export function renderPeers(
  title: string,
  names: readonly string[],
  lines: readonly Line[],
  targets: readonly Target[],
  skipped: readonly Skipped[],
): string {
  const head = ["", ...names];
  const rows = lines.map((l) => [
    l.what,
    ...names.map((n) => {
      const v = l.cells.get(n);
      if (v === undefined) return "-";
      const r = l.ratios.get(n);
      return r === undefined ? v : `${v} (${r.toFixed(2)}x)`;
    }),
  ]);
  const widths = head.map((_, i) => Math.max(...[head, ...rows].map((r) => r[i].length)));
  const fmtRow = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ")
      .trimEnd();
  const out = [title, fmtRow(head), ...rows.map(fmtRow)];
  out.push("(Nx) = fileshare's advantage: the other tool's time / fileshare's, or rate ratio");
  for (const s of skipped) out.push(`skipped ${s.name}: ${s.reason}`);
  out.push("Targets:");
  for (const t of targets) {
    const mark = t.met === null ? "no figure" : t.met ? "met" : "MISSED";
    out.push(`  ${t.text}: ${t.ratio === null ? "-" : `${t.ratio.toFixed(2)}x`}  ${mark}`);
  }
  return out.join("\n");
}

/** Runs the peer comparison; returns its table and the figures as JSON. */
export async function runPeers(
  scale: PeersScale,
  tools: readonly PeerName[],
  log: (line: string) => void,
): Promise<{ text: string; json: Record<string, unknown> }> {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-peers-" });
  let peers: Peer[] = [];
  let extra: Peer | null = null;
  try {
    const started = await startPeers(dir, tools);
    peers = started.peers;
    if (tools.includes("fileshare")) {
      extra = (await startPeers(`${dir}/nofsync`, ["fileshare"], ["--no-fsync"])).peers[0];
      extra.name = "fileshare --no-fsync";
    }
    const ctx: Ctx = {
      scale,
      dir,
      peers,
      lines: [],
      targets: [],
      json: { scale, tools: peers.map((p) => p.name), skipped: started.skipped },
      log,
    };
    const source = `${dir}/big.bin`;
    log(`writing a ${fmtSize(scale.big)} source file`);
    await writeRandomFile(source, scale.big);
    await bigFile(ctx, source);
    await Deno.remove(source);
    await smallFiles(ctx, extra);
    const direct = await listing(ctx);
    await manyProcesses(ctx);
    await overRelay(ctx, direct);
    const names = peers.map((p) => p.name);
    const title =
      `fileshare beside its peers (${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}, loopback, best of ${scale.repeat}, interleaved)`;
    ctx.json.lines = ctx.lines.map((l) => ({
      what: l.what,
      cells: Object.fromEntries(l.cells),
      ratios: Object.fromEntries(l.ratios),
    }));
    ctx.json.targets = ctx.targets;
    return {
      text: renderPeers(title, names, ctx.lines, ctx.targets, started.skipped),
      json: ctx.json,
    };
  } finally {
    for (const p of [...peers, ...(extra ? [extra] : [])]) await p.stop();
    await Deno.remove(dir, { recursive: true });
  }
}
