import type { DirEntry } from "../protocol/messages.ts";
import { FileshareError } from "../protocol/errors.ts";
import { UsageError } from "../cli/errors.ts";
import { baseName, userPath } from "../cli/paths.ts";
import { formatBytes, formatRate, formatSeconds } from "../cli/format.ts";
import type { FileshareClient, FileTransferOptions, TransferResult } from "./client.ts";

/** Names of the one-shot commands, with their aliases. */
export const COMMAND_ALIASES: Record<string, string> = {
  upload: "upload",
  put: "upload",
  download: "download",
  get: "download",
  delete: "delete",
  rm: "delete",
  dir: "dir",
  ls: "dir",
  mkdir: "mkdir",
  rmdir: "rmdir",
};

/** Usage, description and examples of each one-shot command, for `client COMMAND --help`. */
export const COMMAND_HELP: Record<string, { usage: string; about: string; examples: string[] }> = {
  upload: {
    usage: "client upload LOCAL [REMOTE] [--overwrite]",
    about: "Upload a local file. REMOTE defaults to the file's name in the shared root; a REMOTE " +
      'ending in "/" is a folder to upload into. Refuses to replace a file unless --overwrite.',
    examples: [
      "client upload report.pdf",
      "client upload report.pdf docs/",
      "client put a.txt b.txt --overwrite",
    ],
  },
  download: {
    usage: "client download REMOTE [LOCAL] [--overwrite] [--fsync]",
    about: "Download a file, verified by SHA-256, to LOCAL (default: its name in the current " +
      "folder; a folder means into it). Never replaces a local file unless --overwrite. " +
      "--fsync flushes it to disk before it takes its name (off by default, as with rsync).",
    examples: ["client download docs/report.pdf", "client get docs/report.pdf ~/Desktop/"],
  },
  delete: {
    usage: "client delete REMOTE",
    about: "Delete a remote file.",
    examples: ["client rm old.txt"],
  },
  dir: {
    usage: "client dir [REMOTE_DIR] [--json]",
    about: "List a remote folder (default the shared root): type, size, modified time, name.",
    examples: ["client ls", "client dir photos --json"],
  },
  mkdir: {
    usage: "client mkdir REMOTE_DIR",
    about: "Create a remote folder and any missing parents.",
    examples: ["client mkdir photos/2026", "client subfolder create photos/2026"],
  },
  rmdir: {
    usage: "client rmdir REMOTE_DIR [--recursive]",
    about: "Remove a remote folder; a non-empty one only with --recursive (-r).",
    examples: ["client rmdir old", "client subfolder delete old --recursive"],
  },
};

/** The `--help` text of one command (aliases accepted). */
export function commandHelp(name: string): string {
  const cmd = COMMAND_ALIASES[name] ?? name;
  const h = COMMAND_HELP[cmd];
  const aliases = Object.entries(COMMAND_ALIASES).filter(([k, v]) => v === cmd && k !== cmd).map((
    [k],
  ) => k);
  return [
    `Usage: ${h.usage}`,
    "",
    h.about,
    ...(aliases.length ? ["", `Alias: ${aliases.join(", ")}`] : []),
    "",
    "Examples:",
    ...h.examples.map((e) => `  ${e}`),
  ].join("\n");
}

/** Options a one-shot command takes. */
export interface CommandOptions {
  overwrite: boolean;
  recursive: boolean;
  /** Downloads: fsync the file before it takes its name (default off, as rsync and scp). */
  fsync?: boolean;
  /** Transfer progress callback factory, given the total size. */
  progress?: (label: string, total: number) => FileTransferOptions["onProgress"];
  /** Called when a transfer ends (to clear a progress line). */
  progressDone?: () => void;
  signal?: AbortSignal;
}

/** What a command prints: a line of text, and the JSON value for `--json`. */
export interface CommandOutput {
  text: string;
  json: unknown;
}

/** `uploaded a.bin (1.0 GiB) in 2.1 s, 511 MB/s, sha256 verified` */
export function transferSummary(verb: string, path: string, r: TransferResult): string {
  return `${verb} ${path} (${formatBytes(r.bytes)}) in ${formatSeconds(r.ms)}, ${
    formatRate(r.bytes, r.ms)
  }, sha256 verified`;
}

