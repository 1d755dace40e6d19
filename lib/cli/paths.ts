/**
 * The folder the user ran the command from: `deno task` runs in the project root and passes
 * the user's folder in INIT_CWD; a compiled executable runs where it was started.
 */
export function userCwd(): string {
  let init: string | undefined;
  try {
    init = Deno.env.get("INIT_CWD");
  } catch {
    init = undefined;
  }
  return init && init.length > 0 ? init : Deno.cwd();
}

/** Resolves a user-given local path against {@link userCwd} (absolute paths stay). */
export function userPath(path: string): string {
  if (path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path)) return path;
  const base = userCwd();
  if (path === "." || path === "") return base;
  return `${base.replace(/[\\/]+$/, "")}/${path.replace(/^\.\//, "")}`;
}

/** The last `/`-separated (or, locally on Windows, `\`) name of a path, without trailing slashes. */
export function baseName(path: string): string {
  const trimmed = path.replace(/[\\/]+$/, "");
  const i = Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\"));
  return trimmed.slice(i + 1);
}
