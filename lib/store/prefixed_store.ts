/**
 * A {@link Store} view of one folder of another store, for backends without links (an object
 * store), where putting the folder's path in front of every path is all confinement needs.
 * The local disk has links and confines by its own resolution instead (`LocalStore.within`).
 *
 * @module
 */
import type { RemotePath } from "./paths.ts";
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

/**
 * The folder `home` of `inner` as a store of its own: every path gets `home`'s segments in
 * front, errors name paths as the view sees them, and the view's root cannot be removed.
 * Parsed paths never hold `..`, so a view's path cannot climb out of `home`.
 */
export class PrefixedStore implements Store {
  #inner: Store;
  #home: RemotePath;

  /** A view of `inner` below the folder `home` (which must exist). */
  constructor(inner: Store, home: RemotePath) {
    this.#inner = inner;
    this.#home = home;
  }

  /** The inner store's capabilities. */
  get capabilities(): StoreCapabilities {
    return this.#inner.capabilities;
  }

  /** The inner store's location and the home below it. */
  get location(): string {
    return `${this.#inner.location}/${this.#home.text}`;
  }

  #in(path: RemotePath): RemotePath {
    const segments = [...this.#home.segments, ...path.segments];
    return { segments, text: segments.join("/") };
  }

  /** Runs `fn` with the inner path, renaming the path of a {@link StoreError} back. */
  async #call<T>(path: RemotePath, fn: (inner: RemotePath) => Promise<T>): Promise<T> {
    try {
      return await fn(this.#in(path));
    } catch (err) {
      throw this.#out(err, path);
    }
  }

  #out(err: unknown, path: RemotePath): unknown {
    if (!(err instanceof StoreError)) return err;
    // Quoted inner paths in the detail (`"home/a" is a file`) lose the home in front.
    const home = this.#home.text;
    const detail = err.detail.replaceAll(`"${home}/`, '"').replaceAll(`"${home}"`, '"/"');
    return new StoreError(err.kind, path.text, detail, { cause: err });
  }

  async *list(path: RemotePath): AsyncIterable<StoreEntry> {
    try {
      yield* this.#inner.list(this.#in(path));
    } catch (err) {
      throw this.#out(err, path);
    }
  }

  openRead(path: RemotePath): Promise<StoreReader> {
    return this.#call(path, (p) => this.#inner.openRead(p));
  }

  createWrite(path: RemotePath, options: WriteOptions): Promise<StoreWriter> {
    if (path.segments.length === 0) {
      return Promise.reject(new StoreError("not_file", "", "no file name"));
    }
    return this.#call(path, async (p) => {
      const writer = await this.#inner.createWrite(p, options);
      return {
        write: (chunk) => writer.write(chunk),
        commit: (sha256) =>
          writer.commit(sha256).catch((err) => Promise.reject(this.#out(err, path))),
        abort: () => writer.abort(),
        get offset() {
          return writer.offset;
        },
        readKept: () => writer.readKept(),
        restart: () => writer.restart(),
        keep: () => writer.keep(),
      };
    });
  }

  remove(path: RemotePath): Promise<void> {
    if (path.segments.length === 0) {
      return Promise.reject(new StoreError("not_file", "", "not a file"));
    }
    return this.#call(path, (p) => this.#inner.remove(p));
  }

  mkdir(path: RemotePath): Promise<void> {
    if (path.segments.length === 0) {
      return Promise.reject(new StoreError("exists_folder", "", "already exists"));
    }
    return this.#call(path, (p) => this.#inner.mkdir(p));
  }

  rmdir(path: RemotePath, recursive: boolean): Promise<void> {
    if (path.segments.length === 0) {
      return Promise.reject(
        new StoreError("denied", "", "your home folder itself cannot be removed"),
      );
    }
    return this.#call(path, (p) => this.#inner.rmdir(p, recursive));
  }

  async rename(from: RemotePath, to: RemotePath, options: RenameOptions): Promise<void> {
    if (from.segments.length === 0 || to.segments.length === 0) {
      throw new StoreError("denied", "", "your home folder itself cannot be moved");
    }
    try {
      await this.#inner.rename(this.#in(from), this.#in(to), options);
    } catch (err) {
      throw this.#out(
        err,
        err instanceof StoreError && err.path === this.#in(from).text ? from : to,
      );
    }
  }

  usage(path: RemotePath): Promise<number> {
    return this.#call(path, (p) => this.#inner.usage(p));
  }

  within(home: RemotePath): Promise<Store> {
    return this.#call(home, (p) => this.#inner.within(p));
  }

  /** The inner store's partials: they are kept per owner, not per view. */
  expirePartials(before: Date): Promise<number> {
    return this.#inner.expirePartials(before);
  }

  /** Nothing of its own: the inner store's abortAll covers the view's writes. */
  abortAll(): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing of its own to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
