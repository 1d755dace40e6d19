/**
 * Connecting a NatsStore: the connection, the file bucket and the live list, created with the
 * given replica count on first use.
 *
 * @module
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, StorageType } from "@nats-io/jetstream";
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
    return {
      nc,
      bucket: { js, jsm, name, stream: `OBJ_${name}`, timeout, retryMs },
      live,
      chunk: Math.min(options.chunkBytes ?? MiB, maxPayload, MiB),
      replicas,
    };
  } catch (err) {
    await nc.close().catch(() => {});
    throw mapNatsError(err, "");
  }
}
