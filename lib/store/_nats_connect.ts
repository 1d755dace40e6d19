/**
 * Connecting a NatsStore: the connection, the file bucket and the live list, created with the
 * given replica count on first use.
 *
 * @module
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, type JetStreamManager, StorageType } from "@nats-io/jetstream";
import { Objm } from "@nats-io/obj";
import { type KV, Kvm } from "@nats-io/kv";
import { StoreError } from "./store.ts";
import { mapNatsError, retrying } from "./nats_errors.ts";
import type { Bucket } from "./_nats_meta.ts";
import type { NatsStoreOptions } from "./nats_store.ts";

const MiB = 1 << 20;
/** Servers that stop refreshing their live entry are taken for dead after this long. */
export const LIVE_TTL_MS = 30_000;

/** An open connection and the buckets of one store. */
export interface Connected {
  nc: NatsConnection;
  bucket: Bucket;
  /** The `<bucket>-live` KV bucket: one entry per running server. */
  live: KV;
  /** Bytes per chunk: the option, capped by the servers' max_payload and 1 MiB. */
  chunk: number;
  /** Replicas of buckets this store creates (the partials bucket is made later). */
  replicas: number;
  /** A second connection, to the node leading the bucket's stream, for chunks; or null. */
  leader: NatsConnection | null;
}

/**
 * Connects and opens (creating on first use) the bucket and its live list. Throws
 * `storage_unavailable` when NATS cannot be reached; the connection is closed on failure.
 */
export async function connectBucket(options: NatsStoreOptions): Promise<Connected> {
  const name = options.bucket ?? "fileshare";
  if (!/^[-\w]+$/.test(name)) {
    throw new TypeError(`Invalid bucket name "${name}": use letters, digits, "-" and "_"`);
  }
  const timeout = options.timeoutMs ?? 10_000;
  const retryMs = options.retryMs ?? 20_000;
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: options.servers,
      name: options.name ?? "fileshare",
      timeout,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      waitOnFirstConnect: false,
    });
  } catch (err) {
    throw new StoreError(
      "storage_unavailable",
      "",
      `cannot reach NATS at ${options.servers.join(", ")} (${(err as Error).message})`,
      { cause: err },
    );
  }
  try {
    const js = jetstream(nc, { timeout });
    const jsm = await js.jetstreamManager();
    const replicas = options.replicas ?? (nc.info?.cluster ? 3 : 1);
    // Creating is idempotent; a cluster electing its meta leader answers "unavailable" first.
    await retrying(() =>
      new Objm(js).create(name, {
        replicas,
        storage: StorageType.File,
        ...(options.maxBytes ? { max_bytes: options.maxBytes } : {}),
      }), retryMs);
    const live = await retrying(() =>
      new Kvm(js).create(`${name}-live`, {
        replicas,
        ttl: options.liveTtlMs ?? LIVE_TTL_MS,
        history: 1,
      }), retryMs);
    const maxPayload = nc.info?.max_payload ?? MiB;
    const stream = `OBJ_${name}`;
    const leader = await connectLeader(nc, jsm, stream, options, timeout).catch(() => null);
    const chunks = leader === null ? js : jetstream(leader, { timeout });
    return {
      nc,
      bucket: { js, jsm, chunks, name, stream, timeout, retryMs },
      live,
      chunk: Math.min(options.chunkBytes ?? MiB, maxPayload, MiB),
      replicas,
      leader,
    };
  } catch (err) {
    await nc.close().catch(() => {});
    throw mapNatsError(err, "");
  }
}

/**
 * A connection to the node that leads `stream`, for the chunks of uploads; null when `nc` is
 * on that node already, the stream has no leader now, or no known client address reaches it.
 * A chunk published to another node crosses one more route, a full copy of every MiB, before
 * the leader stores and replicates it (measured on the 3-node bench cluster: 16-28% less NATS
 * CPU per MiB through the leader). Chosen at open: after a failover the chunks take the
 * extra hop again until the next open, and the connection follows the cluster like `nc`.
 */
async function connectLeader(
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
  options: NatsStoreOptions,
  timeout: number,
): Promise<NatsConnection | null> {
  const leader = (await jsm.streams.info(stream)).cluster?.leader;
  if (!leader || nc.info?.server_name === leader) return null;
  // The servers given and those the cluster advertises to clients, the current one excepted.
  const known = [...new Set([...options.servers, ...(nc.info?.connect_urls ?? [])])];
  const others = known.filter((url) => url !== nc.getServer());
  for (const url of others) {
    let c: NatsConnection;
    try {
      c = await connect({
        servers: [url, ...known.filter((u) => u !== url)],
        noRandomize: true,
        name: `${options.name ?? "fileshare"} chunks`,
        timeout: Math.min(timeout, 2_000),
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
      });
    } catch {
      continue;
    }
    if (c.info?.server_name === leader) return c;
    await c.close().catch(() => {});
  }
  return null;
}
