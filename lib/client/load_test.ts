import { FileshareClient } from "./client.ts";
import { type Latency, latency } from "./percentiles.ts";
import type { ByteSink, ByteSource } from "../transfer.ts";

/** The operation a load test repeats. */
export type LoadOp = "upload" | "download" | "mixed";

/** What to run. */
export interface LoadOptions {
  hostname: string;
  port: number;
  user: string;
  password: string;
  /** Concurrent connections. */
  clients: number;
  /** Files each client moves. */
  files: number;
  /** Bytes per file. */
  size: number;
  op: LoadOp;
  /** Run id for the server's log (default: random). */
  run?: string;
  /** Leave the run's folder on the server. */
  keep?: boolean;
}

/** What a run measured. */
export interface LoadResult {
  run: string;
  op: LoadOp;
  clients: number;
  files: number;
  size: number;
  /** Timed operations attempted (clients x files). */
  ops: number;
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

let pattern: Uint8Array | null = null;

// Built on first use (getRandomValues gives at most 64 KiB a call), not at import.
function randomPattern(): Uint8Array {
  if (pattern === null) {
    pattern = new Uint8Array(1024 * 1024);
    for (let i = 0; i < pattern.length; i += 65536) {
      crypto.getRandomValues(pattern.subarray(i, i + 65536));
    }
  }
  return pattern;
}

/** A source of `size` bytes cut from a shared random pattern: no allocation per chunk. */
export function patternSource(size: number, offset = 0): ByteSource {
  let sent = 0;
  const PATTERN = randomPattern();
  return {
    read(p) {
      if (sent >= size) return Promise.resolve(null);
      const start = (offset + sent) % PATTERN.length;
      const n = Math.min(p.length, size - sent, PATTERN.length - start);
      p.set(PATTERN.subarray(start, start + n));
      sent += n;
      return Promise.resolve(n);
    },
  };
}

/** A sink that drops what it is given (the SHA-256 is still checked by the client). */
export const NULL_SINK: ByteSink = { write: (p) => Promise.resolve(p.length) };

function randomRun(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(4)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
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

/**
 * Runs a load test: `clients` connections in parallel, each moving `files` files of `size`
 * bytes, every transfer SHA-256 verified. The run is marked in the server's log
 * (bench_start/bench_end) and every connection carries the run id. Files go to
 * `bench-RUN/cI-fJ`; the folder is removed afterwards unless `keep`. Failed operations are
 * counted, not thrown; failures to connect or to set up the run are thrown.
 *
 * @example
 * ```ts
 * const r = await runLoad({
 *   hostname: "127.0.0.1", port: 9000, user: "alice", password: "secret",
 *   clients: 8, files: 4, size: 16 * 1024 * 1024, op: "mixed",
 * });
 * console.log(r.mbps, r.latencyMs.p99, r.errors);
 * ```
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const run = options.run ?? randomRun();
  const folder = `bench-${run}`;
  const connect = () =>
    FileshareClient.connect({
      hostname: options.hostname,
      port: options.port,
      user: options.user,
      password: options.password,
      run,
    });
  const name = (c: number, f: number) => `${folder}/c${c}-f${f}`;
  // "mixed" alternates per client and per file, so even one file per client mixes directions.
  const isUpload = (c: number, f: number) =>
    options.op === "upload" || (options.op === "mixed" && (c + f) % 2 === 0);
  const source = (c: number, f: number) => patternSource(options.size, c * 7919 + f * 104729);
  const control = await connect();
  let clients: FileshareClient[] = [];
  let made = false;
  try {
    await control.mkdir(folder);
    made = true;
    clients = await connectAll(options.clients, connect);
    // Files that will be downloaded exist before the clock starts.
    await Promise.all(clients.map(async (client, c) => {
      for (let f = 0; f < options.files; f++) {
        if (!isUpload(c, f)) await client.upload(source(c, f), options.size, name(c, f));
      }
    }));
    await control.benchMark("start", run, {
      clients: options.clients,
      files: options.files,
      size: options.size,
      op: options.op,
    });
    const latencies: number[] = [];
    const errorSamples: string[] = [];
    let errors = 0;
    let bytes = 0;
    const started = performance.now();
    await Promise.all(clients.map(async (client, c) => {
      for (let f = 0; f < options.files; f++) {
        const t = performance.now();
        try {
          const r = isUpload(c, f)
            ? await client.upload(source(c, f), options.size, name(c, f), { overwrite: true })
            : await client.download(name(c, f), () => Promise.resolve(NULL_SINK));
          latencies.push(performance.now() - t);
          bytes += r.bytes;
        } catch (err) {
          errors++;
          if (errorSamples.length < 5) errorSamples.push((err as Error).message);
        }
      }
    }));
    const ms = performance.now() - started;
    const ops = options.clients * options.files;
    await control.benchMark("end", run, { ops, errors, bytes, ms: Math.round(ms) });
    for (const c of clients) c.close();
    if (!options.keep) await control.rmdir(folder, true);
    made = false;
    return {
      run,
      op: options.op,
      clients: options.clients,
      files: options.files,
      size: options.size,
      ops,
      errors,
      bytes,
      ms,
      mbps: ms > 0 ? bytes / 1e6 / (ms / 1000) : 0,
      latencyMs: latency(latencies),
      errorSamples,
    };
  } finally {
    for (const c of clients) c.close();
    // After a failure, clean up as well as we can without hiding the run's own error.
    if (made && !options.keep && !control.closed) {
      await control.rmdir(folder, true).catch(() => {});
    }
    control.close();
  }
}
