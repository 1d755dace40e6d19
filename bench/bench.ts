/**
 * `deno task bench`: starts its own servers (the real server.ts, as child processes) on
 * loopback with temp roots and measures, in one run:
 *
 * - (a) the runtime ceiling: a raw Deno TCP copy file → socket → file, no protocol;
 * - (b) 1 GiB upload and download through fileshare, SHA-256 verified, fsync off and on;
 * - (c) 1, 8 and 64 concurrent clients moving 16 MiB each;
 * - (d) 4 KiB uploads and DIRs on one connection;
 * - (e) server peak RSS moving a 4 GiB file, and holding 1,000 idle logged-in connections;
 * - (f) analysis of a generated 1,000,000-line log.
 *
 * Prints a table with the targets; `--json-out FILE` also writes the figures as JSON.
 * `--quick` scales everything down. Timing is reported, never asserted.
 *
 * @example
 * ```sh
 * deno task bench
 * deno task bench --quick --skip e,f
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { FileshareClient } from "../lib/client/client.ts";
import { patternSource, runLoad } from "../lib/client/load_test.ts";
import { parseSize } from "../lib/client/size.ts";
import {
  type ChildServer,
  ROOT,
  sha256File,
  spawnServer,
  USERS,
  writeRandomFile,
  writeTestUsers,
} from "../tests/_helpers.ts";
import { peakRssMiB, rssMiB } from "./_proc.ts";
import { benchAnalysis } from "./analysis_bench.ts";

interface Row {
  id: string;
  what: string;
  value: string;
  target: string;
  met: boolean | null;
}

const MB = 1e6;
const rate = (bytes: number, ms: number) => bytes / MB / (ms / 1000);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));

async function rawCopy(file: string, dir: string): Promise<number> {
  const receiver = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}/bench/_raw_recv.ts`, `${dir}/raw-out.bin`],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = receiver.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("raw receiver exited early");
    text += value;
  }
  const port = Number(text.split("\n")[0]);
  const started = performance.now();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  {
    using f = await Deno.open(file, { read: true });
    const buf = new Uint8Array(1024 * 1024);
    for (;;) {
      const n = await f.read(buf);
      if (n === null) break;
      let off = 0;
      while (off < n) off += await conn.write(buf.subarray(off, n));
    }
  }
  conn.close();
  while (!text.includes("done")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  const ms = performance.now() - started;
  await reader.cancel();
  await receiver.status;
  await Deno.remove(`${dir}/raw-out.bin`);
  return ms;
}

/** Flushes dirty pages left by the previous case, so each case starts from a quiet disk. */
async function settle(): Promise<void> {
  await new Deno.Command("sync").output().catch(() => null);
}

async function startServer(dir: string, name: string, args: string[]): Promise<ChildServer> {
  await Deno.mkdir(`${dir}/${name}`);
  return await spawnServer(dir, ["--root", `${name}/root`, "--log", `${name}/log.jsonl`, ...args]);
}

