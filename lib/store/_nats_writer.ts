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

  /** A writer for `p.name`; nothing is published before the first full chunk. */
  constructor(p: WriterParts) {
    this.#p = p;
    this.nuid = p.nuid;
    this.#subject = chunkSubject(p.bucket, p.nuid);
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
    const ack = this.#p.bucket.js.publish(this.#subject, payload, {
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

  /** Always 0: this backend keeps no partials to resume. */
  readonly offset = 0;

  readKept(): Promise<StoreReader> {
    return Promise.reject(new StoreError("not_found", this.#p.name, "no partial upload kept"));
  }

  restart(): Promise<void> {
    return Promise.resolve();
  }

  /** This backend keeps no partials: the same as {@link abort}. */
  keep(): Promise<void> {
    return this.abort();
  }

  async abort(): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    this.#p.done();
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
