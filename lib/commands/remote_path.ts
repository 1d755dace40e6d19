/**
 * Remote folder arithmetic, pure: the protocol takes root-relative paths without `..`, so the
 * shell resolves `..`, `.` and absolute paths itself, and commands join folders and names.
 * @module
 */

/** Resolves `input` against the remote folder `cwd` (both `/`-separated); returns the
 * root-relative path the protocol takes (`""` for the root). `..` stops at the root. */
export function resolveRemote(cwd: string, input: string): string {
  const parts = input.startsWith("/") ? [] : cwd.split("/").filter((s) => s !== "" && s !== ".");
  for (const seg of input.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") parts.pop();
    else parts.push(seg);
  }
  return parts.join("/");
}

/** How the shell shows a root-relative path: with a leading `/`. */
export function displayRemote(path: string): string {
  return "/" + path;
}

/** Joins a remote folder and a name (`""`, `.` and `/` are the root). */
export function remoteJoin(dir: string, name: string): string {
  const d = dir.replace(/\/+$/, "");
  return d === "" || d === "." ? name : `${d}/${name}`;
}