async function connect(port: number): Promise<FileshareClient> {
  return await FileshareClient.connect({
    hostname: "127.0.0.1",
    port,
    user: USERS.alice.name,
    password: USERS.alice.password,
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      size: { type: "string" },
      repeat: { type: "string" },
      skip: { type: "string", default: "" },
      "json-out": { type: "string" },
    },
  });
  const quick = values.quick;
  const big = parseSize(values.size ?? (quick ? "64MiB" : "1GiB"));
  if (big === null) throw new Error(`Invalid --size ${values.size}`);
  const huge = quick ? 256 * 1024 * 1024 : 4 * 1024 ** 3;
  const idle = quick ? 100 : 1000;
  const logLines = quick ? 100_000 : 1_000_000;
  const repeat = Number(values.repeat ?? (quick ? 1 : 3));
  const skip = new Set(values.skip.split(",").filter(Boolean));
  const rows: Row[] = [];
  const json: Record<string, unknown> = {
    machine: { cpus: navigator.hardwareConcurrency, deno: Deno.version.deno, os: Deno.build.os },
    size: big,
    repeat,
  };
  const log = (s: string) => console.error(`bench: ${s}`);

  const dir = await Deno.makeTempDir({ prefix: "fileshare-bench-" });
  const servers: ChildServer[] = [];
  try {
    await writeTestUsers(`${dir}/users.json`);
    const fast = await startServer(dir, "nofsync", ["--no-fsync"]);
    servers.push(fast);
    const durable = await startServer(dir, "fsync", []);
    servers.push(durable);
    const source = `${dir}/source.bin`;
    let rawMbps = 0;

    if (!skip.has("a") || !skip.has("b")) {
      log(`writing a ${big} byte source file`);
      await writeRandomFile(source, big);
    }
    if (!skip.has("a")) {
      const times: number[] = [];
      for (let i = 0; i < repeat; i++) times.push(await rawCopy(source, dir));
      rawMbps = rate(big, median(times));
      json.a = { mbps: rawMbps, ms: times };
      rows.push({
        id: "a",
        what: `raw TCP copy file→socket→file (${fmtSize(big)})`,
        value: `${fmt(rawMbps)} MB/s`,
        target: "ceiling",
        met: null,
      });
      log(`(a) ${fmt(rawMbps)} MB/s`);
    }
    if (!skip.has("b")) {
      const want = await sha256File(source);
      const results: Record<string, number> = {};
      for (
        const [label, srv, fsync] of [["fsync off", fast, false], [
          "fsync on",
          durable,
          true,
        ]] as const
      ) {
        await using client = await connect(srv.port);
        // One untimed round first, so start-up costs (JIT, first connection) are not measured.
        await client.uploadFile(source, "warmup.bin", { overwrite: true });
        await client.downloadFile("warmup.bin", `${dir}/back.bin`, { overwrite: true, fsync });
        await client.delete("warmup.bin");
        await Deno.remove(`${dir}/back.bin`);
        const up: number[] = [];
        const down: number[] = [];
        for (let i = 0; i < repeat; i++) {
          const u = await client.uploadFile(source, `big-${i}.bin`, { overwrite: true });
          if (u.sha256 !== want) throw new Error("upload hash mismatch");
          up.push(u.ms);
          const d = await client.downloadFile(`big-${i}.bin`, `${dir}/back.bin`, {
            overwrite: true,
            fsync,
          });
          if (d.sha256 !== want) throw new Error("download hash mismatch");
          down.push(d.ms);
          await client.delete(`big-${i}.bin`);
          await Deno.remove(`${dir}/back.bin`);
        }
        for (const [dirn, times] of [["upload", up], ["download", down]] as const) {
          const mbps = rate(big, median(times));
          results[`${dirn} ${label}`] = mbps;
          const ratio = rawMbps > 0 ? mbps / rawMbps : null;
          rows.push({
            id: "b",
            what: `${dirn} ${fmtSize(big)}, ${label}, sha256 verified`,
            value: `${fmt(mbps)} MB/s${ratio === null ? "" : ` (${ratio.toFixed(2)}x of a)`}`,
            target: fsync ? "-" : ">= 0.8x of (a)",
            met: fsync || ratio === null ? null : ratio >= 0.8,
          });
          log(`(b) ${dirn} ${label}: ${fmt(mbps)} MB/s`);
        }
      }
      json.b = results;
    }
    if (!skip.has("c")) {
      const size = quick ? 4 * 1024 * 1024 : 16 * 1024 * 1024;
      const results: Record<string, unknown>[] = [];
      let single = 0;
      for (const op of ["upload", "download"] as const) {
        for (const clients of [1, 8, 64]) {
          await settle();
          const runs = [];
          for (let i = 0; i < repeat; i++) {
            runs.push(
              await runLoad({
                hostname: "127.0.0.1",
                port: fast.port,
                user: USERS.alice.name,
                password: USERS.alice.password,
                clients,
                files: 1,
                size,
                op,
              }),
            );
          }
          // The run with the median rate stands for the case.
          const r = runs.sort((x, y) => x.mbps - y.mbps)[Math.floor(runs.length / 2)];
          results.push({
            op,
            clients,
            mbps: r.mbps,
            errors: r.errors,
            ms: r.ms,
            latencyMs: r.latencyMs,
          });
          if (clients === 1) single = r.mbps;
          rows.push({
            id: "c",
            what: `${clients} client${clients > 1 ? "s" : ""} x ${fmtSize(size)} ${op}, verified`,
            value: `${fmt(r.mbps)} MB/s, ${r.errors} errors`,
            target: clients === 1 ? "all succeed" : ">= single stream",
            met: r.errors === 0 && (clients === 1 || r.mbps >= single),
          });
          log(`(c) ${op} x${clients}: ${fmt(r.mbps)} MB/s, ${r.errors} errors`);
        }
      }
      json.c = results;
    }
    if (!skip.has("d")) {
      await settle();
      const n = quick ? 500 : 2000;
      await using client = await connect(fast.port);
      await client.mkdir("small");
      let t = performance.now();
      for (let i = 0; i < n; i++) await client.upload(patternSource(4096, i), 4096, `small/f${i}`);
      const uploads = n / ((performance.now() - t) / 1000);
      t = performance.now();
      for (let i = 0; i < n; i++) await client.list("small");
      const dirsBig = n / ((performance.now() - t) / 1000);
      t = performance.now();
      for (let i = 0; i < n; i++) await client.list("");
      const dirs = n / ((performance.now() - t) / 1000);
      await client.rmdir("small", true);
      json.d = { uploadsPerSec: uploads, dirsPerSec: dirs, dirsOfNFilesPerSec: dirsBig, n };
      rows.push({
        id: "d",
        what: `4 KiB uploads, one connection (${n})`,
        value: `${fmt(uploads)} ops/s`,
        target: ">= 2000 ops/s",
        met: uploads >= 2000,
      });
      rows.push({
        id: "d",
        what: `DIR of a small folder, one connection`,
        value: `${fmt(dirs)} ops/s`,
        target: ">= 2000 ops/s",
        met: dirs >= 2000,
      });
      rows.push({
        id: "d",
        what: `DIR of a ${n}-file folder`,
        value: `${fmt(dirsBig)} ops/s`,
        target: "-",
        met: null,
      });
      log(`(d) uploads ${fmt(uploads)}/s, dirs ${fmt(dirs)}/s`);
    }
    if (!skip.has("e")) {
      // A fresh server so its high-water mark belongs to this test alone.
      const srv = await startServer(dir, "rss", ["--no-fsync"]);
      servers.push(srv);
      const base = rssMiB(srv.process.pid)?.rss ?? 0;
      {
        await using client = await connect(srv.port);
        const upload = client.upload(patternSource(huge), huge, "huge.bin");
        const peakDuring = peakRssMiB(srv.process.pid, upload);
        await upload;
        const peak = await peakDuring;
        const down = client.download(
          "huge.bin",
          () => Promise.resolve({ write: (p) => Promise.resolve(p.length) }),
        );
        const peakDown = peakRssMiB(srv.process.pid, down);
        await down;
        const peak2 = await peakDown;
        await client.delete("huge.bin");
        const worst = Math.max(peak, peak2);
        json.e = { idleBaseMiB: base, transferPeakMiB: worst };
        rows.push({
          id: "e",
          what: `server peak RSS, ${fmtSize(huge)} up and down`,
          value: `${fmt(worst)} MiB`,
          target: "< 150 MiB",
          met: worst < 150,
        });
        log(`(e) ${fmtSize(huge)}: ${fmt(worst)} MiB`);
      }
      const clients: FileshareClient[] = [];
      try {
        for (let i = 0; i < idle; i += 50) {
          clients.push(
            ...await Promise.all(
              Array.from({ length: Math.min(50, idle - i) }, () => connect(srv.port)),
            ),
          );
        }
        await new Promise((r) => setTimeout(r, 500));
        const held = rssMiB(srv.process.pid)?.rss ?? NaN;
        (json.e as Record<string, unknown>).idleConnections = idle;
        (json.e as Record<string, unknown>).idleRssMiB = held;
        rows.push({
          id: "e",
          what: `server RSS holding ${idle} idle logged-in connections`,
          value: `${fmt(held)} MiB`,
          target: "< 150 MiB",
          met: held < 150,
        });
        log(`(e) ${idle} idle: ${fmt(held)} MiB`);
      } finally {
        for (const c of clients) c.close();
      }
    }
    if (!skip.has("f")) {
      const r = await benchAnalysis(logLines);
      json.f = r;
      rows.push({
        id: "f",
        what: `analysis of a ${r.lines.toLocaleString("en-US")}-line log`,
        value: `${(r.ms / 1000).toFixed(2)} s, ${fmt(r.peakRssMiB)} MiB peak`,
        target: "< 5 s",
        met: r.ms < 5000,
      });
      log(`(f) ${r.ms} ms`);
    }
  } finally {
    for (const s of servers) await s.stop();
    await Deno.remove(dir, { recursive: true });
  }

  const widths = [
    3,
    Math.max(...rows.map((r) => r.what.length)),
    Math.max(...rows.map((r) => r.value.length)),
    Math.max(...rows.map((r) => r.target.length)),
  ];
  console.log(
    `fileshare bench (${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}${
      quick ? ", --quick" : ""
    })`,
  );
  for (const r of rows) {
    const met = r.met === null ? "" : r.met ? "met" : "MISSED";
    console.log(
      `${`(${r.id})`.padEnd(widths[0])} ${r.what.padEnd(widths[1])}  ${
        r.value.padStart(widths[2])
      }  ${r.target.padEnd(widths[3])}  ${met}`.trimEnd(),
    );
  }
  json.rows = rows;
  if (values["json-out"]) {
    await Deno.writeTextFile(values["json-out"], JSON.stringify(json, null, 2) + "\n");
  }
}

function fmtSize(n: number): string {
  if (n >= 1024 ** 3) return `${+(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${+(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

if (import.meta.main) await main();
