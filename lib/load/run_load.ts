/**
 * The load test behind `client bench`: N logged-in clients move M files each, timed.
 * @module
 */
import { FileshareClient } from "../client/client.ts";
import { randomHex } from "../random_hex.ts";
import { type Latency, latency } from "./latency.ts";
import { NULL_SINK, patternSource } from "./pattern_source.ts";
import type { ServerTrust } from "../tls/trust.ts";

/** The operation a load test repeats. */
export type LoadOp = "upload" | "download" | "mixed";

/** What to run. */
export interface LoadOptions {
  /** Server host name or address. */
  hostname: string;
  /** Server port. */
  port: number;
  /** User to log in as, on every connection. */
  user: string;
  /** That user's password. */
  password: string;
  /** Concurrent connections. */
  clients: number;
  /** Files each client moves. */
  files: number;
  /** Bytes per file. */
  size: number;
  /** Which way the files go. */
  op: LoadOp;
  /** Run id for the server's log (default: random). */
  run?: string;
  /** Leave the run's folder on the server. */
  keep?: boolean;
  /** How to trust the server's certificate (false: no TLS). */
  tls?: ServerTrust | false;
}

/** What a run measured. */
export interface LoadResult {
  /** The run id, as recorded in the server's log. */
  run: string;
  /** The operation that was run. */
  op: LoadOp;
  /** Concurrent connections. */
  clients: number;
  /** Files per client. */
  files: number;
  /** Bytes per file. */
  size: number;
  /** Timed operations attempted (clients x files). */
  ops: number;
  /** Timed operations that failed. */
  errors: number;
  /** Body bytes of the successful operations. */
  bytes: number;
  /** Wall time of the timed phase. */
  ms: number;
  /** Aggregate rate, MB/s (10^6 bytes per second). */
  mbps: number;
  /** Per-operation latency of the successful operations, ms. */
  latencyMs: Latency;
  /** The first few error messages. */
  errorSamples: string[];
}

/** Connects `count` clients, `batch` at a time; on any failure closes those that did connect. */
async function connectAll(
  count: number,
  connect: () => Promise<FileshareClient>,
  batch = 16,
): Promise<FileshareClient[]> {
  const out: FileshareClient[] = [];
  for (let i = 0; i < count; i += batch) {
    const settled = await Promise.allSettled(
      Array.from({ length: Math.min(batch, count - i) }, connect),
    );
    for (const s of settled) if (s.status === "fulfilled") out.push(s.value);
    const failed = settled.find((s) => s.status === "rejected");
    if (failed) {
      for (const c of out) c.close();
      throw failed.reason;
    }
  }
  return out;
}

/** Who moves what: names, directions and sources of every (client, file) pair of a run. */
interface LoadPlan {
  run: string;
  folder: string;
  options: LoadOptions;
  connect(): Promise<FileshareClient>;
  name(c: number, f: number): string;
  isUpload(c: number, f: number): boolean;
  source(c: number, f: number): ReturnType<typeof patternSource>;
}

function planRun(options: LoadOptions): LoadPlan {
  const run = options.run ?? randomHex(4);
  const folder = `bench-${run}`;
  return {
    run,
    folder,
    options,
    connect: () =>
      FileshareClient.connect({
        hostname: options.hostname,
        port: options.port,
        user: options.user,
        password: options.password,
        run,
        tls: options.tls,
      }),
    name: (c, f) => `${folder}/c${c}-f${f}`,
    // "mixed" alternates per client and per file, so even one file per client mixes directions.
    isUpload: (c, f) => options.op === "upload" || (options.op === "mixed" && (c + f) % 2 === 0),
    source: (c, f) => patternSource(options.size, c * 7919 + f * 104729),
  };
}

