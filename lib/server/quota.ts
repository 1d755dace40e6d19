/**
 * Upload limits: the server's largest upload (`--max-upload`) and a user's byte quota. A
 * quota counts the bytes of every file under the user's root: the home folder, or the whole
 * shared root for a user without one (then uploads by others count too). An upload is
 * admitted by its announced size, counted while it is written, and, on a store shared by
 * several servers, checked again just before it becomes visible.
 *
 * @module
 */
import { FileshareError } from "../protocol/errors.ts";
import type { RemotePath } from "../store/paths.ts";
import type { Store } from "../store/store.ts";
import { formatBytes } from "../units.ts";

/** The limits one session's uploads are held to. */
export interface UploadLimits {
  /** The user's quota in bytes; null: none. */
  quota: number | null;
  /** The server's largest upload in bytes; null: none. */
  maxUpload: number | null;
}

/**
 * Bytes of uploads this server is receiving, per user root (a store's `location`): two
 * uploads running at once are admitted only if both fit.
 */
export class UploadLedger {
  #inflight = new Map<string, number>();
  #turns = new Map<string, Promise<void>>();

  /**
   * Runs `fn` after every earlier call for `key` has finished, so that two uploads do not
   * both measure the free bytes before either reserved its share.
   */
  async serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#turns.get(key) ?? Promise.resolve();
    const turn = before.then(fn);
    const settled = turn.then(() => {}, () => {});
    this.#turns.set(key, settled);
    try {
      return await turn;
    } finally {
      if (this.#turns.get(key) === settled) this.#turns.delete(key);
    }
  }

  /** Bytes reserved under `key` by uploads in progress. */
  inflight(key: string): number {
    return this.#inflight.get(key) ?? 0;
  }

  /**
   * Reserves `bytes` under `key` until the returned handle is disposed. The reservation is
   * given back in a turn of its own (see {@link serial}): an admission measuring the root
   * meanwhile may not see the file that replaces it, so it must still see the reservation.
   */
  reserve(key: string, bytes: number): Disposable {
    this.#inflight.set(key, this.inflight(key) + bytes);
    let held = true;
    return {
      [Symbol.dispose]: () => {
        if (!held) return;
        held = false;
        void this.serial(key, () => {
          const left = this.inflight(key) - bytes;
          if (left > 0) this.#inflight.set(key, left);
          else this.#inflight.delete(key);
          return Promise.resolve();
        });
      },
    };
  }
}

/** A byte count as messages show it: `1000 B`, or `1.5 MiB (1572864 bytes)`. */
export function bytesText(n: number): string {
  return n < 1024 ? `${n} B` : `${formatBytes(n)} (${n} bytes)`;
}

const ROOT: RemotePath = { segments: [], text: "" };

/** What a user's root holds against their quota. */
export interface Usage {
  /** Bytes of the files under the user's root. */
  used: number;
  /** The quota; null: none. */
  quota: number | null;
  /** Bytes the quota still allows (never negative); null without a quota. */
  free: number | null;
}

/** The usage of `store`'s root against `quota`. */
export async function usageOf(store: Store, quota: number | null): Promise<Usage> {
  const used = await store.usage(ROOT);
  return { used, quota, free: quota === null ? null : Math.max(0, quota - used) };
}

/**
 * An admitted upload: the most bytes it may write, its reservation, and the checks while it
 * is written and before it commits. Dispose it when the upload ends, however it ends.
 */
export class UploadAdmission implements Disposable {
  #store: Store;
  #ledger: UploadLedger;
  #limits: UploadLimits;
  #path: RemotePath;
  #overwrite: boolean;
  #what: string;
  #reservation: Disposable | null;
  #reserved: number;
  /** The most bytes this upload may write (Infinity: no limit). */
  readonly maxBytes: number;

