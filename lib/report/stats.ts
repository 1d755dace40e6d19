import type { BadLine, LogEvent } from "./read_log.ts";
import { percentile } from "../percentile.ts";

/** Summary statistics of a set of numbers; all null when there are none. */
export interface Stat {
  count: number;
  mean: number | null;
  median: number | null;
  p95: number | null;
  min: number | null;
  max: number | null;
}

/** Upload or download figures. */
export interface TransferStats {
  /** Successful transfers. */
  count: number;
  failed: number;
  /** Bytes of the successful transfers. */
  bytes: number;
  /** Per-transfer rate in MB/s (10^6 bytes per second), successful transfers with ms > 0. */
  rateMBps: Stat;
  /** Per-transfer duration in ms (server-measured), successful transfers. */
  durationMs: Stat;
  /** Rate by file size. */
  bySize: { bucket: string; minBytes: number; count: number; rateMBps: Stat }[];
}

/** One row per user. */
export interface UserStats {
  user: string;
  uploads: number;
  downloads: number;
  uploadBytes: number;
  downloadBytes: number;
  /** All commands (transfers, dir, delete, mkdir, rmdir). */
  ops: number;
  errors: number;
}

/** One load-test run of `client bench`. */
export interface BenchRun {
  run: string;
  start: string | null;
  end: string | null;
  op: string | null;
  clients: number | null;
  files: number | null;
  size: number | null;
  /** As the client measured them (bench_end). */
  ops: number | null;
  errors: number | null;
  bytes: number | null;
  ms: number | null;
  /** Aggregate rate from the client's figures. */
  mbps: number | null;
  /** Connections the server logged for the run. */
  serverConnections: number;
  /** Transfers the server logged for the run. */
  serverTransfers: number;
  serverBytes: number;
  serverErrors: number;
}

/** One throughput bucket. */
export interface ThroughputBucket {
  start: string;
  uploadBytes: number;
  downloadBytes: number;
  uploads: number;
  downloads: number;
  /** Bytes per second over the bucket, in MB/s. */
  mbps: number;
}

/**
 * Counts of successful transfers by rate, on logarithmic bins: bin i holds rates from
 * `edgesMBps[i]` up to (not including) `edgesMBps[i + 1]`. Edges follow 1-2-5 steps.
 */
export interface RateHistogram {
  edgesMBps: number[];
  upload: number[];
  download: number[];
}

/** A sample point for the rate-against-size chart. */
export interface RatePoint {
  kind: "upload" | "download";
  size: number;
  mbps: number;
}

/** The whole report (its JSON form is documented in docs/report-format.md). */
export interface Report {
  version: 1;
  generated: string;
  sources: string[];
  filters: { since: string | null; until: string | null; user: string | null };
  period: { from: string; to: string; ms: number } | null;
  lines: { events: number; bad: number; badExamples: BadLine[] };
  events: Record<string, number>;
  connections: { count: number; peakConcurrent: number; sessionMs: Stat };
  logins: {
    ok: number;
    failed: number;
    /** Distinct addresses with failed logins. */
    failedAddresses: number;
    /** The addresses with the most failures, at most 20. */
    failedByRemote: { remote: string; count: number }[];
  };
  upload: TransferStats;
  download: TransferStats;
  errors: {
    total: number;
    byCode: { code: string; count: number }[];
    byCommand: { command: string; count: number }[];
    recent: {
      ts: string;
      event: string;
      code: string;
      message: string;
      user: string | null;
      path: string | null;
    }[];
  };
  throughput: { bucketSeconds: number; buckets: ThroughputBucket[] };
  rateHistogram: RateHistogram;
  users: UserStats[];
  benchRuns: BenchRun[];
  /** Up to 2,000 sampled transfers for the rate-against-size chart. */
  ratePoints: RatePoint[];
}

