/**
 * What a recursive upload sends: every file below a local folder, the folders to create, and
 * what it leaves out (symlinks unless followed, special files), in a stable order.
 * @module
 */

/** A file found below the folder. */
export interface LocalFile {
  /** Absolute local path. */
  local: string;
  /** Path relative to the folder, `/`-separated. */
  rel: string;
  /** Size in bytes when found. */
  size: number;
}

/** What was left out, and why. */
export interface SkippedEntry {
  /** Path relative to the folder. */
  rel: string;
  /** Why, e.g. `symlink (use --follow-symlinks)`. */
  why: string;
}

/** Everything below a local folder. */
export interface LocalTree {
  /** Folders to create, parents first, relative (the folder itself is `""`, not listed). */
  folders: string[];
  files: LocalFile[];
  skipped: SkippedEntry[];
}

/** Most entries one walk visits: a bound on a runaway tree. */
const MAX_ENTRIES = 1_000_000;

/**
 * Walks `root` depth first, names sorted. Symlinks are skipped unless `follow`; followed
 * links to folders are entered once each (a loop is skipped, not followed forever).
 */
export async function walkLocal(root: string, follow: boolean): Promise<LocalTree> {
  const tree: LocalTree = { folders: [], files: [], skipped: [] };
  const seen = new Set<string>();
  let visited = 0;
  const walk = async (dir: string, rel: string): Promise<void> => {
    if (follow) {
      const real = await Deno.realPath(dir);
      if (seen.has(real)) {
        tree.skipped.push({ rel, why: "symlink loop" });
        return;
      }
      seen.add(real);
    }
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    names.sort();
    for (const name of names) {
      if (++visited > MAX_ENTRIES) throw new RangeError(`More than ${MAX_ENTRIES} entries`);
      const local = `${dir}/${name}`;
      const childRel = rel === "" ? name : `${rel}/${name}`;
      let info = await Deno.lstat(local).catch(() => null);
      if (info === null) continue; // gone meanwhile
      if (info.isSymlink) {
        if (!follow) {
          tree.skipped.push({ rel: childRel, why: "symlink (use --follow-symlinks)" });
          continue;
        }
        info = await Deno.stat(local).catch(() => null);
        if (info === null) {
          tree.skipped.push({ rel: childRel, why: "dangling symlink" });
          continue;
        }
      }
      if (info.isDirectory) {
        tree.folders.push(childRel);
        await walk(local, childRel);
      } else if (info.isFile) {
        tree.files.push({ local, rel: childRel, size: info.size });
      } else {
        tree.skipped.push({ rel: childRel, why: "not a regular file" });
      }
    }
  };
  await walk(root, "");
  return tree;
}