/** Uploads, untimed, the files that will be downloaded, so they exist before the clock starts. */
async function stageDownloads(clients: FileshareClient[], plan: LoadPlan): Promise<void> {
  await Promise.all(clients.map(async (client, c) => {
    for (let f = 0; f < plan.options.files; f++) {
      if (!plan.isUpload(c, f)) {
        await client.upload(plan.source(c, f), plan.options.size, plan.name(c, f));
      }
    }
  }));
}

/** What the timed phase measured. */
interface Measured {
  latencies: number[];
  errors: number;
  errorSamples: string[];
  bytes: number;
  ms: number;
}

/** Every client moves its files one after another; failures are counted, not thrown. */
async function timedPhase(clients: FileshareClient[], plan: LoadPlan): Promise<Measured> {
  const m: Measured = { latencies: [], errors: 0, errorSamples: [], bytes: 0, ms: 0 };
  const started = performance.now();
  await Promise.all(clients.map(async (client, c) => {
    for (let f = 0; f < plan.options.files; f++) {
      const t = performance.now();
      try {
        const r = plan.isUpload(c, f)
          ? await client.upload(plan.source(c, f), plan.options.size, plan.name(c, f), {
            overwrite: true,
          })
          : await client.download(plan.name(c, f), () => Promise.resolve(NULL_SINK));
        m.latencies.push(performance.now() - t);
        m.bytes += r.bytes;
      } catch (err) {
        m.errors++;
        if (m.errorSamples.length < 5) m.errorSamples.push((err as Error).message);
      }
    }
  }));
  m.ms = performance.now() - started;
  return m;
}

function summarise(plan: LoadPlan, m: Measured): LoadResult {
  const { clients, files, size, op } = plan.options;
  return {
    run: plan.run,
    op,
    clients,
    files,
    size,
    ops: clients * files,
    errors: m.errors,
    bytes: m.bytes,
    ms: m.ms,
    mbps: m.ms > 0 ? m.bytes / 1e6 / (m.ms / 1000) : 0,
    latencyMs: latency(m.latencies),
    errorSamples: m.errorSamples,
  };
}

/**
 * Runs a load test: `clients` connections in parallel, each moving `files` files of `size`
 * bytes, every transfer SHA-256 verified. The run is marked in the server's log
 * (bench_start/bench_end) and every connection carries the run id. Files go to
 * `bench-RUN/cI-fJ`; the folder is removed afterwards unless `keep`. Failed operations are
 * counted, not thrown; failures to connect or to set up the run are thrown.
 *
 * @example
 * ```ts
 * import { runLoad } from "./run_load.ts";
 *
 * async function eightByFour(password: string): Promise<void> {
 *   const r = await runLoad({
 *     hostname: "127.0.0.1",
 *     port: 9000,
 *     user: "alice",
 *     password,
 *     clients: 8,
 *     files: 4,
 *     size: 16 * 1024 * 1024,
 *     op: "mixed",
 *   });
 *   console.log(r.mbps, r.latencyMs.p99, r.errors);
 * }
 * ```
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const plan = planRun(options);
  const control = await plan.connect();
  let clients: FileshareClient[] = [];
  let made = false;
  try {
    await control.mkdir(plan.folder);
    made = true;
    clients = await connectAll(options.clients, plan.connect);
    await stageDownloads(clients, plan);
    const { clients: n, files, size, op } = options;
    await control.benchMark("start", plan.run, { clients: n, files, size, op });
    const measured = await timedPhase(clients, plan);
    const { errors, bytes, ms } = measured;
    await control.benchMark("end", plan.run, { ops: n * files, errors, bytes, ms: Math.round(ms) });
    for (const c of clients) c.close();
    if (!options.keep) await control.rmdir(plan.folder, true);
    made = false;
    return summarise(plan, measured);
  } finally {
    for (const c of clients) c.close();
    // After a failure, clean up as well as we can without hiding the run's own error.
    if (made && !options.keep && !control.closed) {
      await control.rmdir(plan.folder, true).catch(() => {});
    }
    control.close();
  }
}
