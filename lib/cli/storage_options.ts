import { UsageError } from "./errors.ts";

/** Where a server keeps files and users, from `--store`, `--bucket`, `--replicas`. */
export type StorageChoice =
  | { kind: "local" }
  | { kind: "nats"; servers: string[]; bucket: string; replicas?: number };

/**
 * Parses the storage flags: without `--store`, local disk (`--root`, `--users`); with
 * `--store nats://HOST:PORT[,HOST:PORT...]`, a NATS JetStream cluster.
 */
export function parseStorageOptions(
  store: string | undefined,
  bucket: string | undefined,
  replicas: string | undefined,
): StorageChoice {
  if (store === undefined) {
    if (bucket !== undefined) throw new UsageError("--bucket needs --store nats://...");
    if (replicas !== undefined) throw new UsageError("--replicas needs --store nats://...");
    return { kind: "local" };
  }
  const m = /^nats:\/\/(.+)$/.exec(store);
  if (!m) {
    throw new UsageError(
      `Invalid --store "${store}": expected nats://HOST:PORT[,HOST:PORT...]`,
    );
  }
  const servers = m[1].split(",").map((s) => s.trim().replace(/^nats:\/\//, ""));
  for (const s of servers) {
    const hp = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(s);
    if (!hp || (hp[2] !== undefined && Number(hp[2]) > 65535)) {
      throw new UsageError(`Invalid NATS server "${s}" in --store: expected HOST:PORT`);
    }
  }
  const name = bucket ?? "fileshare";
  if (!/^[-\w]{1,64}$/.test(name)) {
    throw new UsageError(`Invalid --bucket "${name}": use letters, digits, "-" and "_"`);
  }
  let r: number | undefined;
  if (replicas !== undefined) {
    r = Number(replicas);
    if (!/^[1-5]$/.test(replicas)) {
      throw new UsageError(`Invalid --replicas "${replicas}": expected 1 to 5`);
    }
  }
  return { kind: "nats", servers, bucket: name, replicas: r };
}
