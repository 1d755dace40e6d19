/**
 * The NATS backend of the storage seam: files in a JetStream Object Store bucket shared by
 * every server pointed at it. The parts: `_nats_connect.ts` (connection and buckets),
 * `_nats_meta.ts` (records and subjects), `_nats_writer.ts` (uploads), `_nats_reader.ts`
 * (downloads), `nats_errors.ts` (retries through failovers, error mapping).
 *
 * @module
 */
import { type NatsConnection, nuid } from "@nats-io/transport-node";
import type { KV } from "@nats-io/kv";
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
import { isWrongLastSequence, mapNatsError, retrying } from "./nats_errors.ts";
import {
  type Bucket,
  chunkSubject,
  decodeName,
  EMPTY_SHA256,
  lastMeta,
  markerName,
  metaPrefix,
  publishMeta,
  purgeChunks,
  type ServerMeta,
  sha256Digest,
} from "./_nats_meta.ts";
import { connectBucket, LIVE_TTL_MS } from "./_nats_connect.ts";
import { NatsWriter } from "./_nats_writer.ts";
import { NatsReader } from "./_nats_reader.ts";
import { NatsPartials, type PartialRecord, partialSlot } from "./_nats_partials.ts";

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
  /**
   * How long lookups, listings, purges and reads retry a transient failure (no leader yet,
   * no responders, a timeout) before the command fails as unavailable (ms, default 20 000).
   */
  retryMs?: number;
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

/**
 * A {@link Store} in a NATS JetStream Object Store bucket, shared by every server pointed at
 * it. Files are objects named by their path; folders are a naming convention over the flat
 * bucket (`a/b/` marks folder `a/b`, so empty folders stay). Uploads stream their chunks with
 * several publishes in flight and become visible only when the meta record is published, with
 * the bucket's expected-last-sequence check making "create only if absent" atomic. Lookups
 * and listings read from the stream's leader and retry through a failover.
 *
 * Chunks of an upload that never finished (its server crashed) are found by a periodic sweep
 * and purged once their server has stopped announcing itself in the `<bucket>-live` KV bucket,
 * so the in-flight uploads of live servers are never touched.
 *
 * @example
 * ```ts ignore
 * await using store = await NatsStore.open({ servers: ["127.0.0.1:4222"], bucket: "files" });
 * for await (const e of store.list({ segments: [], text: "" })) console.log(e.name);
 * ```
 */
export class NatsStore implements Store {
  #nc: NatsConnection;
  #leader: NatsConnection | null;
  #bucket: Bucket;
  #live: KV;
  #partials: NatsPartials;
  #id = nuid.next();
  #chunk: number;
  #window: number;
  #writes = new Set<NatsWriter>();
  #timers: ReturnType<typeof setInterval>[] = [];
  #sweeping: Promise<void> | null = null;
  #closed = false;
  #location: string;

  /**
   * Folders by convention; no-overwrite is atomic (expected last subject sequence); partial
   * uploads are kept (their chunks stay, a record in `<bucket>-partials` names them).
   */
  readonly capabilities: StoreCapabilities = {
    realFolders: false,
    atomicNoOverwrite: true,
    shared: true,
    atomicRename: false,
    resume: true,
  };

  private constructor(
    parts: {
      nc: NatsConnection;
      leader: NatsConnection | null;
      bucket: Bucket;
      live: KV;
      chunk: number;
      window: number;
      replicas: number;
    },
    location: string,
  ) {
    this.#nc = parts.nc;
    this.#leader = parts.leader;
    this.#bucket = parts.bucket;
    this.#live = parts.live;
    this.#partials = new NatsPartials(parts.bucket, parts.replicas, (r) => this.#busy(r));
    this.#chunk = parts.chunk;
    this.#window = parts.window;
    this.#location = location;
  }

