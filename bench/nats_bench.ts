/**
 * `deno task bench --store nats[://HOST:PORT,...]`: fileshare on a NATS JetStream store
 * against the raw ceiling of the same cluster in the same run.
 *
 * - ceiling: plain JetStream publish of 1 MiB messages holding the file's own bytes, through
 *   the stream leader's node, to a stream with the same replica count, several in flight
 *   (and, for reads, an ordered consumer over them);
 * - fileshare: upload and download of one file through a real server.ts child on the
 *   cluster, SHA-256 verified at both ends.
 *
 * Without hosts it starts its own 3-node cluster on loopback (tests/_nats.ts).
 *
 * @module
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, StorageType } from "@nats-io/jetstream";
import { createHash } from "node:crypto";
import { FileshareClient } from "../lib/client/client.ts";
import { NULL_SINK } from "../lib/load/pattern_source.ts";
import { NatsCluster } from "../tests/_nats.ts";
import { type ChildServer, runTool, spawnServer, USERS } from "../tests/_helpers.ts";
import { fmt, fmtSize, type Row } from "./_table.ts";
import { cpuSeconds } from "./_proc.ts";

/** What the NATS case measures. */
export interface NatsBenchOptions {
  /** `nats` to start a cluster here, or `nats://HOST:PORT[,...]` of a running one. */
  store: string;
  /** File size (default 256 MiB). */
  size: number;
  /** Replicas of the buckets and the ceiling's stream (default 3). */
  replicas: number;
  /** Rounds of ceiling-then-fileshare; the median ratio counts, best and spread are shown. */
  repeat: number;
  log(line: string): void;
}

const MiB = 1 << 20;
const rate = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Incompressible bytes, the same on every call: sources of one run hash alike. */
const BLOCK = (() => {
  const block = new Uint8Array(MiB + 4099);
  let x = 0x9e3779b9;
  for (let i = 0; i < block.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    block[i] = x & 0xff;
  }
  return block;
})();

/** A pseudo-random source of `size` bytes (the same bytes every time). */
function source(size: number): { read(p: Uint8Array): Promise<number | null> } {
  let done = 0;
  return {
    read(p) {
      if (done >= size) return Promise.resolve(null);
      const start = done % 4099;
      const n = Math.min(p.length, size - done, MiB);
      p.set(BLOCK.subarray(start, start + n));
      done += n;
      return Promise.resolve(n);
    },
  };
}

/** CPU milliseconds used so far by each process group a measurement involves. */
type CpuProbe = () => Record<string, number>;

/** CPU milliseconds (user + system) used so far by `pids` together (0 for unreadable ones). */
function cpuMs(pids: readonly number[]): number {
  let ms = 0;
  for (const pid of pids) {
    const c = cpuSeconds(pid);
    if (c) ms += (c.user + c.system) * 1000;
  }
  return ms;
}

/** CPU ms per MiB of each group between two probes. */
function perMiB(
  before: Record<string, number>,
  after: Record<string, number>,
  size: number,
): Record<string, number> {
  return Object.fromEntries(
    Object.keys(after).map((k) => [k, (after[k] - before[k]) / (size / MiB)]),
  );
}

/**
 * Raw JetStream: publish `size` bytes as 1 MiB messages, `window` in flight; then read. The
 * CPU the publish phase cost comes back per MiB.
 */
async function ceiling(
  servers: string[],
  size: number,
  replicas: number,
  probe: CpuProbe,
): Promise<{ put: number; get: number; cpu: Record<string, number> }> {
  const nc = await connect({ servers });
  let leader: NatsConnection | null = null;
  try {
    const jsm = await jetstream(nc).jetstreamManager();
    const name = `BENCH_RAW_${crypto.randomUUID().slice(0, 8)}`;
    const si = await jsm.streams.add({
      name,
      subjects: [`${name}.>`],
      num_replicas: replicas,
      storage: StorageType.File,
    });
    // Published through the stream leader's node, as NatsStore sends its chunks: a publisher
    // on another node pays one more route per MiB, and the ceiling is the best plain publish.
    leader = await onNode(servers, si.cluster?.leader);
    const js = jetstream(leader ?? nc, { timeout: 30_000 });
    try {
      // The file's own bytes, incompressible: clustered JetStream compresses (S2) what it
      // replicates, so mostly-zero messages (as this ceiling sent before) cost the nodes
      // about half the CPU per MiB of real data and overstated the ceiling by 1.5-2x.
      const window = 8;
      const inflight: Promise<unknown>[] = [];
      const c0 = probe();
      const t0 = performance.now();
      for (let sent = 0; sent < size; sent += MiB) {
        const start = sent % 4099;
        const n = Math.min(MiB, size - sent);
        inflight.push(js.publish(`${name}.data`, BLOCK.subarray(start, start + n)));
        if (inflight.length >= window) await inflight.shift();
      }
      await Promise.all(inflight);
      const put = rate(size, performance.now() - t0);
      const cpu = perMiB(c0, probe(), size);
      const consumer = await js.consumers.get(name, { filter_subjects: `${name}.data` });
      const t1 = performance.now();
      const messages = await consumer.consume({ max_messages: 4 });
      let got = 0;
      for await (const m of messages) {
        got += m.data.length;
        if (got >= size) break;
      }
      const get = rate(size, performance.now() - t1);
      return { put, get, cpu };
    } finally {
      await jsm.streams.delete(name).catch(() => {});
    }
  } finally {
    await leader?.close();
    await nc.close();
  }
}

