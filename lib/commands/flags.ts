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
