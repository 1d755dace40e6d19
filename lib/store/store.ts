/**
 * The storage seam: everything the server needs from a backend, in the backend's own terms.
 * Nothing here knows the wire protocol or the CLI; handlers map {@link StoreError} kinds to
 * protocol codes and the client words any advice. Backends: `local_store.ts` (a folder on
 * disk) and `nats_store.ts` (a NATS JetStream Object Store shared by several servers).
 *
 * @module
 */
import type { RemotePath } from "./paths.ts";

/** Whether an entry is a file or a folder. */
export type EntryKind = "file" | "folder";

/** One entry of a folder listing. */
export interface StoreEntry {
  /** Name within its folder (one path segment). */
  readonly name: string;
  /** File or folder. */
  readonly kind: EntryKind;
  /** Size in bytes; 0 for folders. */
  readonly size: number;
  /** Last modification (for a file, when its content was committed). */
  readonly mtime: Date;
}

/**
 * An open file being read: a consistent snapshot even if the file is replaced or deleted
 * meanwhile. Close it on every path (`await using`).
 */
export interface StoreReader extends AsyncDisposable {
  /** Size at open time; exactly this many bytes are served. */
  readonly size: number;
  /** Modification time at open time. */
  readonly mtime: Date;
  /** Reads up to `p.length` bytes into `p`; null at the end. */
  read(p: Uint8Array): Promise<number | null>;
  /** Releases the file (and any network subscription); safe to call more than once. */
  close(): Promise<void>;
}

/**
 * A pending write: invisible to every reader and lister until {@link StoreWriter.commit}
 * resolves, and gone without a trace after {@link StoreWriter.abort}.
 */
export interface StoreWriter {
  /**
   * Appends all of `chunk`. The caller owns `chunk`: it stays valid only until the returned
   * promise resolves, after which the caller may reuse the buffer, so a backend that keeps
   * bytes longer must copy them.
   */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Makes the written bytes durable and visible under the final name. `sha256` is the
   * lowercase hex SHA-256 of everything written, already computed and verified by the caller
   * (backends that store a digest use it instead of hashing again). With `overwrite: false`
   * this fails with `exists_file` if the name appeared meanwhile (atomically so when
   * {@link StoreCapabilities.atomicNoOverwrite}). On failure the write is aborted.
   */
  commit(sha256: string): Promise<void>;
  /** Drops the written bytes; the destination stays as it was. Safe to call more than once. */
  abort(): Promise<void>;
  /**
   * Bytes already in this write when it started: the length of the partial upload it resumed
   * (see {@link WriteOptions.resume}), else 0. Later writes append after them.
   */
  readonly offset: number;
  /**
   * Reads the first {@link offset} bytes (the resumed partial), so the caller can verify them
   * by hash before trusting them. Close the reader on every path.
   */
  readKept(): Promise<StoreReader>;
  /** Drops the resumed bytes: the write starts again from byte 0 ({@link offset} becomes 0). */
  restart(): Promise<void>;
  /**
   * Ends the write without committing, but keeps the bytes written so far as the partial
   * upload of {@link WriteOptions.owner} and this path, for a later write with `resume`. Where
   * the backend keeps no partials ({@link StoreCapabilities.resume} false), or with no owner
   * or no bytes, this is {@link abort}. The destination stays as it was.
   */
  keep(): Promise<void>;
}

/** Options of {@link Store.createWrite}. */
export interface WriteOptions {
  /** Replace an existing file; otherwise `exists_file`. */
  overwrite: boolean;
  /** Modification time the committed file gets (default: the time of the commit). */
  mtime?: Date;
  /**
   * Whose partial upload this write may resume and keep (the user name): partials are kept
   * per owner and path, never shared between owners.
   */
  owner?: string;
  /**
   * Continue the partial upload kept for `owner` and this path, if there is one and no other
   * write is continuing it: the writer then starts with {@link StoreWriter.offset} bytes.
   */
  resume?: boolean;
  /**
   * The whole body is at hand and small (a pipelined upload of at most 1 MiB): a backend may
   * do this write's file work with synchronous calls, which cost less than a thread hand-off
   * each for a few KiB.
   */
  small?: boolean;
}

/** Options of {@link Store.rename}. */
export interface RenameOptions {
  /** Replace an existing file at the destination (never a folder); otherwise `exists_file`. */
  overwrite: boolean;
}

