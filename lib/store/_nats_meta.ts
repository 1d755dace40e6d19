/**
 * The records of a JetStream Object Store bucket as NatsStore reads and writes them: the meta
 * record that names an object (and makes it visible), the subjects of meta records and
 * chunks, and the bucket handle the store's parts share.
 *
 * @module
 */
import { headers } from "@nats-io/transport-node";
import type { JetStreamClient, JetStreamManager, PubAck } from "@nats-io/jetstream";
import type { RemotePath } from "./paths.ts";
import { retrying } from "./nats_errors.ts";

/** What the parts of a NatsStore share: the bucket's stream and the clients that reach it. */
export interface Bucket {
  /** Publishes chunks and meta records. */
  readonly js: JetStreamClient;
  /** Reads stream state and records, purges. */
  readonly jsm: JetStreamManager;
  /** Publishes the chunks of uploads: through the stream leader's node when it was found. */
  readonly chunks: JetStreamClient;
  /** The bucket's name. */
  readonly name: string;
  /** The bucket's stream, `OBJ_<name>`. */
  readonly stream: string;
  /** How long one request may take, ms. */
  readonly timeout: number;
  /** How long idempotent requests are retried through a failover, ms. */
  readonly retryMs: number;
}

/** The object-store meta record, as the NATS servers and other clients expect it. */
export interface ServerMeta {
  name: string;
  bucket: string;
  nuid: string;
  size: number;
  chunks: number;
  mtime: string;
  digest: string;
  deleted: boolean;
  options?: { max_chunk_size?: number };
  headers?: Record<string, string[]>;
}

/** SHA-256 of no bytes, the digest of a folder marker. */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** The meta record's digest field of a lowercase hex SHA-256: `SHA-256=<base64url>`. */
export function sha256Digest(hex: string): string {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return `SHA-256=${btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")}`;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The subject token of an object name: base64url (padded) of its UTF-8 bytes, as the Go
 * client and `nats object` write it. (The JS library's own encoder takes Latin-1 only.)
 */
export function encodeName(name: string): string {
  const bytes = utf8.encode(name);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_");
}

/** The object name of a subject token made by {@link encodeName}; null if malformed. */
export function decodeName(token: string): string | null {
  try {
    const bin = atob(token.replace(/-/g, "+").replace(/_/g, "/"));
    return fromUtf8.decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
}

/** The object name of a folder marker: the folder's path with a trailing slash. */
export function markerName(path: RemotePath): string {
  return `${path.text}/`;
}

/** The subject prefix of every meta record of `bucket`. */
export function metaPrefix(bucket: Bucket): string {
  return `$O.${bucket.name}.M.`;
}

/** The subject of the chunks of the upload `nuid` (or, with `nuid` `>`, of all chunks). */
export function chunkSubject(bucket: Bucket, nuid: string): string {
  return `$O.${bucket.name}.C.${nuid}`;
}

/** Purges the chunks of upload `nuid`, through a failover. */
export async function purgeChunks(bucket: Bucket, nuid: string): Promise<void> {
  await retrying(
    () => bucket.jsm.streams.purge(bucket.stream, { filter: chunkSubject(bucket, nuid) }),
    bucket.retryMs,
  );
}

/**
 * Publishes an object's meta record (which makes it visible), rolling up older records of the
 * name. With `expectedLast` the publish succeeds only if the name's last record is still that
 * one (0: none): the atomic check against racing writers.
 */
export async function publishMeta(
  bucket: Bucket,
  meta: ServerMeta,
  expectedLast?: number,
): Promise<PubAck> {
  const h = headers();
  h.set("Nats-Rollup", "sub");
  return await bucket.js.publish(metaPrefix(bucket) + encodeName(meta.name), JSON.stringify(meta), {
    headers: h,
    timeout: bucket.timeout,
    ...(expectedLast !== undefined ? { expect: { lastSubjectSequence: expectedLast } } : {}),
  });
}

/**
 * The last meta record of a name (live or deleted) and its stream sequence, read from the
 * stream's leader through a failover; null if the name never had one.
 */
export async function lastMeta(
  bucket: Bucket,
  name: string,
): Promise<{ seq: number; meta: ServerMeta } | null> {
  const subject = metaPrefix(bucket) + encodeName(name);
  const m = await retrying(
    () => bucket.jsm.streams.getMessage(bucket.stream, { last_by_subj: subject }),
    bucket.retryMs,
  );
  if (m === null) return null;
  return { seq: m.seq, meta: m.json<ServerMeta>() };
}
