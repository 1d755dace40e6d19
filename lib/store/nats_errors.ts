/**
 * How NatsStore tells a passing NATS failure (a leader election, a node restarting, the
 * client reconnecting) from a lasting one, retries the first kind within a bounded time, and
 * maps what remains to a {@link StoreError}.
 *
 * @module
 */
import { JetStreamApiCodes } from "@nats-io/jetstream";
import { StoreError } from "./store.ts";

/** What NATS says when a bucket or the account has no room left. */
const FULL = /maximum bytes|insufficient resources|storage.*exceeded|resource limits/i;

/** The names, messages and codes of an error and of its causes, as one line. */
function describe(err: unknown): { text: string; codes: unknown[] } {
  const parts: string[] = [];
  const codes: unknown[] = [];
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    if (e instanceof Error) {
      parts.push(`${e.name} ${e.message}`);
      const { code, status } = e as { code?: unknown; status?: unknown };
      codes.push(code, status);
      e = e.cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  return { text: parts.join(" | "), codes };
}

/** The first line of an error's message, for a one-line report. */
function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n", 1)[0].trim() || "unknown error";
}

/**
 * Failures a cluster recovers from by itself: no stream leader yet ("JetStream system
 * temporarily unavailable", 503), no responders during an election, request timeouts, and the
 * client's own reconnection. A closed connection (the store was closed) is not one of them.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof StoreError) return false;
  const { text, codes } = describe(err);
  // A full bucket also answers 503, and waiting does not empty it.
  if (FULL.test(text)) return false;
  if (codes.includes(503) || codes.includes("503")) return true;
  return /timeout|timed out|no responders|503|temporarily unavailable|not (yet )?ready|leader|unavailable|reconnect|disconnect/i
    .test(text);
}

/** A conditional publish lost its race: the subject's last sequence moved meanwhile. */
export function isWrongLastSequence(err: unknown): boolean {
  const { text, codes } = describe(err);
  return codes.includes(JetStreamApiCodes.StreamWrongLastSequence) ||
    /wrong last sequence/i.test(text);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs an idempotent request again while its failure is transient, backing off from 100 ms to
 * 1 s, for at most about `budgetMs`: lookups, listings, purges and downloads ride out a node's
 * failover instead of failing the command. A lasting failure is thrown at once.
 */
export async function retrying<T>(fn: () => Promise<T>, budgetMs: number): Promise<T> {
  const end = Date.now() + budgetMs;
  for (let delay = 100;; delay = Math.min(delay * 2, 1_000)) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err) || Date.now() + delay > end) throw err;
      await sleep(delay);
    }
  }
}

/**
 * Maps a NATS failure to a {@link StoreError} with a one-line detail: a full bucket
 * (`storage_full`), or the shared storage unavailable.
 */
export function mapNatsError(err: unknown, path: string): StoreError {
  if (err instanceof StoreError) return err;
  const { text } = describe(err);
  if (FULL.test(text)) {
    return new StoreError("storage_full", path, "the shared storage is full", { cause: err });
  }
  return new StoreError(
    "storage_unavailable",
    path,
    `shared storage unavailable (${firstLine(err)})`,
    {
      cause: err,
    },
  );
}
