import { connect, headers, type NatsConnection, nuid } from "@nats-io/transport-node";
import {
  DeliverPolicy,
  jetstream,
  JetStreamApiCodes,
  type JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type PubAck,
  StorageType,
} from "@nats-io/jetstream";
import { type ObjectStore, Objm } from "@nats-io/obj";
import { type KV, Kvm } from "@nats-io/kv";
import type { RemotePath } from "./paths.ts";
import { PrefixedStore } from "./prefixed_store.ts";
import {
  type RenameOptions,
  type Store,
  type StoreCapabilities,
  type StoreEntry,
  StoreError,
  type StoreReader,
  type StoreWriter,
  type WriteOptions,
} from "./store.ts";

/** Options of {@link NatsStore.open}. */
export interface NatsStoreOptions {
  /** NATS servers, `host:port` each (any node of the cluster will do; more give failover). */
  servers: string[];
  /** Object Store bucket (default `fileshare`). */
  bucket?: string;
  /** Replicas of a bucket created now (default 3 on a cluster, 1 on a single node). */
  replicas?: number;
  /** Size limit of a bucket created now, in bytes (default: none). */
  maxBytes?: number;
  /** Bytes per stored chunk (default and maximum: the server's max_payload, 1 MiB cap). */
  chunkBytes?: number;
  /** Chunk publishes awaiting their acknowledgement at once, per upload (default 8). */
  window?: number;
  /** How long one request to NATS may take (ms, default 10 000). */
  timeoutMs?: number;
  /** How often leftovers of crashed servers are looked for (ms, default 60 000; 0: only at open). */
  sweepIntervalMs?: number;
  /** Connection name shown by the NATS server. */
  name?: string;
  /**
   * When the live list is created now: how long a server that stopped announcing itself
   * counts as alive (ms, default 30 000). Servers refresh at a fifth of the bucket's value.
   */
  liveTtlMs?: number;
}

const MiB = 1 << 20;
/** Servers that stop refreshing their entry here are taken for dead after this long. */
const LIVE_TTL_MS = 30_000;
/** A reader with no chunk for this long checks whether the object was replaced meanwhile. */
const READ_PROBE_MS = 2_000;
/** A reader with no chunk for this long gives up (the cluster stays unable to serve it). */
const READ_STALL_MS = 60_000;

function isApiError(err: unknown, code: number): err is JetStreamApiError {
  return err instanceof Error && (err as { code?: unknown }).code === code &&
    err.name.includes("JetStreamApiError");
}

/** Maps a NATS failure to a {@link StoreError}: a full bucket, or storage unavailable. */
export function mapNatsError(err: unknown, path: string): StoreError {
  if (err instanceof StoreError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (/maximum bytes|insufficient resources|storage.*exceeded|resource limits/i.test(msg)) {
    return new StoreError("storage_full", path, "the shared storage is full", { cause: err });
  }
  return new StoreError("storage_unavailable", path, `shared storage unavailable (${msg})`, {
    cause: err,
  });
}

/** Failures a cluster recovers from by itself (leader election, a node restarting). */
function isTransient(err: unknown): boolean {
  const msg = err instanceof Error ? `${err.name} ${err.message}` : String(err);
  return /timeout|no responders|503|not (yet )?ready|leader|unavailable|reconnect/i.test(msg);
}

/**
 * Runs an idempotent request again while the failure is transient, for up to about
 * `budgetMs`: reads and lookups ride out a node's failover instead of failing the command.
 */
async function retrying<T>(fn: () => Promise<T>, budgetMs = 15_000): Promise<T> {
  const end = Date.now() + budgetMs;
  for (let delay = 100;; delay = Math.min(delay * 2, 2_000)) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err) || Date.now() + delay > end) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