/** A connection to the node named `node`, or null (no name, or no server of `servers` is it). */
async function onNode(servers: string[], node: string | undefined): Promise<NatsConnection | null> {
  if (!node) return null;
  for (const server of servers) {
    const nc = await connect({ servers: [server] });
    if (nc.info?.server_name === node) return nc;
    await nc.close();
  }
  return null;
}

/** One round's figures, MB/s: the ceiling, then fileshare with and without TLS. */
interface Round {
  ceilingPut: number;
  ceilingGet: number;
  up: number;
  down: number;
  upPlain: number;
  downPlain: number;
}

/** Uploads and downloads one `size`-byte file through `client`, SHA-256 checked at both ends. */
async function transfer(
  client: FileshareClient,
  size: number,
  sha: string,
  name: string,
  probe: CpuProbe,
): Promise<{ up: number; down: number; cpu: Record<string, number> }> {
  const c0 = probe();
  const up = await client.upload(source(size), size, name);
  const cpu = perMiB(c0, probe(), size);
  if (up.sha256 !== sha) throw new Error("upload: SHA-256 differs from the source");
  const down = await client.download(name, () => Promise.resolve(NULL_SINK));
  if (down.sha256 !== sha || down.bytes !== size) {
    throw new Error("download: SHA-256 differs from the source");
  }
  await client.delete(name);
  return { up: rate(size, up.ms), down: rate(size, down.ms), cpu };
}

/** `median, best, min-max` of per-round ratios, e.g. `0.62x, best 0.71x, 0.55-0.71`. */
function ratios(xs: readonly number[]): string {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const x = (v: number) => v.toFixed(2);
  return `${x(median(xs))}x, best ${x(hi)}x, ${x(lo)}-${x(hi)}`;
}

/**
 * Runs the NATS case; returns table rows (id `n`) and JSON figures. Each round measures the
 * ceiling and then fileshare right after it, so a ratio compares figures of one moment of a
 * shared machine; the table gives the median ratio, the best and the spread over rounds.
 */
