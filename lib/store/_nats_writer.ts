/**
 * One upload into a NatsStore bucket: chunks streamed with a bounded window of publishes in
 * flight, made visible by one conditional meta record at commit.
 *
 * @module
 */
import { StoreError, type StoreReader, type StoreWriter } from "./store.ts";
import { isTransient, isWrongLastSequence, mapNatsError, retrying } from "./nats_errors.ts";
import {
  type Bucket,
  chunkSubject,
  lastMeta,
  publishMeta,
  purgeChunks,
  type ServerMeta,
  sha256Digest,
} from "./_nats_meta.ts";
import { NatsReader } from "./_nats_reader.ts";
import type { NatsPartials, PartialRecord, PartialSlot } from "./_nats_partials.ts";

/** What a {@link NatsWriter} needs from its store. */
export interface WriterParts {
  bucket: Bucket;
  /** The object name (the file's path). */
  name: string;
  /** This upload's id, `<server id>_<nuid>`: its chunks' subject token. */
  nuid: string;
  overwrite: boolean;
  /** Modification time the committed file gets (default: the time of the commit). */
  mtime?: Date;
  /** Bytes per chunk. */
  chunk: number;
  /** Chunk publishes awaiting their acknowledgement at once. */
  window: number;
  /** Whether a folder of this name exists now. */
  isFolder: () => Promise<boolean>;
  /** Called once when the write ends (committed or aborted). */
  done: () => void;
  /** The kept partial this write continues (its chunks are under `nuid`), or null. */
  resumed: PartialRecord | null;
  /** The bucket's partial records. */
  partials: NatsPartials;
  /** Where keep() records this write, or null (no owner: keep() aborts). */
  slot: PartialSlot | null;
}

/**
 * A pending upload. Its chunks are published as they fill, at most `window` awaiting their
 * acknowledgement, into buffers reused once acknowledged (at most `window + 1` chunks in
 * memory). Nothing is visible until {@link commit} publishes the meta record.
 */
export class NatsWriter implements StoreWriter {
  /** This upload's id (see {@link WriterParts.nuid}). */
  readonly nuid: string;
  #p: WriterParts;
  #subject: string;
  #buf: Uint8Array | null = null;
  /** Chunk buffers whose publish was acknowledged: reused, not allocated afresh per chunk. */
  #free: Uint8Array[] = [];
  #fill = 0;
  #size = 0;
  #chunks = 0;
  #inflight: Promise<unknown>[] = [];
  #failed: unknown = null;
  #finished = false;
  #published = false;
  #offset = 0;
  /** Whether the record in the partials bucket is this write's (resumed, or kept). */
  #recorded = false;

  /**
   * A writer for `p.name`; nothing is published before the first full chunk. A resumed write
   * starts after the partial's chunks, which the kept chunk count makes whole ones.
   */
  constructor(p: WriterParts) {
    this.#p = p;
    this.nuid = p.nuid;
    this.#subject = chunkSubject(p.bucket, p.nuid);
    if (p.resumed !== null) {
      this.#offset = this.#size = p.resumed.size;
      this.#chunks = p.resumed.chunks;
      this.#published = this.#chunks > 0;
      this.#recorded = true;
    }
  }

  /** Bytes of the resumed partial (0 for a fresh write). */
  get offset(): number {
    return this.#offset;
  }

