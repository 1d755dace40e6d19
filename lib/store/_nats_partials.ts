/**
 * Partial uploads of a NatsStore kept for resume: the chunks stay in the bucket's stream under
 * the upload's id, and a record in the `<bucket>-partials` KV bucket, keyed by owner and path,
 * names them. A server that continues one claims the record by compare-and-set. The KV bucket
 * is made on the first kept partial, so a bucket whose users never resume has no extra stream.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { type KV, Kvm } from "@nats-io/kv";
import type { RemotePath } from "./paths.ts";
import { retrying } from "./nats_errors.ts";
import { type Bucket, purgeChunks } from "./_nats_meta.ts";

/** One kept partial upload, as its record in the partials bucket holds it. */
export interface PartialRecord {
  owner: string;
  path: string;
  /** The upload id its chunks are stored under. */
  nuid: string;
  size: number;
  chunks: number;
  /** When its last byte was kept (ISO 8601); expiry counts from here. */
  updated: string;
  /** The server whose write is continuing it now; others leave it alone while it is live. */
  claimedBy?: string;
}

/** Where a write's partial is recorded: the record's key, its owner and its path. */
export interface PartialSlot {
  key: string;
  owner: string;
  path: string;
}

/** The slot of `owner`'s partial upload of `path`: key `p.<SHA-256 of owner NUL path>`. */
export function partialSlot(owner: string, path: RemotePath): PartialSlot {
  const key = `p.${createHash("sha256").update(`${owner}\0${path.text}`).digest("hex")}`;
  return { key, owner, path: path.text };
}

/** The partial records of one bucket. */
export class NatsPartials {
  #bucket: Bucket;
  #replicas: number;
  #kv: Promise<KV> | null = null;
  #busy: (record: PartialRecord) => Promise<boolean>;

  /**
   * Partials of `bucket`, their KV bucket made with `replicas`; `busy` says whether a claimed
   * record's write is still running (this server's own write, or a server still alive).
   */
  constructor(
    bucket: Bucket,
    replicas: number,
    busy: (record: PartialRecord) => Promise<boolean>,
  ) {
    this.#bucket = bucket;
    this.#replicas = replicas;
    this.#busy = busy;
  }

  get #name(): string {
    return `${this.#bucket.name}-partials`;
  }

  /** The KV bucket; made now with `create`, else null while no server has made it. */
  async #open(create: boolean): Promise<KV | null> {
    if (this.#kv !== null) return await this.#kv;
    const { js, jsm, retryMs } = this.#bucket;
    if (!create) {
      const exists = await jsm.streams.info(`KV_${this.#name}`).then(() => true, () => false);
      if (!exists) return null;
    }
    const kv = await retrying(
      () => new Kvm(js).create(this.#name, { replicas: this.#replicas, history: 1 }),
      retryMs,
    );
    // Remember only a bucket that exists; a miss is asked again next time.
    this.#kv ??= Promise.resolve(kv);
    return kv;
  }

  /**
   * Every record with its revision. The keys are read as the subjects of the KV stream in one
   * bounded request, as the sweep reads the live list: the keys() iterator can hang after a
   * node restart.
   */
  async records(): Promise<{ key: string; revision: number; record: PartialRecord }[]> {
    const kv = await this.#open(false);
    if (kv === null) return [];
    const head = `$KV.${this.#name}.`;
    const { jsm, retryMs } = this.#bucket;
    const si = await retrying(
      () => jsm.streams.info(`KV_${this.#name}`, { subjects_filter: `${head}p.>` }),
      retryMs,
    );
    const out: { key: string; revision: number; record: PartialRecord }[] = [];
    for (const subject of Object.keys(si.state.subjects ?? {})) {
      const key = subject.slice(head.length);
      const e = await kv.get(key).catch(() => null);
      if (e === null || e.operation !== "PUT") continue;
      try {
        out.push({ key, revision: e.revision, record: e.json<PartialRecord>() });
      } catch {
        // not ours: leave it
      }
    }
    return out;
  }

  /**
   * Claims the partial under `key` for a write of server `id` (a compare-and-set on its
   * record); null if there is none, or a running write is continuing it.
   */
  async take(key: string, id: string): Promise<PartialRecord | null> {
    try {
      const kv = await this.#open(false);
      if (kv === null) return null;
      const e = await kv.get(key);
      if (e === null || e.operation !== "PUT") return null;
      const record = e.json<PartialRecord>();
      if (record.claimedBy !== undefined && await this.#busy(record)) return null;
      await kv.update(key, JSON.stringify({ ...record, claimedBy: id }), e.revision);
      return record;
    } catch {
      return null; // claimed by another meanwhile, or unreachable: a fresh write
    }
  }

  /**
   * Records the chunks of upload `nuid` as the partial of `slot` (unclaimed, its time now). An
   * older partial of the same slot with other chunks is replaced and its chunks purged.
   */
  async keep(slot: PartialSlot, nuid: string, size: number, chunks: number): Promise<void> {
    const kv = (await this.#open(true))!;
    const record: PartialRecord = {
      owner: slot.owner,
      path: slot.path,
      nuid,
      size,
      chunks,
      updated: new Date().toISOString(),
    };
    const before = await kv.get(slot.key).catch(() => null);
    await kv.put(slot.key, JSON.stringify(record));
    if (before !== null && before.operation === "PUT") {
      const old = before.json<PartialRecord>();
      if (old.nuid !== nuid) await purgeChunks(this.#bucket, old.nuid).catch(() => {});
    }
  }

  /** Drops the record under `key` (its write committed, aborted or started again). */
  async forget(key: string): Promise<void> {
    const kv = await this.#open(false).catch(() => null);
    await kv?.delete(key).catch(() => {});
  }

  /**
   * Removes the partials last kept before `before` that no running write continues: their
   * records (only if unchanged meanwhile) and their chunks. Returns how many went.
   */
  async expire(before: Date): Promise<number> {
    let removed = 0;
    for (const { key, revision, record } of await this.records()) {
      if (new Date(record.updated) >= before) continue;
      if (record.claimedBy !== undefined && await this.#busy(record)) continue;
      try {
        // Only if nobody claimed or renewed it meanwhile.
        await (await this.#open(false))!.delete(key, { previousSeq: revision });
      } catch {
        continue;
      }
      await purgeChunks(this.#bucket, record.nuid).catch(() => {});
      removed++;
    }
    return removed;
  }
}
