/**
 * Times the first login step (auth_start → the server's challenge) as a user-enumeration
 * attacker would see it: from the client, through TLS, over loopback. Shared by the
 * enumeration test and `bench/auth_bench.ts`.
 */
import { FrameConn } from "../lib/protocol/conn.ts";
import { percentile } from "../lib/percentile.ts";

/** Median first-step times (ms) per probed name, and the challenges seen. */
export interface ProbeResult {
  /** Median round trip per label, in ms. */
  medians: Record<string, number>;
  /** Server-first-messages without the nonce (`s=...,i=...`) per label, as first seen. */
  challenges: Record<string, string>;
}

/**
 * Sends `rounds` auth_start probes for each of `names` (label → user name) over one
 * connection, interleaved round by round so drift in machine load hits every label alike.
 */
export async function probeFirstStep(
  conn: Deno.Conn,
  names: Record<string, string>,
  rounds: number,
): Promise<ProbeResult> {
  const frames = new FrameConn(conn, { timeoutMs: 30_000 });
  try {
    await frames.send({ op: "hello", protocol: "fileshare", versions: [1], client: "probe" });
    await frames.expectMessage();
    const times: Record<string, number[]> = {};
    const challenges: Record<string, string> = {};
    const labels = Object.keys(names);
    for (const label of labels) times[label] = [];
    for (let round = 0; round < rounds; round++) {
      // Rotate the order too, so no label always follows the same one.
      for (let i = 0; i < labels.length; i++) {
        const label = labels[(round + i) % labels.length];
        const message = `n,,n=${names[label]},r=probe${round}x${i}`;
        const started = performance.now();
        await frames.send({ op: "auth_start", mechanism: "SCRAM-SHA-256", message });
        const reply = await frames.expectMessage();
        times[label].push(performance.now() - started);
        challenges[label] ??= String(reply.message).replace(/^r=[^,]*,/, "");
      }
    }
    const medians: Record<string, number> = {};
    for (const label of labels) {
      medians[label] = percentile(times[label].sort((a, b) => a - b), 0.5) ?? NaN;
    }
    return { medians, challenges };
  } finally {
    frames.close();
  }
}
