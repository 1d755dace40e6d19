/** The report builder: events in, one at a time, the {@link Report} out. */
import { type BadLine, type LogEvent, weight } from "./log_event.ts";
import type { BenchRun, RatePoint, Report, UserStats } from "./report.ts";
import { rateHistogram } from "./rate_histogram.ts";
import { Numbers, summarizeInPlace } from "./summary.ts";
import { ThroughputAggregate } from "./throughput.ts";
import { TransferAggregate } from "./transfer_stats.ts";

const MAX_POINTS = 2000;
const MAX_BAD_EXAMPLES = 5;
const RECENT_ERRORS = 5;
const MAX_FAILED_ADDRESSES = 20;
const COMMANDS = new Set(["upload", "download", "dir", "delete", "mkdir", "rmdir", "rename"]);
/** Lines of a connection's own life, which carry the run id its handshake gave. */
const SESSION_EVENTS = new Set(["connect", "auth_ok", "auth_fail", "disconnect"]);

/** Filters applied while aggregating. */
export interface ReportFilters {
  since?: number;
  until?: number;
  user?: string;
}

/**
 * A copy of `s` that shares no memory with it. The reader's strings are slices of a decoded
 * piece of the log; one kept for the report (a key, an example) must not keep that piece alive.
 */
function own(s: string): string {
  return JSON.parse(JSON.stringify(s));
}

/** Adds one to the count of `key`, copying a new key (see {@link own}). */
function count(map: Map<string, number>, key: string, by = 1): void {
  const n = map.get(key);
  map.set(n === undefined ? own(key) : key, (n ?? 0) + by);
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
  #upload = new TransferAggregate();
  #download = new TransferAggregate();
  #errors = 0;
  #errorsByCode = new Map<string, number>();
  #errorsByCommand = new Map<string, number>();
  /** Oldest first, with the time for ordering. */
  #recent: LogEvent[] = [];
  #throughput = new ThroughputAggregate();
  #users = new Map<string, UserStats>();
  #runs = new Map<string, BenchRun>();
  /** Connections of load-test runs seen and not yet disconnected (`run NUL conn`). */
  #runConns = new Set<string>();
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
        user: own(name),
        uploads: 0,
        downloads: 0,
        uploadBytes: 0,
        downloadBytes: 0,
        ops: 0,
        errors: 0,
      };
      this.#users.set(u.user, u);
    }
    return u;
  }

  #run(id: string): BenchRun {
    let r = this.#runs.get(id);
    if (!r) {
      r = {
        run: own(id),
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
      this.#runs.set(r.run, r);
    }
    return r;
  }

  /** Adds one event (ignored when outside the filters). */
  add(e: LogEvent): void {
    const f = this.#filters;
    if (f.since !== undefined && e.t < f.since) return;
    if (f.until !== undefined && e.t > f.until) return;
    if (f.user !== undefined && e.user !== f.user) return;
    // A folded line (auth_fail, error) is one line that stands for 1 + repeated events.
    const n = weight(e);
    this.#eventCount++;
    if (e.t < this.#first) this.#first = e.t;
    if (e.t > this.#last) this.#last = e.t;
    this.#events.set(e.event, (this.#events.get(e.event) ?? 0) + n);

    this.#runConnection(e);
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
        this.#loginsFailed += n;
        count(this.#failedByRemote, ip(e.remote ?? "unknown"), n);
        break;
      }
      case "upload":
      case "download":
        this.#transfer(e);
        break;
      case "bench_start":
      case "bench_end":
        this.#benchMark(e);
        break;
    }
    if (e.user !== undefined && COMMANDS.has(e.event)) {
      const u = this.#user(e.user);
      u.ops++;
      if (!e.ok) u.errors++;
    }
    if (!e.ok) this.#error(e, n);
  }

  /** A load test's start or end mark: the client's own figures for the run. */
  #benchMark(e: LogEvent): void {
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
  }

  #opened(e: LogEvent): void {
    this.#connections++;
    this.#open.add(e.conn!);
    if (this.#open.size > this.#peak) this.#peak = this.#open.size;
  }

  /**
   * Counts a load test's connections (its clients and its control connection). The server
   * writes `connect` before the handshake that carries the run id, so a connection is counted
   * at its first line of the session's own (login or disconnect) that has the run.
   */
  #runConnection(e: LogEvent): void {
    if (e.run === undefined || e.conn === undefined || !SESSION_EVENTS.has(e.event)) return;
    const key = `${e.run}\u0000${e.conn}`;
    if (!this.#runConns.has(key)) {
      this.#run(e.run).serverConnections++;
      this.#runConns.add(key);
    }
    if (e.event === "disconnect") this.#runConns.delete(key);
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
    if (!e.ok) {
      this.#throughput.failed(e.t, e.code === "CANCELLED");
      return;
    }
    const bytes = e.bytes ?? 0;
    this.#throughput.ok(e.t, up, bytes);
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

  #error(e: LogEvent, n: number): void {
    this.#errors += n;
    const code = e.code ?? "UNKNOWN";
    count(this.#errorsByCode, code, n);
    const command = e.event === "error" ? "connection" : e.event === "auth_fail" ? "auth" : e.event;
    count(this.#errorsByCommand, command, n);
    // The newest by time (several logs may be given in any order); ties keep log order. The
    // events are kept as they are; the report's items are made once, in finish().
    const recent = this.#recent;
    if (recent.length === RECENT_ERRORS && e.t < recent[0].t) return;
    let i = recent.length;
    while (i > 0 && recent[i - 1].t > e.t) i--;
    recent.splice(i, 0, e);
    if (recent.length > RECENT_ERRORS) recent.shift();
  }

  #recentErrors(): Report["errors"]["recent"] {
    return this.#recent.map((e) => ({
      ts: new Date(e.t).toISOString(),
      event: e.event,
      code: own(e.code ?? "UNKNOWN"),
      message: own(e.message ?? ""),
      user: e.user === undefined ? null : own(e.user),
      path: e.path === undefined ? null : own(e.path),
    })).reverse();
  }

  /** Builds the report. */
  finish(sources: string[], filters: Report["filters"]): Report {
    const upload = this.#upload.finish();
    const download = this.#download.finish();
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
        sessionMs: summarizeInPlace(this.#sessions.toArray()),
      },
      logins: {
        ok: this.#loginsOk,
        failed: this.#loginsFailed,
        failedAddresses: this.#failedByRemote.size,
        failedByRemote: countSorted(this.#failedByRemote, "remote").slice(0, MAX_FAILED_ADDRESSES),
      },
      upload: upload.stats,
      download: download.stats,
      errors: {
        total: this.#errors,
        byCode: countSorted(this.#errorsByCode, "code"),
        byCommand: countSorted(this.#errorsByCommand, "command"),
        recent: this.#recentErrors(),
      },
      throughput: this.#throughput.finish(),
      rateHistogram: rateHistogram(upload.rates, download.rates),
      users: [...this.#users.values()].sort((a, b) => b.ops - a.ops || (a.user < b.user ? -1 : 1)),
      benchRuns: [...this.#runs.values()].sort((
        a,
        b,
      ) => ((a.start ?? "") < (b.start ?? "") ? -1 : 1)),
      ratePoints: this.#points,
    };
  }
}