  private constructor(
    parts: {
      store: Store;
      ledger: UploadLedger;
      limits: UploadLimits;
      path: RemotePath;
      overwrite: boolean;
      what: string;
      maxBytes: number;
      reserved: number;
    },
  ) {
    this.#store = parts.store;
    this.#ledger = parts.ledger;
    this.#limits = parts.limits;
    this.#path = parts.path;
    this.#overwrite = parts.overwrite;
    this.#what = parts.what;
    this.maxBytes = parts.maxBytes;
    this.#reserved = parts.reserved;
    this.#reservation = parts.reserved > 0
      ? parts.ledger.reserve(parts.store.location, parts.reserved)
      : null;
  }

  /**
   * Admits an upload of `size` announced bytes to `path`, or throws LIMIT (reason
   * `too_large` for the server's limit, `quota` for the user's). With `overwrite`, the file
   * it replaces stops counting.
   */
  static async admit(
    store: Store,
    ledger: UploadLedger,
    limits: UploadLimits,
    upload: { path: RemotePath; size: number; overwrite: boolean; what: string },
  ): Promise<UploadAdmission> {
    const { maxUpload, quota } = limits;
    if (maxUpload !== null && upload.size > maxUpload) {
      throw tooLarge(upload.what, upload.size, maxUpload);
    }
    if (quota === null) {
      return new UploadAdmission({
        ...upload,
        store,
        ledger,
        limits,
        maxBytes: maxUpload ?? Infinity,
        reserved: 0,
      });
    }
    // Measured and reserved in one turn per user root.
    return await ledger.serial(store.location, async () => {
      const free = await freeFor(store, ledger, quota, upload.path, upload.overwrite, 0);
      if (upload.size > free) throw overQuota(upload.what, upload.size, quota, free);
      return new UploadAdmission({
        ...upload,
        store,
        ledger,
        limits,
        maxBytes: Math.min(maxUpload ?? Infinity, free),
        reserved: upload.size,
      });
    });
  }

  /** Throws LIMIT if `written` bytes are more than this upload may write. */
  checkWritten(written: number): void {
    if (written <= this.maxBytes) return;
    const { maxUpload, quota } = this.#limits;
    if (maxUpload !== null && written > maxUpload) throw tooLarge(this.#what, written, maxUpload);
    throw overQuota(this.#what, written, quota ?? 0, this.maxBytes);
  }

  /**
   * Checks the quota again just before the commit, on a store other servers write to as
   * well (their uploads are not in this server's ledger); throws LIMIT if `bytes` no longer
   * fit.
   */
  async checkCommit(bytes: number): Promise<void> {
    const quota = this.#limits.quota;
    if (quota === null || !this.#store.capabilities.shared) return;
    const free = await freeFor(
      this.#store,
      this.#ledger,
      quota,
      this.#path,
      this.#overwrite,
      this.#reserved,
    );
    if (bytes > free) throw overQuota(this.#what, bytes, quota, free);
  }

  /** Releases the reservation. */
  [Symbol.dispose](): void {
    this.#reservation?.[Symbol.dispose]();
    this.#reservation = null;
  }
}

/** The bytes the quota leaves for a write to `path`; `own` is this upload's reservation. */
async function freeFor(
  store: Store,
  ledger: UploadLedger,
  quota: number,
  path: RemotePath,
  overwrite: boolean,
  own: number,
): Promise<number> {
  const used = await store.usage(ROOT);
  const replaced = overwrite ? await store.usage(path) : 0;
  const others = ledger.inflight(store.location) - own;
  return Math.max(0, quota - (used - replaced) - others);
}

function tooLarge(what: string, size: number, maxUpload: number): FileshareError {
  return new FileshareError(
    "LIMIT",
    `${what}: ${bytesText(size)} is over the server's limit of ${bytesText(maxUpload)} per upload`,
    { reason: "too_large" },
  );
}

function overQuota(what: string, size: number, quota: number, free: number): FileshareError {
  return new FileshareError(
    "LIMIT",
    `${what}: ${bytesText(size)} is more than the ${bytesText(free)} left of your ${
      bytesText(quota)
    } quota`,
    { reason: "quota" },
  );
}