function hexToBase64Url(hex: string): string {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_");
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
function markerName(path: RemotePath): string {
  return `${path.text}/`;
}

/** The object-store meta record, as the NATS servers and other clients expect it. */
interface ServerMeta {
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

/**
 * A {@link Store} in a NATS JetStream Object Store bucket, shared by every server pointed at
 * it. Files are objects named by their path; folders are a naming convention over the flat
 * bucket (`a/b/` marks folder `a/b`, so empty folders stay). Uploads stream their chunks with
 * several publishes in flight and become visible only when the meta record is published, with
 * the bucket's expected-last-sequence check making "create only if absent" atomic.
 *
 * Chunks of an upload that never finished (its server crashed) are found by a periodic sweep
 * and purged once their server has stopped announcing itself in the `<bucket>-live` KV bucket,
 * so the in-flight uploads of live servers are never touched.
 */
export class NatsStore implements Store {
  #nc: NatsConnection;
  #js: JetStreamClient;
  #jsm: JetStreamManager;
  #os: ObjectStore;
  #live: KV;
  #bucket: string;
  #stream: string;
  #id = nuid.next();
  #chunk: number;
  #window: number;
  #timeout: number;
  #writes = new Set<NatsWriter>();
  #timers: ReturnType<typeof setInterval>[] = [];
  #sweeping: Promise<void> | null = null;
  #closed = false;
  #location: string;

  /** Folders by convention; no-overwrite is atomic (expected last subject sequence). */
  readonly capabilities: StoreCapabilities = {
    realFolders: false,
    atomicNoOverwrite: true,
    shared: true,
    atomicRename: false,
  };

  private constructor(
    parts: {
      nc: NatsConnection;
      js: JetStreamClient;
      jsm: JetStreamManager;
      os: ObjectStore;
      live: KV;
      bucket: string;
      chunk: number;
      window: number;
      timeout: number;
      location: string;
    },
  ) {
    this.#nc = parts.nc;
    this.#js = parts.js;
    this.#jsm = parts.jsm;
    this.#os = parts.os;
    this.#live = parts.live;
    this.#bucket = parts.bucket;
    this.#stream = `OBJ_${parts.bucket}`;
    this.#chunk = parts.chunk;
    this.#window = parts.window;
    this.#timeout = parts.timeout;
    this.#location = parts.location;
  }

  /**
   * Connects, creates the bucket on first use, announces this server as live and removes
   * leftovers of crashed servers. Throws `storage_unavailable` when NATS cannot be reached.
   */
  static async open(options: NatsStoreOptions): Promise<NatsStore> {
    const bucket = options.bucket ?? "fileshare";
    if (!/^[-\w]+$/.test(bucket)) {
      throw new TypeError(`Invalid bucket name "${bucket}": use letters, digits, "-" and "_"`);
    }
    const timeout = options.timeoutMs ?? 10_000;
    const location = `nats://${options.servers.join(",")}/${bucket}`;
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
      const os = await new Objm(js).create(bucket, {
        replicas,
        storage: StorageType.File,
        ...(options.maxBytes ? { max_bytes: options.maxBytes } : {}),
      });
      const live = await new Kvm(js).create(`${bucket}-live`, {
        replicas,
        ttl: options.liveTtlMs ?? LIVE_TTL_MS,
        history: 1,
      });
      const maxPayload = nc.info?.max_payload ?? MiB;
      const chunk = Math.min(options.chunkBytes ?? MiB, maxPayload, MiB);
      const store = new NatsStore({
        nc,
        js,
        jsm,
        os,
        live,
        bucket,
        chunk,
        window: options.window ?? 8,
        timeout,
        location,
      });
      await store.#announce();
      const refresh = Math.max(100, ((await live.status()).ttl || LIVE_TTL_MS) / 5);
      store.#timers.push(setInterval(() => store.#announce().catch(() => {}), refresh));
      await store.sweep();
      const every = options.sweepIntervalMs ?? 60_000;
      if (every > 0) store.#timers.push(setInterval(() => store.sweep().catch(() => {}), every));
      return store;
    } catch (err) {
      await nc.close().catch(() => {});
      if (err instanceof StoreError) throw err;
      throw mapNatsError(err, "");
    }
  }

  /** The NATS servers and bucket. */
  get location(): string {
    return this.#location;
  }

  /** Bytes per stored chunk. */
  get chunkBytes(): number {
    return this.#chunk;
  }

  /** This server's id in the bucket's live list (also the prefix of its uploads' chunks). */
  get id(): string {
    return this.#id;
  }

  async #announce(): Promise<void> {
    if (this.#closed) return;
    await this.#live.put(`srv.${this.#id}`, new Date().toISOString());
  }

  /**
   * Purges chunks no object refers to whose server is gone (or is this one, with no such
   * upload running). Chunk subjects are named `<server id>_<nuid>`.
   */
  sweep(): Promise<void> {
    this.#sweeping ??= this.#sweep().finally(() => (this.#sweeping = null));
    return this.#sweeping;
  }

  async #sweep(): Promise<void> {
    const chunkPrefix = `$O.${this.#bucket}.C.`;
    const info = await this.#jsm.streams.info(this.#stream, { subjects_filter: `${chunkPrefix}>` });
    const subjects = Object.keys(info.state.subjects ?? {});
    if (subjects.length === 0) return;
    // Objects are read after the chunk subjects: an upload committed in between is referenced.
    const referenced = new Set((await this.#metas(await this.#names(""), "")).map((o) => o.nuid));
    const live = new Set<string>();
    for await (const k of await this.#live.keys("srv.*")) live.add(k.slice(4));
    for (const subject of subjects) {
      const id = subject.slice(chunkPrefix.length);
      if (referenced.has(id)) continue;
      const owner = id.includes("_") ? id.slice(0, id.indexOf("_")) : "";
      if (owner === this.#id) {
        if ([...this.#writes].some((w) => w.nuid === id)) continue;
      } else if (live.has(owner)) continue;
      await this.#jsm.streams.purge(this.#stream, { filter: subject });
    }
  }

  /** The live meta record of `name`, read from the stream's leader; null if none. */
  async #info(name: string, path: string): Promise<ServerMeta | null> {
    try {
      const last = await retrying(() => lastMeta(this.#jsm, this.#stream, this.#bucket, name));
      return last && !last.meta.deleted ? last.meta : null;
    } catch (err) {
      throw mapNatsError(err, path);
    }
  }

  async #isFolder(path: RemotePath): Promise<boolean> {
    return path.segments.length === 0 || (await this.#info(markerName(path), path.text)) !== null;
  }

  /**
   * Every object name starting with `prefix` that has a meta record (live or deleted), from
   * the stream leader's list of meta subjects: a listing sees every commit acknowledged before
   * it, whichever server made it.
   */
  async #names(prefix: string): Promise<string[]> {
    const head = `$O.${this.#bucket}.M.`;
    try {
      const si = await retrying(() =>
        this.#jsm.streams.info(this.#stream, { subjects_filter: `${head}>` })
      );
      const out: string[] = [];
      for (const subject of Object.keys(si.state.subjects ?? {})) {
        const name = decodeName(subject.slice(head.length));
        if (name !== null && name.startsWith(prefix)) out.push(name);
      }
      return out;
    } catch (err) {
      throw mapNatsError(err, prefix);
    }
  }

  /** The live meta records of `names`, a few requests at a time. */
  async #metas(names: string[], path: string): Promise<ServerMeta[]> {
    const out: ServerMeta[] = [];
    for (let i = 0; i < names.length; i += 32) {
      const batch = await Promise.all(names.slice(i, i + 32).map((n) => this.#info(n, path)));
      for (const m of batch) if (m) out.push(m);
    }
    return out;
  }

  /** Ensures the parent folder of `path` exists (a file on the way: not_found). */
  async #requireParent(path: RemotePath): Promise<void> {
    const parent = {
      segments: path.segments.slice(0, -1),
      text: path.segments.slice(0, -1).join("/"),
    };
    if (!(await this.#isFolder(parent))) {
      throw new StoreError("not_found", path.text, "not found");
    }
  }

  async *list(path: RemotePath): AsyncIterable<StoreEntry> {
    if (!(await this.#isFolder(path))) {
      if (await this.#info(path.text, path.text)) {
        throw new StoreError("not_folder", path.text, "not a folder");
      }
      throw new StoreError("not_found", path.text, "not found");
    }
    const prefix = path.segments.length === 0 ? "" : `${path.text}/`;
    const out: StoreEntry[] = [];
    const children = (await this.#names(prefix)).filter((n) => {
      const slash = n.indexOf("/", prefix.length);
      return n !== prefix && (slash === -1 || slash === n.length - 1);
    });
    for (const o of await this.#metas(children, path.text)) {
      const rest = o.name.slice(prefix.length);
      const slash = rest.indexOf("/");
      if (slash === -1) {
        out.push({ name: rest, kind: "file", size: o.size, mtime: new Date(o.mtime) });
      } else if (slash === rest.length - 1) {
        out.push({ name: rest.slice(0, -1), kind: "folder", size: 0, mtime: new Date(o.mtime) });
      }
    }
    out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    yield* out;
  }

  async openRead(path: RemotePath): Promise<StoreReader> {
    if (path.segments.length === 0) throw new StoreError("not_file", "", "not a file");
    const info = await this.#info(path.text, path.text);
    if (info === null) {
      if (await this.#isFolder(path)) throw new StoreError("not_file", path.text, "not a file");
      throw new StoreError("not_found", path.text, "not found");
    }
    // A stalled read asks whether the name still refers to this upload's chunks.
    const current = async () => (await this.#info(path.text, path.text))?.nuid === info.nuid;
    const reader = new NatsReader(this.#js, this.#stream, this.#bucket, info, path.text, current);
    try {
      await retrying(() => reader.start());
    } catch (err) {
      await reader.close();
      throw mapNatsError(err, path.text);
    }
    return reader;
  }

  async createWrite(path: RemotePath, options: WriteOptions): Promise<StoreWriter> {
    if (path.segments.length === 0) throw new StoreError("not_file", "", "no file name");
    if (this.#closed) throw new StoreError("storage_unavailable", path.text, "store is closed");
    await this.#requireParent(path);
    if (await this.#isFolder(path)) {
      throw new StoreError("exists_folder", path.text, "a folder has that name");
    }
    if (!options.overwrite && (await this.#info(path.text, path.text))) {
      throw new StoreError("exists_file", path.text, "file already exists");
    }
    const writer: NatsWriter = new NatsWriter({
      js: this.#js,
      jsm: this.#jsm,
      stream: this.#stream,
      bucket: this.#bucket,
      name: path.text,
      nuid: `${this.#id}_${nuid.next()}`,
      overwrite: options.overwrite,
      mtime: options.mtime,
      chunk: this.#chunk,
      window: this.#window,
      timeout: this.#timeout,
      isFolder: () => this.#isFolder(path),
      done: () => this.#writes.delete(writer),
    });
    this.#writes.add(writer);
    return writer;
  }

  async remove(path: RemotePath): Promise<void> {
    if (path.segments.length === 0) throw new StoreError("not_file", "", "not a file");
    if (!(await this.#info(path.text, path.text))) {
      if (await this.#isFolder(path)) throw new StoreError("not_file", path.text, "is a folder");
      throw new StoreError("not_found", path.text, "not found");
    }
    await this.#delete(path.text, path.text);
  }

  /** Marks `name` deleted (the record stays, rolled up to one) and purges its chunks. */
  async #delete(name: string, path: string): Promise<void> {
    try {
      const last = await retrying(() => lastMeta(this.#jsm, this.#stream, this.#bucket, name));
      if (last === null || last.meta.deleted) return;
      const gone: ServerMeta = { ...last.meta, deleted: true, size: 0, chunks: 0, digest: "" };
      await retrying(() => publishMeta(this.#js, this.#bucket, gone, undefined, this.#timeout));
      await retrying(() =>
        this.#jsm.streams.purge(this.#stream, {
          filter: `$O.${this.#bucket}.C.${last.meta.nuid}`,
        })
      );
    } catch (err) {
      throw mapNatsError(err, path);
    }
  }

  async mkdir(path: RemotePath): Promise<void> {
    if (path.segments.length === 0) throw new StoreError("exists_folder", "", "already exists");
    for (let i = 1; i <= path.segments.length; i++) {
      const segments = path.segments.slice(0, i);
      const part: RemotePath = { segments, text: segments.join("/") };
      if (await this.#info(part.text, path.text)) {
        throw new StoreError("exists_file", path.text, `"${part.text}" is a file`);
      }
      if (await this.#isFolder(part)) {
        if (i === path.segments.length) {
          throw new StoreError("exists_folder", path.text, "already exists");
        }
        continue;
      }
      await this.#putMarker(part);
    }
  }

  async #putMarker(path: RemotePath): Promise<void> {
    const meta: ServerMeta = {
      name: markerName(path),
      bucket: this.#bucket,
      nuid: `${this.#id}_${nuid.next()}`,
      size: 0,
      chunks: 0,
      mtime: new Date().toISOString(),
      digest: `SHA-256=${hexToBase64Url(EMPTY_SHA256)}`,
      deleted: false,
      options: { max_chunk_size: this.#chunk },
    };
    try {
      await publishMeta(this.#js, this.#bucket, meta, undefined, this.#timeout);
    } catch (err) {
      throw mapNatsError(err, path.text);
    }
  }

  async rmdir(path: RemotePath, recursive: boolean): Promise<void> {
    if (path.segments.length === 0) {
      throw new StoreError("denied", "", "the shared folder itself cannot be removed");
    }
    if (!(await this.#isFolder(path))) {
      if (await this.#info(path.text, path.text)) {
        throw new StoreError("not_folder", path.text, "not a folder");
      }
      throw new StoreError("not_found", path.text, "not found");
    }
    const marker = markerName(path);
    const inside = await this.#metas(
      (await this.#names(marker)).filter((n) => n !== marker),
      path.text,
    );
    if (inside.length > 0 && !recursive) {
      throw new StoreError("not_empty", path.text, "not empty");
    }
    // Files first, then markers deepest first, the folder's own marker last: an interrupted
    // removal leaves a consistent tree.
    inside.sort((a, b) => {
      const fa = a.name.endsWith("/") ? 1 : 0;
      const fb = b.name.endsWith("/") ? 1 : 0;
      return fa - fb || b.name.length - a.name.length;
    });
    for (const o of inside) await this.#delete(o.name, path.text);
    await this.#delete(marker, path.text);
  }

  async usage(path: RemotePath): Promise<number> {
    if (path.segments.length > 0) {
      const file = await this.#info(path.text, path.text);
      if (file !== null) return file.size;
    }
    const prefix = path.segments.length === 0 ? "" : `${path.text}/`;
    // Folder markers end with "/" and hold nothing.
    const names = (await this.#names(prefix)).filter((n) => !n.endsWith("/"));
    let bytes = 0;
    for (const o of await this.#metas(names, path.text)) bytes += o.size;
    return bytes;
  }

  /** A {@link PrefixedStore} below `home`: object names have no links to follow out of it. */
  async within(home: RemotePath): Promise<Store> {
    if (home.segments.length === 0) return this;
    try {
      await this.mkdir(home);
    } catch (err) {
      if (!(err instanceof StoreError && err.kind === "exists_folder")) throw err;
    }
    return new PrefixedStore(this, home);
  }

  /**
   * A file moves by publishing its meta record under the new name (its chunks stay where they
   * are), then marking the old name deleted; a folder moves entry by entry, its marker first.
   */
  async rename(from: RemotePath, to: RemotePath, options: RenameOptions): Promise<void> {
    if (from.segments.length === 0 || to.segments.length === 0) {
      throw new StoreError("denied", "", "the shared folder itself cannot be moved");
    }
    const file = await this.#info(from.text, from.text);
    const folder = file === null && await this.#isFolder(from);
    if (file === null && !folder) throw new StoreError("not_found", from.text, "not found");
    if (
      folder && to.segments.length > from.segments.length &&
      from.segments.every((s, i) => to.segments[i] === s)
    ) {
      throw new StoreError("denied", to.text, `cannot move "${from.text}" into itself`);
    }
    await this.#requireParent(to);
    if (await this.#isFolder(to)) {
      throw new StoreError("exists_folder", to.text, "a folder has that name");
    }
    const existing = await this.#info(to.text, to.text);
    if (existing !== null && (!options.overwrite || folder)) {
      throw new StoreError("exists_file", to.text, "file already exists");
    }
    if (file !== null) {
      await this.#move(from.text, to.text, options.overwrite, to.text);
      return;
    }
    const marker = markerName(from);
    const names = (await this.#names(marker)).filter((n) => n !== marker);
    await this.#move(marker, markerName(to), false, to.text);
    // Markers before the files inside them, shallowest first.
    names.sort((a, b) => a.split("/").length - b.split("/").length || (a < b ? -1 : 1));
    for (const name of names) {
      await this.#move(name, `${to.text}/${name.slice(marker.length)}`, false, to.text);
    }
  }

  /** Publishes `name`'s record as `target` (atomically absent unless overwrite), then drops
   * `name`'s record without purging the chunks the new record refers to. */
  async #move(name: string, target: string, overwrite: boolean, path: string): Promise<void> {
    try {
      const last = await retrying(() => lastMeta(this.#jsm, this.#stream, this.#bucket, name));
      if (last === null || last.meta.deleted) return;
      const old = await retrying(() => lastMeta(this.#jsm, this.#stream, this.#bucket, target));
      const live = old !== null && !old.meta.deleted;
      if (live && !overwrite) throw new StoreError("exists_file", path, "file already exists");
      const moved: ServerMeta = { ...last.meta, name: target };
      await publishMeta(this.#js, this.#bucket, moved, old?.seq ?? 0, this.#timeout);
      const gone: ServerMeta = { ...last.meta, deleted: true, size: 0, chunks: 0, digest: "" };
      await retrying(() => publishMeta(this.#js, this.#bucket, gone, undefined, this.#timeout));
      if (live && old.meta.nuid !== last.meta.nuid) {
        await this.#jsm.streams.purge(this.#stream, {
          filter: `$O.${this.#bucket}.C.${old.meta.nuid}`,
        }).catch(() => {});
      }
    } catch (err) {
      if (
        isApiError(err, JetStreamApiCodes.StreamWrongLastSequence) ||
        /wrong last sequence/i.test(String((err as Error).message))
      ) {
        throw new StoreError("exists_file", path, "file already exists");
      }
      throw mapNatsError(err, path);
    }
  }

  async abortAll(): Promise<void> {
    await Promise.all([...this.#writes].map((w) => w.abort()));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    await this.#sweeping?.catch(() => {});
    await this.abortAll();
    await this.#live.delete(`srv.${this.#id}`).catch(() => {});
    await this.#nc.close().catch(() => {});
  }
}

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/**
 * Publishes an object's meta record (which makes it visible), rolling up older records of the
 * name. With `expectedLast` the publish succeeds only if the name's last record is still that
 * one (0: none): the atomic check against racing writers.
 */
async function publishMeta(
  js: JetStreamClient,
  bucket: string,
  meta: ServerMeta,
  expectedLast: number | undefined,
  timeout: number,
): Promise<PubAck> {
  const h = headers();
  h.set("Nats-Rollup", "sub");
  const subject = `$O.${bucket}.M.${encodeName(meta.name)}`;
  return await js.publish(subject, JSON.stringify(meta), {
    headers: h,
    timeout,
    ...(expectedLast !== undefined ? { expect: { lastSubjectSequence: expectedLast } } : {}),
  });
}

/** The last meta record of a name: its stream sequence and whether it is a live object. */
async function lastMeta(
  jsm: JetStreamManager,
  stream: string,
  bucket: string,
  name: string,
): Promise<{ seq: number; meta: ServerMeta } | null> {
  const subject = `$O.${bucket}.M.${encodeName(name)}`;
  const m = await jsm.streams.getMessage(stream, { last_by_subj: subject });
  if (m === null) return null;
  return { seq: m.seq, meta: m.json<ServerMeta>() };
}

interface WriterParts {
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  bucket: string;
  name: string;
  nuid: string;
  overwrite: boolean;
  mtime?: Date;
  chunk: number;
  window: number;
  timeout: number;
  isFolder: () => Promise<boolean>;
  done: () => void;
}

class NatsWriter implements StoreWriter {
  readonly nuid: string;
  #p: WriterParts;
  #subject: string;
  #buf: Uint8Array;
  #fill = 0;
  #size = 0;
  #chunks = 0;
  #inflight: Promise<unknown>[] = [];
  #failed: unknown = null;
  #finished = false;
  #published = false;

  constructor(p: WriterParts) {
    this.#p = p;
    this.nuid = p.nuid;
    this.#subject = `$O.${p.bucket}.C.${p.nuid}`;
    this.#buf = new Uint8Array(p.chunk);
  }

  #check(): void {
    if (this.#failed !== null) throw mapNatsError(this.#failed, this.#p.name);
    if (this.#finished) {
      throw new StoreError("storage_unavailable", this.#p.name, "write aborted");
    }
  }

  /** Publishes the full buffer as one chunk; at most `window` publishes await their ack. */
  async #flush(): Promise<void> {
    const payload = this.#buf.subarray(0, this.#fill);
    // The publish may still hold the bytes after it returns: the next chunk gets a new buffer.
    this.#buf = new Uint8Array(this.#p.chunk);
    this.#fill = 0;
    this.#chunks++;
    this.#published = true;
    const ack = this.#p.js.publish(this.#subject, payload, { timeout: this.#p.timeout });
    ack.catch((err) => (this.#failed ??= err));
    this.#inflight.push(ack);
    while (this.#inflight.length >= this.#p.window) {
      await this.#inflight.shift()!.catch(() => {});
      this.#check();
    }
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#check();
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(chunk.length - off, this.#buf.length - this.#fill);
      this.#buf.set(chunk.subarray(off, off + n), this.#fill);
      this.#fill += n;
      off += n;
      this.#size += n;
      if (this.#fill === this.#buf.length) await this.#flush();
    }
  }

  async commit(sha256: string): Promise<void> {
    this.#check();
    const name = this.#p.name;
    try {
      if (this.#fill > 0) await this.#flush();
      for (const ack of this.#inflight.splice(0)) await ack.catch(() => {});
      this.#check();
      if (await this.#p.isFolder()) {
        throw new StoreError("exists_folder", name, "a folder has that name");
      }
      const meta: ServerMeta = {
        name,
        bucket: this.#p.bucket,
        nuid: this.nuid,
        size: this.#size,
        chunks: this.#chunks,
        mtime: (this.#p.mtime ?? new Date()).toISOString(),
        digest: `SHA-256=${hexToBase64Url(sha256)}`,
        deleted: false,
        options: { max_chunk_size: this.#p.chunk },
      };
      // Publish only over the record seen just before: a racing writer makes this fail, and
      // then an overwrite tries again over the newer record, a create reports the file.
      for (let attempt = 0;; attempt++) {
        const last = await retrying(() =>
          lastMeta(this.#p.jsm, this.#p.stream, this.#p.bucket, name)
        );
        if (last?.meta.nuid === this.nuid) {
          // An earlier attempt was stored though its acknowledgement was lost.
          this.#finished = true;
          this.#p.done();
          return;
        }
        const live = last !== null && !last.meta.deleted;
        if (live && !this.#p.overwrite) {
          throw new StoreError("exists_file", name, "file already exists");
        }
        try {
          await publishMeta(this.#p.js, this.#p.bucket, meta, last?.seq ?? 0, this.#p.timeout);
        } catch (err) {
          const raced = isApiError(err, JetStreamApiCodes.StreamWrongLastSequence) ||
            /wrong last sequence/i.test(String((err as Error).message));
          if (attempt < 8 && (raced || isTransient(err))) {
            if (!raced) await new Promise((r) => setTimeout(r, 250 * (attempt + 1)));
            continue;
          }
          throw err;
        }
        this.#finished = true;
        this.#p.done();
        if (live && last.meta.nuid !== this.nuid) {
          // The replaced content: its readers fail cleanly rather than mix versions.
          await this.#p.jsm.streams.purge(this.#p.stream, {
            filter: `$O.${this.#p.bucket}.C.${last.meta.nuid}`,
          }).catch(() => {});
        }
        return;
      }
    } catch (err) {
      await this.abort();
      throw mapNatsError(err, name);
    }
  }

  async abort(): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    this.#p.done();
    for (const ack of this.#inflight.splice(0)) await ack.catch(() => {});
    // Nothing of this upload is visible (no meta record); its chunks go now, or, if NATS is
    // unreachable, with a later sweep.
    if (this.#published) {
      await this.#p.jsm.streams.purge(this.#p.stream, { filter: this.#subject }).catch(() => {});
    }
  }
}

class NatsReader implements StoreReader {
  readonly size: number;
  readonly mtime: Date;
  #js: JetStreamClient;
  #stream: string;
  #subject: string;
  #path: string;
  #current: () => Promise<boolean>;
  #messages: AsyncIterator<JsMsg> | null = null;
  #stop: (() => void) | null = null;
  #cur: Uint8Array = new Uint8Array(0);
  #off = 0;
  #done = 0;
  #closed = false;

  constructor(
    js: JetStreamClient,
    stream: string,
    bucket: string,
    info: ServerMeta,
    path: string,
    current: () => Promise<boolean>,
  ) {
    this.#js = js;
    this.#current = current;
    this.#stream = stream;
    this.#subject = `$O.${bucket}.C.${info.nuid}`;
    this.size = info.size;
    this.mtime = new Date(info.mtime);
    this.#path = path;
  }

  /** Starts an ordered consumer over the object's chunks, a few chunks buffered ahead. */
  async start(): Promise<void> {
    if (this.size === 0) return;
    const consumer = await this.#js.consumers.get(this.#stream, {
      filter_subjects: this.#subject,
      deliver_policy: DeliverPolicy.All,
    });
    const messages = await consumer.consume({ max_messages: 4 });
    this.#stop = () => messages.stop();
    this.#messages = messages[Symbol.asyncIterator]();
  }

  async #next(): Promise<Uint8Array> {
    const it = this.#messages!;
    const next = it.next();
    const stalled = Date.now() + READ_STALL_MS;
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const tick = new Promise<"tick">((r) => (timer = setTimeout(() => r("tick"), READ_PROBE_MS)));
      const got = await Promise.race([next, tick]).finally(() => clearTimeout(timer));
      if (got !== "tick") {
        if (got.done) throw new Error("chunk stream ended early");
        return got.value.data;
      }
      // No chunk for a while: fail at once if the name now refers to other content (its
      // chunks are being purged); otherwise keep waiting (a node may be failing over).
      const current = await this.#current().catch(() => true);
      if (!current || Date.now() > stalled) {
        next.catch(() => {});
        throw new StoreError(
          "storage_unavailable",
          this.#path,
          current
            ? "no data from the shared storage"
            : "file was replaced or deleted while being read",
        );
      }
    }
  }

  async read(p: Uint8Array): Promise<number | null> {
    if (this.#done >= this.size) return null;
    if (this.#closed) throw new StoreError("storage_unavailable", this.#path, "reader is closed");
    try {
      while (this.#off >= this.#cur.length) {
        this.#cur = await this.#next();
        this.#off = 0;
      }
    } catch (err) {
      throw mapNatsError(err, this.#path);
    }
    const n = Math.min(p.length, this.#cur.length - this.#off, this.size - this.#done);
    p.set(this.#cur.subarray(this.#off, this.#off + n));
    this.#off += n;
    this.#done += n;
    return n;
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#stop?.();
    }
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