  /**
   * Connects, creates the buckets on first use, announces this server as live and removes
   * leftovers of crashed servers. Throws `storage_unavailable` when NATS cannot be reached.
   */
  static async open(options: NatsStoreOptions): Promise<NatsStore> {
    const connected = await connectBucket(options);
    const location = `nats://${options.servers.join(",")}/${connected.bucket.name}`;
    const store = new NatsStore({ ...connected, window: options.window ?? 8 }, location);
    try {
      await store.#announce();
      const ttl = (await retrying(() => store.#live.status(), connected.bucket.retryMs)).ttl;
      const refresh = Math.max(100, (ttl || LIVE_TTL_MS) / 5);
      store.#timers.push(setInterval(() => store.#announce().catch(() => {}), refresh));
      // Leftovers wait for the next sweep if this one fails; serving need not.
      await store.sweep().catch(() => {});
      const every = options.sweepIntervalMs ?? 60_000;
      if (every > 0) store.#timers.push(setInterval(() => store.sweep().catch(() => {}), every));
      return store;
    } catch (err) {
      await store.close();
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
    const chunkPrefix = chunkSubject(this.#bucket, "");
    const subjects = await this.#subjects(`${chunkPrefix}>`);
    if (subjects.length === 0) return;
    // Objects are read after the chunk subjects: an upload committed in between is referenced.
    const referenced = new Set((await this.#metas(await this.#names(""), "")).map((o) => o.nuid));
    // Chunks of kept partial uploads stay until they expire or are continued.
    for (const { record } of await this.#partials.records()) referenced.add(record.nuid);
    // The live list as the subjects of its stream, in one bounded request: the KV keys()
    // iterator waits for a consumer that can hang after a node restart. A server that left
    // cleanly keeps its delete marker until the TTL, which only delays the sweep of its chunks.
    const liveHead = `$KV.${this.#bucket.name}-live.srv.`;
    const live = new Set(
      (await this.#subjects(`${liveHead}>`, `KV_${this.#bucket.name}-live`)).map((s) =>
        s.slice(liveHead.length)
      ),
    );
    for (const subject of subjects) {
      const id = subject.slice(chunkPrefix.length);
      if (referenced.has(id)) continue;
      const owner = id.includes("_") ? id.slice(0, id.indexOf("_")) : "";
      if (owner === this.#id) {
        if ([...this.#writes].some((w) => w.nuid === id)) continue;
      } else if (live.has(owner)) continue;
      if ([...this.#writes].some((w) => w.nuid === id)) continue; // a resumed partial
      await purgeChunks(this.#bucket, id);
    }
  }

  /** Subjects of `stream` (the bucket's) matching `filter`, from its leader, through a failover. */
  async #subjects(filter: string, stream = this.#bucket.stream): Promise<string[]> {
    const { jsm, retryMs } = this.#bucket;
    const si = await retrying(() => jsm.streams.info(stream, { subjects_filter: filter }), retryMs);
    return Object.keys(si.state.subjects ?? {});
  }

  /** The live meta record of `name`, read from the stream's leader; null if none. */
  async #info(name: string, path: string): Promise<ServerMeta | null> {
    try {
      const last = await lastMeta(this.#bucket, name);
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
    const head = metaPrefix(this.#bucket);
    try {
      const out: string[] = [];
      for (const subject of await this.#subjects(`${head}>`)) {
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
    const segments = path.segments.slice(0, -1);
    if (!(await this.#isFolder({ segments, text: segments.join("/") }))) {
      throw new StoreError("not_found", path.text, "not found");
    }
  }

  /** Throws `not_folder` if `path` is a file, else `not_found`. */
  async #notAFolder(path: RemotePath): Promise<never> {
    if (await this.#info(path.text, path.text)) {
      throw new StoreError("not_folder", path.text, "not a folder");
    }
    throw new StoreError("not_found", path.text, "not found");
  }

  async *list(path: RemotePath): AsyncIterable<StoreEntry> {
    if (!(await this.#isFolder(path))) await this.#notAFolder(path);
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
    const reader = new NatsReader(this.#bucket, info, path.text, current);
    try {
      await retrying(() => reader.start(), this.#bucket.retryMs);
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
    const slot = options.owner === undefined ? null : partialSlot(options.owner, path);
    const resumed = options.resume && slot !== null
      ? await this.#partials.take(slot.key, this.#id)
      : null;
    const writer: NatsWriter = new NatsWriter({
      bucket: this.#bucket,
      name: path.text,
      nuid: resumed?.nuid ?? `${this.#id}_${nuid.next()}`,
      overwrite: options.overwrite,
      mtime: options.mtime,
      resumed,
      partials: this.#partials,
      slot,
      chunk: this.#chunk,
      window: this.#window,
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
      const last = await lastMeta(this.#bucket, name);
      if (last === null || last.meta.deleted) return;
      const gone: ServerMeta = { ...last.meta, deleted: true, size: 0, chunks: 0, digest: "" };
      await retrying(() => publishMeta(this.#bucket, gone), this.#bucket.retryMs);
      await purgeChunks(this.#bucket, last.meta.nuid);
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
      bucket: this.#bucket.name,
      nuid: `${this.#id}_${nuid.next()}`,
      size: 0,
      chunks: 0,
      mtime: new Date().toISOString(),
      digest: sha256Digest(EMPTY_SHA256),
      deleted: false,
      options: { max_chunk_size: this.#chunk },
    };
    try {
      // A marker published twice is still one marker (the newer rolls up the older).
      await retrying(() => publishMeta(this.#bucket, meta), this.#bucket.retryMs);
    } catch (err) {
      throw mapNatsError(err, path.text);
    }
  }

  async rmdir(path: RemotePath, recursive: boolean): Promise<void> {
    if (path.segments.length === 0) {
      throw new StoreError("denied", "", "the shared folder itself cannot be removed");
    }
    if (!(await this.#isFolder(path))) await this.#notAFolder(path);
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
      const last = await lastMeta(this.#bucket, name);
      if (last === null || last.meta.deleted) return;
      const old = await lastMeta(this.#bucket, target);
      const live = old !== null && !old.meta.deleted;
      if (live && !overwrite) throw new StoreError("exists_file", path, "file already exists");
      const moved: ServerMeta = { ...last.meta, name: target };
      await publishMeta(this.#bucket, moved, old?.seq ?? 0);
      const gone: ServerMeta = { ...last.meta, deleted: true, size: 0, chunks: 0, digest: "" };
      await retrying(() => publishMeta(this.#bucket, gone), this.#bucket.retryMs);
      if (live && old.meta.nuid !== last.meta.nuid) {
        await purgeChunks(this.#bucket, old.meta.nuid).catch(() => {});
      }
    } catch (err) {
      if (isWrongLastSequence(err)) {
        throw new StoreError("exists_file", path, "file already exists");
      }
      throw mapNatsError(err, path);
    }
  }

  /** Whether the write that claimed `record` still runs: this server's own, or a live one's. */
  async #busy(record: PartialRecord): Promise<boolean> {
    const id = record.claimedBy;
    if (id === undefined) return false;
    if (id === this.#id) return [...this.#writes].some((w) => w.nuid === record.nuid);
    const e = await this.#live.get(`srv.${id}`).catch(() => null);
    return e !== null && e.operation === "PUT";
  }

  expirePartials(before: Date): Promise<number> {
    return this.#partials.expire(before);
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
    await this.#leader?.close().catch(() => {});
    await this.#nc.close().catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
