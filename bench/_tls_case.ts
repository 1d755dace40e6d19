/**
 * Bench case (g): what encryption costs. The same big upload and download (SHA-256 verified,
 * fsync off) against a TLS server and a `--no-tls` server in the same run, alternating so
 * both see the same machine state; medians of `repeat` rounds.
 */
import { FileshareClient } from "../lib/client/client.ts";
import { NULL_SINK } from "../lib/load/pattern_source.ts";
import type { ServerTrust } from "../lib/tls/trust.ts";
import { type ChildServer, sha256File, USERS } from "../tests/_helpers.ts";
import { fmt, fmtSize, type Row } from "./_table.ts";

/** What case (g) needs from the harness. */
export interface TlsBenchContext {
  scale: { big: number; repeat: number };
  /** A running TLS server with fsync off. */
  fast: ChildServer;
  /** Starts another server in a sub-folder; the harness stops it. */
  spawn(name: string, args: string[]): Promise<ChildServer>;
  rows: Row[];
  json: Record<string, unknown>;
  log(line: string): void;
}

const rate = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function connect(port: number, tls: ServerTrust | false): Promise<FileshareClient> {
  return FileshareClient.connect({
    hostname: "127.0.0.1",
    port,
    user: USERS.alice.name,
    password: USERS.alice.password,
    tls,
  });
}

/** Runs case (g) with `source` (a file of `scale.big` bytes) and adds its rows. */
export async function tlsOnOff(b: TlsBenchContext, source: string): Promise<void> {
  const want = await sha256File(source);
  const plain = await b.spawn("notls", ["--no-fsync", "--no-tls"]);
  const ends = [
    { label: "TLS on", srv: b.fast, tls: b.fast.tls },
    { label: "TLS off", srv: plain, tls: false as const },
  ];
  const clients = await Promise.all(ends.map((e) => connect(e.srv.port, e.tls)));
  try {
    const times = ends.map(() => ({ upload: [] as number[], download: [] as number[] }));
    // One untimed round each first, so start-up costs are not measured.
    for (let round = -1; round < b.scale.repeat; round++) {
      for (const [i, client] of clients.entries()) {
        const up = await client.uploadFile(source, "tls-case.bin", { overwrite: true });
        if (up.sha256 !== want) throw new Error("Upload stored a different SHA-256");
        const down = await client.download("tls-case.bin", () => Promise.resolve(NULL_SINK));
        if (down.sha256 !== want) throw new Error("Download delivered a different SHA-256");
        if (round >= 0) {
          times[i].upload.push(up.ms);
          times[i].download.push(down.ms);
        }
      }
    }
    for (const c of clients) await c.delete("tls-case.bin");
    const json: Record<string, number> = {};
    for (const dirn of ["upload", "download"] as const) {
      const [on, off] = times.map((t) => rate(b.scale.big, median(t[dirn])));
      json[`${dirn} TLS on`] = on;
      json[`${dirn} TLS off`] = off;
      b.rows.push({
        id: "g",
        what: `${dirn} ${fmtSize(b.scale.big)}, TLS on / off${
          dirn === "download" ? " (null sink)" : ""
        }`,
        value: `${fmt(on)} / ${fmt(off)} MB/s (${(on / off).toFixed(2)}x)`,
        target: "-",
        met: null,
      });
      b.log(`(g) ${dirn}: TLS on ${fmt(on)} MB/s, off ${fmt(off)} MB/s`);
    }
    b.json.g = json;
  } finally {
    for (const c of clients) c.close();
  }
}