/** Growable list of numbers in a typed array (no per-item objects). */
class Numbers {
  #data = new Float64Array(1024);
  #n = 0;
  push(v: number): void {
    if (this.#n === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.#n++] = v;
  }
  get length(): number {
    return this.#n;
  }
  values(): Float64Array {
    return this.#data.subarray(0, this.#n);
  }
}

/** Count, mean, median, p95, min and max of a list of numbers. */
export function summarize(values: ArrayLike<number>): Stat {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) return { count: 0, mean: null, median: null, p95: null, min: null, max: null };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  return {
    count: n,
    mean: sum / n,
    median: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    min: sorted[0],
    max: sorted[n - 1],
  };
}

/** File-size buckets for "rate by file size". */
export const SIZE_BUCKETS: { label: string; min: number }[] = [
  { label: "< 64 KiB", min: 0 },
  { label: "64 KiB - 1 MiB", min: 64 * 1024 },
  { label: "1 - 16 MiB", min: 1024 * 1024 },
  { label: "16 - 256 MiB", min: 16 * 1024 * 1024 },
  { label: "256 MiB - 1 GiB", min: 256 * 1024 * 1024 },
  { label: ">= 1 GiB", min: 1024 * 1024 * 1024 },
];

function sizeBucket(bytes: number): number {
  let i = 0;
  while (i + 1 < SIZE_BUCKETS.length && bytes >= SIZE_BUCKETS[i + 1].min) i++;
  return i;
}

class TransferAgg {
  count = 0;
  failed = 0;
  bytes = 0;
  rates = new Numbers();
  durations = new Numbers();
  bucketRates = SIZE_BUCKETS.map(() => new Numbers());
  bucketCounts = SIZE_BUCKETS.map(() => 0);

  add(e: LogEvent): number | null {
    if (!e.ok) {
      this.failed++;
      return null;
    }
    const bytes = e.bytes ?? 0;
    const ms = e.ms ?? 0;
    this.count++;
    this.bytes += bytes;
    this.durations.push(ms);
    const b = sizeBucket(e.size ?? bytes);
    this.bucketCounts[b]++;
    if (ms <= 0) return null;
    const rate = bytes / 1e6 / (ms / 1000);
    this.rates.push(rate);
    this.bucketRates[b].push(rate);
    return rate;
  }

  finish(): TransferStats {
    return {
      count: this.count,
      failed: this.failed,
      bytes: this.bytes,
      rateMBps: summarize(this.rates.values()),
      durationMs: summarize(this.durations.values()),
      bySize: SIZE_BUCKETS.map((b, i) => ({
        bucket: b.label,
        minBytes: b.min,
        count: this.bucketCounts[i],
        rateMBps: summarize(this.bucketRates[i].values()),
      })),
    };
  }
}

const MINUTE = 60_000;
const BUCKET_CHOICES = [1, 5, 15, 60, 360, 1440, 10080].map((m) => m * MINUTE);
const MAX_BUCKETS = 120;
const MAX_POINTS = 2000;
const MAX_BAD_EXAMPLES = 5;
const RECENT_ERRORS = 5;
const MAX_FAILED_ADDRESSES = 20;
const COMMANDS = new Set(["upload", "download", "dir", "delete", "mkdir", "rmdir"]);

/** The 1-2-5 step at or below `v` (v > 0). */
function stepBelow(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [5, 2, 1]) if (m * p <= v * (1 + 1e-12)) return m * p;
  return p;
}

/** The 1-2-5 step after `v` (itself a step). */
function stepAfter(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v) + 1e-9);
  const m = Math.round(v / p);
  return m === 1 ? 2 * p : m === 2 ? 5 * p : 10 * p;
}

/** Bins the rates of uploads and downloads on shared 1-2-5 logarithmic edges. */
export function rateHistogram(up: ArrayLike<number>, down: ArrayLike<number>): RateHistogram {
  let lo = Infinity;
  let hi = -Infinity;
  for (const a of [up, down]) {
    for (let i = 0; i < a.length; i++) {
      if (a[i] > 0 && a[i] < lo) lo = a[i];
      if (a[i] > hi) hi = a[i];
    }
  }
  if (!(hi > 0)) return { edgesMBps: [], upload: [], download: [] };
  const edges = [stepBelow(lo)];
  while (edges[edges.length - 1] <= hi) edges.push(stepAfter(edges[edges.length - 1]));
  const count = (a: ArrayLike<number>) => {
    const bins = new Array<number>(edges.length - 1).fill(0);
    for (let i = 0; i < a.length; i++) {
      let b = 0;
      while (b + 1 < bins.length && a[i] >= edges[b + 1]) b++;
      bins[b]++;
    }
    return bins;
  };
  return { edgesMBps: edges, upload: count(up), download: count(down) };
}

