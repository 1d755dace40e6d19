import type { Flag } from "./command.ts";

/** `--overwrite` (`-f`): replace an existing destination file. */
export const OVERWRITE: Flag = {
  name: "overwrite",
  short: "f",
  about: "replace an existing destination file",
};

/** `--recursive` (`-r`): a folder with everything in it. */
export const RECURSIVE: Flag = {
  name: "recursive",
  short: "r",
  about: "remove the folder with everything in it",
};

/** `--fsync`: flush a downloaded file to disk before it takes its name. */
export const FSYNC: Flag = {
  name: "fsync",
  about: "flush the file to disk before it takes its name (default off)",
};

/** `--recursive` (`-r`) of transfers: a folder with everything in it. */
export const RECURSIVE_TRANSFER: Flag = {
  name: "recursive",
  short: "r",
  about: "a folder with everything in it",
};

/** `--recursive` (`-R`) of listings: every folder below too. */
export const RECURSIVE_LIST: Flag = {
  name: "recursive",
  short: "R",
  about: "list every folder below too",
};

/** `--long` (`-l`): exact sizes in bytes, full times, entry types. */
export const LONG: Flag = {
  name: "long",
  short: "l",
  about: "type, size in bytes, modification time (UTC) and name",
};

/** `--no-times`: do not carry modification times. */
export const NO_TIMES: Flag = {
  name: "no-times",
  about: "do not carry the modification time (the file gets the transfer's)",
};

/** `--follow-symlinks` (`-L`): upload what local symlinks point to. */
export const FOLLOW_SYMLINKS: Flag = {
  name: "follow-symlinks",
  short: "L",
  about: "upload -r: follow local symlinks (default: skip them)",
};

/** `--resume` (`-a`, as in sftp): continue an interrupted transfer where it stopped. */
export const RESUME: Flag = {
  name: "resume",
  short: "a",
  about: "continue an interrupted transfer (kept bytes checked by SHA-256)",
};