/** Where backends truly differ; callers may adapt their wording or checks to these. */
export interface StoreCapabilities {
  /**
   * True when folders are real objects of the backend (a disk); false when they are a naming
   * convention over flat keys (an object store), with a marker keeping empty folders.
   */
  readonly realFolders: boolean;
  /**
   * True when "create only if absent" is decided atomically by the backend at commit, so two
   * racing non-overwriting writers end with exactly one file and one `exists_file`.
   */
  readonly atomicNoOverwrite: boolean;
  /** True when several servers may share this storage at once. */
  readonly shared: boolean;
  /**
   * True when a rename is one atomic step for files and folders alike; false when a folder is
   * moved entry by entry (an object store), so others may see it half moved.
   */
  readonly atomicRename: boolean;
  /**
   * True when interrupted uploads can be kept as partials ({@link StoreWriter.keep}) and
   * resumed; false: `keep()` aborts and a resuming write always starts at offset 0.
   */
  readonly resume: boolean;
}

/** The conditions a caller can act on, independent of the backend. */
export type StoreErrorKind =
  | "not_found"
  | "exists_file"
  | "exists_folder"
  | "not_empty"
  | "not_folder"
  | "not_file"
  | "denied"
  | "storage_full"
  | "storage_unavailable";

/**
 * A store operation failed for a reason callers can act on. `message` is neutral text
 * (`"a/b.txt": not found`); the protocol layer prefixes what was attempted and the client adds
 * advice.
 */
export class StoreError extends Error {
  /** What went wrong. */
  readonly kind: StoreErrorKind;
  /** The remote path concerned (`""` for the root). */
  readonly path: string;
  /** Short detail without the path, e.g. `"not found"`. */
  readonly detail: string;

  /** Creates a store error for `path` with a short neutral `detail`. */
  constructor(kind: StoreErrorKind, path: string, detail: string, options?: ErrorOptions) {
    super(`"${path || "/"}": ${detail}`, options);
    this.name = "StoreError";
    this.kind = kind;
    this.path = path;
    this.detail = detail;
  }
}

/**
 * The storage behind a server. Every method takes an already validated {@link RemotePath} and
 * throws {@link StoreError} for conditions callers can act on (other errors are faults).
 *
 * @example
 * ```ts ignore
 * await using reader = await store.openRead(path);
 * for await (const entry of store.list(folder)) console.log(entry.name);
 * ```
 */
export interface Store {
  /** What this backend guarantees. */
  readonly capabilities: StoreCapabilities;
  /** Where the data lives, for logs: a folder's real path, or NATS servers and bucket. */
  readonly location: string;
  /**
   * Lists a folder, without in-progress writes, sorted by name (code-unit order). Errors
   * (`not_found`, `not_folder`) surface on the first iteration.
   */
  list(path: RemotePath): AsyncIterable<StoreEntry>;
  /** Opens a file for reading: `not_found`, `not_file`. */
  openRead(path: RemotePath): Promise<StoreReader>;
  /**
   * Starts a write; checks for an existing file or folder before any byte is sent
   * (`exists_file` without overwrite, `exists_folder`, `not_found` for a missing parent).
   */
  createWrite(path: RemotePath, options: WriteOptions): Promise<StoreWriter>;
  /** Deletes a file: `not_found`, `not_file`. */
  remove(path: RemotePath): Promise<void>;
  /** Creates a folder and any missing parents: `exists_folder`, `exists_file`. */
  mkdir(path: RemotePath): Promise<void>;
  /** Removes a folder: `not_empty` unless recursive, `not_folder`; `denied` for the root. */
  rmdir(path: RemotePath, recursive: boolean): Promise<void>;
  /**
   * Bytes of the file at `path`, or of every file at any depth below the folder at `path`
   * (the root for `[]`); 0 when nothing is there. Links are not followed, in-progress writes
   * not counted. Quotas are measured with this.
   */
  usage(path: RemotePath): Promise<number>;
  /**
   * A view of this store whose root is the folder `home` (created with its parents if
   * missing): every path of the view is resolved below `home`, so nothing outside it can be
   * named or reached, by `..` or by links. Writes of the view still end with this store's
   * {@link Store.abortAll}; closing the view releases nothing of this store.
   */
  within(home: RemotePath): Promise<Store>;
  /**
   * Renames or moves a file or folder within the store: `not_found` (source or the
   * destination's folder), `exists_file` (without overwrite), `exists_folder` (a folder at the
   * destination, always), `denied` (the root, or a folder into itself). Atomic where
   * {@link StoreCapabilities.atomicRename}.
   */
  rename(from: RemotePath, to: RemotePath, options: RenameOptions): Promise<void>;
  /**
   * Removes partial uploads (see {@link StoreWriter.keep}) last written before `before` and
   * not being resumed now; returns how many went. Partials are never listed, read or counted
   * as files; this is how they end.
   */
  expirePartials(before: Date): Promise<number>;
  /** Aborts every write of this process still in progress (shutdown). */
  abortAll(): Promise<void>;
  /** Aborts pending writes and releases the backend (connections, handles). */
  close(): Promise<void>;
}
