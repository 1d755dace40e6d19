/**
 * `deno task bench:auth`: the figures of issue 12's "Who gets in" and issue 15's one-shot
 * latency, on loopback:
 *
 * - guesses per second from one address (real SCRAM logins with wrong passwords over
 *   `--connections` parallel connections for `--seconds`), with the per-address guard as the
 *   server runs it and with the guard off (what one address could do before it existed);
 * - first login step medians over 2 x `--probes` probes of a real user and an unknown one;
 * - `client dir` from process start to exit (median of `--runs`), logging in in full
 *   (FILESHARE_TICKETS=0) and with a session ticket, against a user with the default 600,000
 *   PBKDF2 iterations.
 *
 * Timing is reported, never asserted.
 *
 * @example
 * ```sh
 * deno task bench:auth
 * deno task bench:auth --seconds 5 --runs 5
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { FileshareServer } from "../lib/server/server.ts";
import { UsersFile } from "../lib/auth/users.ts";
import { LocalStore } from "../lib/store/local_store.ts";
import { ActivityLog } from "../lib/log/activity_log.ts";
import { hammer } from "../tests/_guesser.ts";
import { openConn, runTool, spawnServer, startServer } from "../tests/_helpers.ts";
import { probeFirstStep } from "../tests/_auth_probe.ts";
import { percentile } from "../lib/percentile.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "10" },
    connections: { type: "string", default: "16" },
    probes: { type: "string", default: "500" },
    runs: { type: "string", default: "10" },
    skip: { type: "string", default: "" },
  },
});
const skip = new Set(values.skip.split(",").filter(Boolean));

/** Guesses a second from 127.0.0.2 against a clear-text server with the given guard. */
async function guessRate(
  guard: boolean,
): Promise<{ rate: number; failed: number; banned: boolean; seconds: number }> {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-authbench-" });
  try {
    const users = UsersFile.create(`${dir}/users.json`);
    await users.add("alice", "alice password 1", { iterations: 4096 });
    await users.save();
    const store = await LocalStore.open(`${dir}/root`, { fsync: false });
    const log = await ActivityLog.open(`${dir}/log.jsonl`);
    const server = FileshareServer.listen({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeoutMs: 60_000,
      graceMs: 1000,
      maxConnections: 4096,
      serverName: "bench",
      defaultIterations: 4096,
      authFailDelayMs: 200,
      // Off: nothing counts per address, as before the guard existed.
      loginGuard: guard
        ? {}
        : { freeFailures: Number.MAX_SAFE_INTEGER, banFailures: Number.MAX_SAFE_INTEGER },
    }, { store, users, log });
    try {
      const ms = Number(values.seconds) * 1000;
      const started = performance.now();
      const r = await hammer(server.addr.port, "127.0.0.2", "alice", {
        connections: Number(values.connections),
        ms,
      });
      const took = (performance.now() - started) / 1000;
      return { rate: r.failed / took, failed: r.failed, banned: r.banned, seconds: took };
    } finally {
      await server.shutdown();
      await log.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (!skip.has("guess")) {
  for (const guard of [false, true]) {
    const r = await guessRate(guard);
    console.log(
      `guesses from one address, ${values.connections} connections, ${values.seconds} s, guard ${
        guard ? "on " : "off"
      }: ${r.failed} guesses checked in ${r.seconds.toFixed(1)} s (attempts still waiting their ` +
        `turn at the end cut off), ${r.rate.toFixed(1)}/s${r.banned ? ", then banned" : ""}`,
    );
  }
}

if (!skip.has("enum")) {
  await using srv = await startServer();
  for (const run of [1, 2]) {
    const p = await probeFirstStep(await openConn(srv.port), {
      known: "alice",
      again: "alice",
      unknown: "ghost",
    }, Number(values.probes));
    const m = p.medians;
    console.log(
      `first login step, median of ${values.probes} each (run ${run}): real ${
        m.known.toFixed(4)
      } ms, real again ${m.again.toFixed(4)} ms, unknown ${m.unknown.toFixed(4)} ms; noise ${
        Math.abs(m.known - m.again).toFixed(4)
      } ms, gap ${Math.abs(m.unknown - (m.known + m.again) / 2).toFixed(4)} ms`,
    );
  }
}

if (!skip.has("latency")) {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-authbench-" });
  try {
    const users = UsersFile.create(`${dir}/users.json`);
    await users.add("carol", "carol password 1"); // 600,000 iterations, the default
    await users.save();
    await using srv = await spawnServer(dir);
    const runs = Number(values.runs);
    const dirOnce = async (env: Record<string, string>) => {
      const started = performance.now();
      const r = await runTool("client", [
        "--server",
        `127.0.0.1:${srv.port}`,
        "--user",
        "carol",
        "dir",
      ], {
        cwd: dir,
        env: { XDG_CONFIG_HOME: `${dir}/config`, FILESHARE_PASSWORD: "carol password 1", ...env },
      });
      if (r.code !== 0) throw new Error(r.stderr);
      return performance.now() - started;
    };
    const full: number[] = [];
    const ticket: number[] = [];
    await dirOnce({ FILESHARE_TICKETS: "1" }); // keeps the ticket
    for (let i = 0; i < runs; i++) {
      full.push(await dirOnce({ FILESHARE_TICKETS: "0" }));
      ticket.push(await dirOnce({ FILESHARE_TICKETS: "1" }));
    }
    const med = (xs: number[]) => percentile(xs.sort((a, b) => a - b), 0.5)!;
    console.log(
      `client dir, process start to exit, median of ${runs} interleaved: full login ${
        med(full).toFixed(0)
      } ms, with a session ticket ${med(ticket).toFixed(0)} ms`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
