import { VERSION } from "./version.ts";

/** The `parseArgs` options every entry point takes: `-h`/`--help` and `--version`. */
export const HELP_OPTIONS = {
  help: { type: "boolean", short: "h", default: false },
  version: { type: "boolean", default: false },
} as const;

/**
 * Answers `--help` (prints `usage`) and `--version` (prints `fileshare PROGRAM VERSION`) on
 * stdout. Returns true when it answered one: the command is then done and exits 0.
 */
export function helpOrVersion(
  values: { help?: boolean; version?: boolean },
  program: string,
  usage: string,
): boolean {
  if (values.help) {
    console.log(usage);
    return true;
  }
  if (values.version) {
    console.log(`fileshare ${program} ${VERSION}`);
    return true;
  }
  return false;
}