export async function runNatsBench(
  o: NatsBenchOptions,
): Promise<{ rows: Row[]; json: Record<string, unknown> }> {
  const own = /^nats(:\/\/)?$/.test(o.store);
  o.log(own ? "starting a 3-node NATS cluster" : `using the NATS cluster at ${o.store}`);
  const cluster = own ? await NatsCluster.start(3) : null;
  const servers = cluster?.servers ?? o.store.replace(/^nats:\/\//, "").split(",");
  const url = `nats://${servers.join(",")}`;
  const bucket = `bench-${crypto.randomUUID().slice(0, 8)}`;
  const dir = await Deno.makeTempDir({ prefix: "fileshare-nats-bench-" });
  const rounds: Round[] = [];
  /** CPU ms per MiB of each round's publish phases, by process group. */
  const cpu: Record<"raw" | "up" | "upPlain", Record<string, number>>[] = [];
  try {
    const common = ["--store", url, "--bucket", bucket, "--replicas", String(o.replicas)];
    for (const u of Object.values(USERS)) {
      const r = await runTool("server", [
        "user",
        "add",
        u.name,
        "--password-stdin",
        "--iterations",
        "4096",
        ...(u.readOnly ? ["--read-only"] : []),
        ...common,
      ], { cwd: dir, stdin: `${u.password}\n` });
      if (r.code !== 0) throw new Error(`user add failed: ${r.stderr}`);
    }
    await using srv = await spawnServer(dir, ["--log", "bench.jsonl", ...common]);
    await using plain = await spawnServer(dir, ["--log", "plain.jsonl", "--no-tls", ...common]);
    const login = (port: number, tls: ChildServer["tls"]) =>
      FileshareClient.connect({
        hostname: "127.0.0.1",
        port,
        user: USERS.alice.name,
        password: USERS.alice.password,
        tls,
      });
    const client = await login(srv.port, srv.tls);
    const plainClient = await login(plain.port, false);
    try {
      const expected = createHash("sha256");
      const probe = source(o.size);
      const buf = new Uint8Array(MiB);
      for (let n; (n = await probe.read(buf)) !== null;) expected.update(buf.subarray(0, n));
      const sha = expected.digest("hex");
      const natsPids = cluster?.pids ?? [];
      const rawProbe = () => ({ publisher: cpuMs([Deno.pid]), nats: cpuMs(natsPids) });
      const upProbe = (server: ChildServer) => () => ({
        client: cpuMs([Deno.pid]),
        server: cpuMs([server.process.pid]),
        nats: cpuMs(natsPids),
      });
      for (let i = 0; i < o.repeat; i++) {
        o.log(`round ${i + 1}/${o.repeat}: raw JetStream publish of ${fmtSize(o.size)}`);
        const raw = await ceiling(servers, o.size, o.replicas, rawProbe);
        o.log(`round ${i + 1}/${o.repeat}: upload and download of ${fmtSize(o.size)}, TLS`);
        const tls = await transfer(client, o.size, sha, `big-${i}.bin`, upProbe(srv));
        o.log(`round ${i + 1}/${o.repeat}: the same without TLS`);
        const clear = await transfer(plainClient, o.size, sha, `plain-${i}.bin`, upProbe(plain));
        cpu.push({ raw: raw.cpu, up: tls.cpu, upPlain: clear.cpu });
        rounds.push({
          ceilingPut: raw.put,
          ceilingGet: raw.get,
          up: tls.up,
          down: tls.down,
          upPlain: clear.up,
          downPlain: clear.down,
        });
      }
    } finally {
      client.close();
      plainClient.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await cluster?.stop();
  }
  const col = (k: keyof Round) => rounds.map((r) => r[k]);
  const ratio = (k: keyof Round) => rounds.map((r) => r[k] / r.ceilingPut);
  const m = Object.fromEntries(
    (Object.keys(rounds[0]) as (keyof Round)[]).map((k) => [k, median(col(k))]),
  ) as unknown as Round;
  const met = (k: keyof Round) => median(ratio(k)) >= 0.7;
  const r = `R${o.replicas}`;
  const size = fmtSize(o.size);
  const rows: Row[] = [
    {
      id: "n",
      what: `NATS ${r} raw publish via the leader, 1 MiB msgs, 8 in flight`,
      value: `${fmt(m.ceilingPut)} MB/s`,
      target: "ceiling",
      met: null,
    },
    {
      id: "n",
      what: `NATS ${r} raw ordered-consumer read`,
      value: `${fmt(m.ceilingGet)} MB/s`,
      target: "ceiling",
      met: null,
    },
    {
      id: "n",
      what: `fileshare on NATS upload ${size} (${ratios(ratio("up"))})`,
      value: `${fmt(m.up)} MB/s`,
      target: ">= 0.7x publish",
      met: met("up"),
    },
    {
      id: "n",
      what: `fileshare on NATS download ${size} (${ratios(ratio("down"))})`,
      value: `${fmt(m.down)} MB/s`,
      target: ">= 0.7x publish",
      met: met("down"),
    },
    {
      id: "n",
      what: `  the same upload, --no-tls (${ratios(ratio("upPlain"))})`,
      value: `${fmt(m.upPlain)} MB/s`,
      target: "-",
      met: null,
    },
    {
      id: "n",
      what: `  the same download, --no-tls (${ratios(ratio("downPlain"))})`,
      value: `${fmt(m.downPlain)} MB/s`,
      target: "-",
      met: null,
    },
  ];
  // Where the CPU goes, medians over rounds: on a busy machine the transfer that costs more
  // CPU per MiB gets through more slowly, whatever its pipelining.
  const cpuMedian = (k: "raw" | "up" | "upPlain") =>
    Object.fromEntries(Object.keys(cpu[0][k]).map((g) => [g, median(cpu.map((c) => c[k][g]))]));
  const cpuText = (c: Record<string, number>) =>
    `${fmt(Object.values(c).reduce((a, b) => a + b, 0))} (${
      Object.entries(c).map(([g, v]) => `${g} ${fmt(v)}`).join(" + ")
    })`;
  const raw = cpuMedian("raw");
  const up = cpuMedian("up");
  const upPlain = cpuMedian("upPlain");
  if (cluster !== null) {
    rows.push(
      {
        id: "n",
        what: "  CPU ms per MiB, raw publish",
        value: cpuText(raw),
        target: "-",
        met: null,
      },
      {
        id: "n",
        what: "  CPU ms per MiB, upload (TLS)",
        value: cpuText(up),
        target: "-",
        met: null,
      },
      {
        id: "n",
        what: "  CPU ms per MiB, upload (--no-tls)",
        value: cpuText(upPlain),
        target: "-",
        met: null,
      },
    );
  }
  return {
    rows,
    json: {
      nats: {
        replicas: o.replicas,
        size: o.size,
        rounds,
        median: m,
        cpuMsPerMiB: { rounds: cpu, median: { raw, up, upPlain } },
      },
    },
  };
}