/** Filters applied while aggregating. */
export interface ReportFilters {
  since?: number;
  until?: number;
  user?: string;
}

function ip(remote: string): string {
  const m = /^\[(.*)\]:\d+$/.exec(remote) ?? /^(.*):\d+$/.exec(remote);
  return m ? m[1] : remote;
}

function countSorted<K extends string>(
  map: Map<string, number>,
  key: K,
): ({ [P in K]: string } & { count: number })[] {
  return [...map].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k, count]) =>
    ({ [key]: k, count }) as { [P in K]: string } & { count: number }
  );
}

/**
 * Aggregates events one at a time in bounded memory (per-transfer numbers go into typed
 * arrays for the percentiles), then builds the {@link Report}.
 */
export class ReportBuilder {
  #filters: ReportFilters;
  #first = Infinity;
  #last = -Infinity;
  #events = new Map<string, number>();
  #eventCount = 0;
  #bad = 0;
  #badExamples: BadLine[] = [];
  #connections = 0;
  #open = new Set<number>();
  #peak = 0;
  #sessions = new Numbers();
  #loginsOk = 0;
  #loginsFailed = 0;
  #failedByRemote = new Map<string, number>();
  #upload = new TransferAgg();
  #download = new TransferAgg();
  #errors = 0;
  #errorsByCode = new Map<string, number>();
  #errorsByCommand = new Map<string, number>();
  /** Oldest first, with the time for ordering. */
  #recent: (Report["errors"]["recent"][number] & { t: number })[] = [];
  #minutes = new Map<number, { ub: number; db: number; u: number; d: number }>();
  #users = new Map<string, UserStats>();
  #runs = new Map<string, BenchRun>();
  #points: RatePoint[] = [];
  #pointsSeen = 0;
  #seed = 0x9e3779b9;

  /** Creates a builder with optional time and user filters. */
  constructor(filters: ReportFilters = {}) {
    this.#filters = filters;
  }

  /** Records a line that could not be used. */
  bad(line: BadLine): void {
    this.#bad++;
    if (this.#badExamples.length < MAX_BAD_EXAMPLES) this.#badExamples.push(line);
  }

  // Deterministic xorshift, so the sampled chart points are the same on every run.
  #random(): number {
    let x = this.#seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#seed = x >>> 0;
    return this.#seed / 0x100000000;
  }

