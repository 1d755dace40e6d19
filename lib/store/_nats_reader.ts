/**
 * Reading one object of a NatsStore bucket.
 *
 * @module
 */
import { DeliverPolicy, type JetStreamClient, type JsMsg } from "@nats-io/jetstream";
import { StoreError, type StoreReader } from "./store.ts";
import { mapNatsError } from "./nats_errors.ts";
import { type Bucket, chunkSubject, type ServerMeta } from "./_nats_meta.ts";

/** A reader with no chunk for this long checks whether the object was replaced meanwhile. */
const READ_PROBE_MS = 2_000;
/** A reader with no chunk for this long gives up (the cluster stays unable to serve it). */
const READ_STALL_MS = 60_000;

/**
 * An open object: an ordered consumer over its chunks, a few chunks buffered ahead. A read
 * that gets no chunk for a while checks whether the name still refers to this content and
 * fails at once if not (it is being replaced or deleted), else waits out a failover for up to
 * a minute.
 */
export class NatsReader implements StoreReader {
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

  /** A reader of the object `info` describes; {@link start} subscribes. */
  constructor(
    bucket: Bucket,
    info: ServerMeta,
    path: string,
    current: () => Promise<boolean>,
  ) {
    this.#js = bucket.js;
    this.#current = current;
    this.#stream = bucket.stream;
    this.#subject = chunkSubject(bucket, info.nuid);
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
