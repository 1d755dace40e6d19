/**
 * Resolves a local path typed in the shell against the shell's local folder: absolute paths
 * stay, `~` is the home folder (when HOME may be read), `.` and `..` are resolved.
 */
export function localJoin(cwd: string, path: string): string {
  if (path.startsWith("/")) return path;
  if (path === "~" || path.startsWith("~/")) {
    let home: string | undefined;
    try {
      home = Deno.env.get("HOME");
    } catch {
      home = undefined;
    }
    if (home) return home + path.slice(1);
  }
  const parts = cwd.split("/").filter(Boolean);
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") parts.pop();
    else parts.push(seg);
  }
  return "/" + parts.join("/");
}
