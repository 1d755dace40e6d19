import type { DirEntry } from "../protocol/messages.ts";
import type { RemotePath } from "./paths.ts";
import type { ByteSink, ByteSource } from "../transfer.ts";

/** An open file being read: a consistent snapshot even if the file is replaced meanwhile. */
export interface ReadHandle extends ByteSource, Disposable {
  /** Size at open time; exactly this many bytes are served. */
  readonly size: number;
  /** Modification time at open time. */
  readonly mtime: Date;
}

/** A pending atomic write: invisible until {@link WriteHandle.commit}. */
export interface WriteHandle extends ByteSink {
  /** Makes the written bytes durable (unless fsync is off) and visible under the final name. */
  commit(): Promise<void>;
  /** Drops the written bytes; the destination stays as it was. Safe to call more than once. */
  abort(): Promise<void>;
}

/** Options of {@link Store.createWrite}. */
export interface WriteOptions {
  /** Replace an existing file; otherwise EXISTS. */
  overwrite: boolean;
}

/**
 * The storage behind the server. Every method takes an already validated {@link RemotePath}
 * and throws `FileshareError` with NOT_FOUND, EXISTS, NOT_EMPTY, DENIED or BAD_REQUEST codes.
 */
export interface Store {
  /** Lists a folder, without temporary files, sorted by name. */
  list(path: RemotePath): Promise<DirEntry[]>;
  /** Describes one entry. */
  stat(path: RemotePath): Promise<DirEntry>;
  /** Opens a file for reading. */
  openRead(path: RemotePath): Promise<ReadHandle>;
  /** Starts an atomic write; checks for an existing file before any byte is sent. */
  createWrite(path: RemotePath, options: WriteOptions): Promise<WriteHandle>;
  /** Deletes a file. */
  remove(path: RemotePath): Promise<void>;
  /** Creates a folder and any missing parents; EXISTS if it is already there. */
  mkdir(path: RemotePath): Promise<void>;
  /** Removes a folder; NOT_EMPTY unless recursive; refuses the root. */
  rmdir(path: RemotePath, recursive: boolean): Promise<void>;
  /** Aborts every write still in progress (shutdown). */
  abortAll(): Promise<void>;
}