  /** Reads the resumed partial's chunks, for the caller to hash before trusting them. */
  async readKept(): Promise<StoreReader> {
    this.#check();
    const meta = { nuid: this.nuid, size: this.#offset, mtime: new Date().toISOString() };
    const reader = new NatsReader(
      this.#p.bucket,
      meta as ServerMeta,
      this.#p.name,
      () => Promise.resolve(true),
    );
    try {
      await retrying(() => reader.start(), this.#p.bucket.retryMs);
    } catch (err) {
      await reader.close();
      throw mapNatsError(err, this.#p.name);
    }
    return reader;
  }

  /** Drops the resumed chunks and their record: the write starts again from byte 0. */
  async restart(): Promise<void> {
    this.#check();
    await this.#drain();
    if (this.#published) await purgeChunks(this.#p.bucket, this.nuid);
    this.#fill = 0;
    this.#size = 0;
    this.#chunks = 0;
    this.#offset = 0;
    this.#published = false;
    await this.#forget();
  }

  /**
   * Ends the write keeping its chunks as the owner's partial of this path (a whole last chunk
   * included), recorded in the partials bucket; without an owner or bytes, aborts.
   */
  async keep(): Promise<void> {
    const slot = this.#p.slot;
    if (this.#finished || slot === null || this.#size === 0) return await this.abort();
    try {
      if (this.#fill > 0) await this.#flush();
      await this.#drain();
      this.#check();
      await this.#p.partials.keep(slot, this.nuid, this.#size, this.#chunks);
      this.#recorded = false; // the record is the kept partial's now, not this write's
      this.#finished = true;
      this.#p.done();
    } catch {
      await this.abort();
    }
  }

  /** Drops this write's record in the partials bucket, if it has one. */
  async #forget(): Promise<void> {
    if (!this.#recorded || this.#p.slot === null) return;
    this.#recorded = false;
    await this.#p.partials.forget(this.#p.slot.key);
  }

  #check(): void {
    if (this.#failed !== null) throw mapNatsError(this.#failed, this.#p.name);
    if (this.#finished) {
      throw new StoreError("storage_unavailable", this.#p.name, "write aborted");
    }
  }

  /** Publishes the filled buffer as one chunk; waits while `window` publishes are unacked. */
  async #flush(): Promise<void> {
    const buf = this.#buf!;
    const payload = buf.subarray(0, this.#fill);
    this.#buf = null;
    this.#fill = 0;
    this.#chunks++;
    this.#published = true;
    const ack = this.#p.bucket.chunks.publish(this.#subject, payload, {
      timeout: this.#p.bucket.timeout,
    });
    // The client library holds the bytes until the server acknowledged them (longer while it
    // reconnects): only then may the buffer take another chunk. Reusing a few warm buffers
    // instead of a fresh 1 MiB per chunk took most of the copy's cost off the server's CPU.
    ack.then(() => this.#free.push(buf), (err) => (this.#failed ??= err));
    this.#inflight.push(ack);
    while (this.#inflight.length >= this.#p.window) {
      await this.#inflight.shift()!.catch(() => {});
      this.#check();
    }
  }

  async #drain(): Promise<void> {
    for (const ack of this.#inflight.splice(0)) await ack.catch(() => {});
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#check();
    let off = 0;
    while (off < chunk.length) {
      const buf = this.#buf ??= this.#free.pop() ?? new Uint8Array(this.#p.chunk);
      const n = Math.min(chunk.length - off, buf.length - this.#fill);
      buf.set(chunk.subarray(off, off + n), this.#fill);
      this.#fill += n;
      off += n;
      this.#size += n;
      if (this.#fill === buf.length) await this.#flush();
    }
  }

  async commit(sha256: string): Promise<void> {
    this.#check();
    const name = this.#p.name;
    try {
      if (this.#fill > 0) await this.#flush();
      await this.#drain();
      this.#check();
      if (await this.#p.isFolder()) {
        throw new StoreError("exists_folder", name, "a folder has that name");
      }
      const replaced = await this.#publishOver({
        name,
        bucket: this.#p.bucket.name,
        nuid: this.nuid,
        size: this.#size,
        chunks: this.#chunks,
        mtime: (this.#p.mtime ?? new Date()).toISOString(),
        digest: sha256Digest(sha256),
        deleted: false,
        options: { max_chunk_size: this.#p.chunk },
      });
      this.#finished = true;
      this.#p.done();
      await this.#forget(); // the partial it continued is the file now
      // The replaced content: its readers fail cleanly rather than mix versions.
      if (replaced !== null) await purgeChunks(this.#p.bucket, replaced).catch(() => {});
    } catch (err) {
      await this.abort();
      throw mapNatsError(err, name);
    }
  }

  /**
   * Publishes `meta` only over the record seen just before: a racing writer makes that fail,
   * and then an overwrite tries again over the newer record while a create reports the file.
   * Returns the upload id of the content it replaced, or null.
   */
  async #publishOver(meta: ServerMeta): Promise<string | null> {
    for (let attempt = 0;; attempt++) {
      const last = await lastMeta(this.#p.bucket, meta.name);
      // An earlier attempt was stored though its acknowledgement was lost.
      if (last?.meta.nuid === this.nuid) return null;
      const live = last !== null && !last.meta.deleted;
      if (live && !this.#p.overwrite) {
        throw new StoreError("exists_file", meta.name, "file already exists");
      }
      try {
        await publishMeta(this.#p.bucket, meta, last?.seq ?? 0);
        return live ? last.meta.nuid : null;
      } catch (err) {
        const raced = isWrongLastSequence(err);
        if (attempt >= 8 || !(raced || isTransient(err))) throw err;
        if (!raced) await new Promise((r) => setTimeout(r, 250 * (attempt + 1)));
      }
    }
  }

  async abort(): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    this.#p.done();
    await this.#forget(); // a resumed partial that is aborted is gone
    await this.#drain();
    // Nothing of this upload is visible (no meta record); its chunks go now or, if NATS stays
    // unreachable, with a later sweep.
    if (this.#published) {
      await retrying(
        () => this.#p.bucket.jsm.streams.purge(this.#p.bucket.stream, { filter: this.#subject }),
        Math.min(this.#p.bucket.retryMs, 2_000),
      ).catch(() => {});
    }
  }
}