/** A listing as aligned text: type, size, modified time, name. */
export function formatListing(entries: DirEntry[]): string {
  if (entries.length === 0) return "(empty)";
  const sizes = entries.map((e) => (e.type === "dir" ? "-" : formatBytes(e.size)));
  const width = Math.max(...sizes.map((s) => s.length));
  return entries.map((e, i) =>
    `${e.type === "dir" ? "d" : "-"}  ${sizes[i].padStart(width)}  ${
      e.mtime.slice(0, 19).replace("T", " ")
    }  ${e.name}${e.type === "dir" ? "/" : ""}`
  ).join("\n");
}

/** Milliseconds to 0.1 ms for JSON output (timer noise like 2.277499000000006 says nothing). */
function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function need(args: string[], min: number, max: number, usage: string): void {
  if (args.length < min) throw new UsageError(`Missing argument: ${usage}`);
  if (args.length > max) throw new UsageError(`Unexpected argument "${args[max]}": ${usage}`);
}

/** Joins a remote folder and a name. */
export function remoteJoin(dir: string, name: string): string {
  const d = dir.replace(/\/+$/, "");
  return d === "" || d === "." ? name : `${d}/${name}`;
}

/**
 * Runs one command on a connected client. Local paths resolve against the user's folder;
 * `upload LOCAL` defaults the remote name to the local base name, `download REMOTE` saves
 * under the remote base name in the current folder.
 */
export async function runCommand(
  client: FileshareClient,
  name: string,
  args: string[],
  options: CommandOptions,
): Promise<CommandOutput> {
  const command = COMMAND_ALIASES[name];
  switch (command) {
    case "upload": {
      need(args, 1, 2, "upload LOCAL [REMOTE]");
      const local = userPath(args[0]);
      let remote = args[1] ?? baseName(args[0]);
      if (remote.endsWith("/")) remote = remoteJoin(remote, baseName(args[0]));
      const info = await Deno.stat(local).catch((err) => {
        if (err instanceof Deno.errors.NotFound) {
          throw new FileshareError("NOT_FOUND", `Cannot upload "${args[0]}": local file not found`);
        }
        throw err;
      });
      if (!info.isFile) {
        throw new FileshareError("BAD_REQUEST", `Cannot upload "${args[0]}": not a file`);
      }
      try {
        const r = await client.uploadFile(local, remote, {
          overwrite: options.overwrite,
          onProgress: options.progress?.(remote, info.size),
          signal: options.signal,
        });
        return {
          text: transferSummary("uploaded", remote, r),
          json: {
            op: "upload",
            local,
            remote,
            bytes: r.bytes,
            ms: roundMs(r.ms),
            sha256: r.sha256,
          },
        };
      } finally {
        options.progressDone?.();
      }
    }
    case "download": {
      need(args, 1, 2, "download REMOTE [LOCAL]");
      const remote = args[0];
      let local = userPath(args[1] ?? baseName(remote));
      const st = await Deno.stat(local).catch(() => null);
      if (st?.isDirectory) local = `${local.replace(/\/+$/, "")}/${baseName(remote)}`;
      try {
        let onProgress: ((done: number) => void) | undefined;
        const r = await client.downloadFile(remote, local, {
          overwrite: options.overwrite,
          fsync: options.fsync,
          onSize: (size) => (onProgress = options.progress?.(remote, size)),
          onProgress: (done) => onProgress?.(done),
          signal: options.signal,
        });
        return {
          text: transferSummary("downloaded", remote, r),
          json: {
            op: "download",
            remote,
            local,
            bytes: r.bytes,
            ms: roundMs(r.ms),
            sha256: r.sha256,
          },
        };
      } finally {
        options.progressDone?.();
      }
    }
    case "delete": {
      need(args, 1, 1, "delete REMOTE");
      await client.delete(args[0]);
      return { text: `deleted ${args[0]}`, json: { op: "delete", path: args[0] } };
    }
    case "dir": {
      need(args, 0, 1, "dir [REMOTE_DIR]");
      const entries = await client.list(args[0] ?? "");
      return { text: formatListing(entries), json: entries };
    }
    case "mkdir": {
      need(args, 1, 1, "mkdir REMOTE_DIR");
      await client.mkdir(args[0]);
      return { text: `created folder ${args[0]}`, json: { op: "mkdir", path: args[0] } };
    }
    case "rmdir": {
      need(args, 1, 1, "rmdir REMOTE_DIR [--recursive]");
      await client.rmdir(args[0], options.recursive);
      return {
        text: `removed folder ${args[0]}`,
        json: { op: "rmdir", path: args[0], recursive: options.recursive },
      };
    }
    default:
      throw new UsageError(`Unknown command "${name}"`);
  }
}