  #user(name: string): UserStats {
    let u = this.#users.get(name);
    if (!u) {
      u = {
        user: name,
        uploads: 0,
        downloads: 0,
        uploadBytes: 0,
        downloadBytes: 0,
        ops: 0,
        errors: 0,
      };
      this.#users.set(name, u);
    }
    return u;
  }

  #run(id: string): BenchRun {
    let r = this.#runs.get(id);
    if (!r) {
      r = {
        run: id,
        start: null,
        end: null,
        op: null,
        clients: null,
        files: null,
        size: null,
        ops: null,
        errors: null,
        bytes: null,
        ms: null,
        mbps: null,
        serverConnections: 0,
        serverTransfers: 0,
        serverBytes: 0,
        serverErrors: 0,
      };
      this.#runs.set(id, r);
    }
    return r;
  }

  /** Adds one event (ignored when outside the filters). */
  add(e: LogEvent): void {
    const f = this.#filters;
    if (f.since !== undefined && e.t < f.since) return;
    if (f.until !== undefined && e.t > f.until) return;
    if (f.user !== undefined && e.user !== f.user) return;
    this.#eventCount++;
    if (e.t < this.#first) this.#first = e.t;
    if (e.t > this.#last) this.#last = e.t;
    this.#events.set(e.event, (this.#events.get(e.event) ?? 0) + 1);

    switch (e.event) {
      case "server_start":
        this.#open.clear();
        break;
      case "connect":
        // connect comes before the login, so it has no user: with --user, auth_ok opens.
        if (f.user === undefined) this.#opened(e);
        break;
      case "disconnect":
        this.#open.delete(e.conn!);
        if (e.ms !== undefined) this.#sessions.push(e.ms);
        break;
      case "auth_ok":
        this.#loginsOk++;
        if (f.user !== undefined && e.conn !== undefined) this.#opened(e);
        break;
      case "auth_fail": {
        this.#loginsFailed++;
        const r = ip(e.remote ?? "unknown");
        this.#failedByRemote.set(r, (this.#failedByRemote.get(r) ?? 0) + 1);
        break;
      }
      case "upload":
      case "download":
        this.#transfer(e);
        break;
      case "bench_start":
      case "bench_end": {
        const r = this.#run(e.run!);
        const iso = new Date(e.t).toISOString();
        if (e.event === "bench_start") {
          r.start = iso;
          r.op = e.str.op ?? null;
          r.clients = e.num.clients ?? null;
          r.files = e.num.files ?? null;
          r.size = e.size ?? null;
        } else {
          r.end = iso;
          r.ops = e.num.ops ?? null;
          r.errors = e.num.errors ?? null;
          r.bytes = e.bytes ?? null;
          r.ms = e.ms ?? null;
          r.mbps = r.bytes !== null && r.ms ? r.bytes / 1e6 / (r.ms / 1000) : null;
        }
        break;
      }
    }
    if (e.user !== undefined && COMMANDS.has(e.event)) {
      const u = this.#user(e.user);
      u.ops++;
      if (!e.ok) u.errors++;
    }
    if (!e.ok) this.#error(e);
  }

  #opened(e: LogEvent): void {
    this.#connections++;
    this.#open.add(e.conn!);
    if (this.#open.size > this.#peak) this.#peak = this.#open.size;
    if (e.run !== undefined) this.#run(e.run).serverConnections++;
  }

  #transfer(e: LogEvent): void {
    const up = e.event === "upload";
    const rate = (up ? this.#upload : this.#download).add(e);
    if (e.run !== undefined) {
      const r = this.#run(e.run);
      if (e.ok) {
        r.serverTransfers++;
        r.serverBytes += e.bytes ?? 0;
      } else r.serverErrors++;
    }
    if (!e.ok) return;
    const bytes = e.bytes ?? 0;
    if (e.user !== undefined) {
      const u = this.#user(e.user);
      if (up) {
        u.uploads++;
        u.uploadBytes += bytes;
      } else {
        u.downloads++;
        u.downloadBytes += bytes;
      }
    }
    const minute = Math.floor(e.t / MINUTE);
    let m = this.#minutes.get(minute);
    if (!m) {
      m = { ub: 0, db: 0, u: 0, d: 0 };
      this.#minutes.set(minute, m);
    }
    if (up) {
      m.ub += bytes;
      m.u++;
    } else {
      m.db += bytes;
      m.d++;
    }
    if (rate !== null) {
      // Reservoir sampling keeps a fair, bounded sample of points for the scatter chart.
      this.#pointsSeen++;
      const point: RatePoint = {
        kind: up ? "upload" : "download",
        size: e.size ?? bytes,
        mbps: rate,
      };
      if (this.#points.length < MAX_POINTS) this.#points.push(point);
      else {
        const j = Math.floor(this.#random() * this.#pointsSeen);
        if (j < MAX_POINTS) this.#points[j] = point;
      }
    }
  }

  #error(e: LogEvent): void {
    this.#errors++;
    const code = e.code ?? "UNKNOWN";
    this.#errorsByCode.set(code, (this.#errorsByCode.get(code) ?? 0) + 1);
    const command = e.event === "error" ? "connection" : e.event === "auth_fail" ? "auth" : e.event;
    this.#errorsByCommand.set(command, (this.#errorsByCommand.get(command) ?? 0) + 1);
    // The newest by time (several logs may be given in any order); ties keep log order.
    const recent = this.#recent;
    if (recent.length === RECENT_ERRORS && e.t < recent[0].t) return;
    const item = {
      t: e.t,
      ts: new Date(e.t).toISOString(),
      event: e.event,
      code,
      message: e.message ?? "",
      user: e.user ?? null,
      path: e.path ?? null,
    };
    let i = recent.length;
    while (i > 0 && recent[i - 1].t > e.t) i--;
    recent.splice(i, 0, item);
    if (recent.length > RECENT_ERRORS) recent.shift();
  }

  #throughput(): Report["throughput"] {
    if (this.#minutes.size === 0) return { bucketSeconds: 60, buckets: [] };
    // A loop, not Math.min(...keys): a long log has more minutes than a call has arguments.
    let first = Infinity;
    let last = -Infinity;
    for (const k of this.#minutes.keys()) {
      if (k < first) first = k;
      if (k > last) last = k;
    }
    const lo = first * MINUTE;
    const hi = (last + 1) * MINUTE;
    const bucket = BUCKET_CHOICES.find((b) => (hi - lo) / b <= MAX_BUCKETS) ??
      BUCKET_CHOICES.at(-1)!;
    const start = Math.floor(lo / bucket) * bucket;
    const n = Math.ceil((hi - start) / bucket);
    const buckets: ThroughputBucket[] = Array.from({ length: n }, (_, i) => ({
      start: new Date(start + i * bucket).toISOString(),
      uploadBytes: 0,
      downloadBytes: 0,
      uploads: 0,
      downloads: 0,
      mbps: 0,
    }));
    for (const [minute, m] of this.#minutes) {
      const b = buckets[Math.floor((minute * MINUTE - start) / bucket)];
      b.uploadBytes += m.ub;
      b.downloadBytes += m.db;
      b.uploads += m.u;
      b.downloads += m.d;
    }
    for (const b of buckets) b.mbps = (b.uploadBytes + b.downloadBytes) / 1e6 / (bucket / 1000);
    return { bucketSeconds: bucket / 1000, buckets };
  }

  /** Builds the report. */
  finish(sources: string[], filters: Report["filters"]): Report {
    const period = this.#eventCount === 0 ? null : {
      from: new Date(this.#first).toISOString(),
      to: new Date(this.#last).toISOString(),
      ms: this.#last - this.#first,
    };
    const events: Record<string, number> = {};
    for (const [k, v] of [...this.#events].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))) {
      events[k] = v;
    }
    return {
      version: 1,
      generated: new Date().toISOString(),
      sources,
      filters,
      period,
      lines: { events: this.#eventCount, bad: this.#bad, badExamples: this.#badExamples },
      events,
      connections: {
        count: this.#connections,
        peakConcurrent: this.#peak,
        sessionMs: summarize(this.#sessions.values()),
      },
      logins: {
        ok: this.#loginsOk,
        failed: this.#loginsFailed,
        failedAddresses: this.#failedByRemote.size,
        failedByRemote: countSorted(this.#failedByRemote, "remote").slice(0, MAX_FAILED_ADDRESSES),
      },
      upload: this.#upload.finish(),
      download: this.#download.finish(),
      errors: {
        total: this.#errors,
        byCode: countSorted(this.#errorsByCode, "code"),
        byCommand: countSorted(this.#errorsByCommand, "command"),
        recent: this.#recent.map(({ t: _, ...rest }) => rest).reverse(),
      },
      throughput: this.#throughput(),
      rateHistogram: rateHistogram(this.#upload.rates.values(), this.#download.rates.values()),
      users: [...this.#users.values()].sort((a, b) => b.ops - a.ops || (a.user < b.user ? -1 : 1)),
      benchRuns: [...this.#runs.values()].sort((
        a,
        b,
      ) => ((a.start ?? "") < (b.start ?? "") ? -1 : 1)),
      ratePoints: this.#points,
    };
  }
}
