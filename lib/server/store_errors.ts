import type { ErrorCode, ErrorReason } from "../protocol/codes.ts";
import { ConnectionError, FileshareError, InternalError } from "../protocol/errors.ts";
import { StoreError, type StoreErrorKind } from "../store/store.ts";

const CODES: Record<StoreErrorKind, ErrorCode> = {
  not_found: "NOT_FOUND",
  exists_file: "EXISTS",
  exists_folder: "EXISTS",
  not_empty: "NOT_EMPTY",
  not_folder: "BAD_REQUEST",
  not_file: "BAD_REQUEST",
  denied: "DENIED",
  storage_full: "LIMIT",
  storage_unavailable: "UNAVAILABLE",
};

/** The reasons sent beside the code, where the code alone does not say which kind it was. */
const REASONS: Partial<Record<StoreErrorKind, ErrorReason>> = {
  exists_file: "exists_file",
  exists_folder: "exists_folder",
  not_empty: "not_empty",
  not_folder: "not_folder",
  not_file: "not_file",
};

/** The protocol code a store error kind is sent as. */
export function codeOfStoreError(kind: StoreErrorKind): ErrorCode {
  return CODES[kind];
}

/**
 * Turns a {@link StoreError} into the wire error the client sees, prefixed with what was
 * attempted: `Cannot upload "a.txt": file already exists`. Protocol and connection errors pass
 * through; any other error is a storage fault whose text may name server paths, so it becomes
 * an {@link InternalError} (the client sees an id, the log the detail).
 */
export function toWireError(what: string, err: unknown): unknown {
  if (err instanceof FileshareError || err instanceof ConnectionError) return err;
  if (!(err instanceof StoreError)) return InternalError.wrap(err, what);
  return new FileshareError(CODES[err.kind], `${what}: ${err.detail}`, {
    cause: err,
    reason: REASONS[err.kind],
  });
}

/** Runs a store call, mapping its {@link StoreError} to the wire error for `what`. */
export async function storeCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toWireError(what, err);
  }
}
