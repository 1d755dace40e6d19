/**
 * Shell-style wildcards for `mput` and `mget`: `*` (any run of characters), `?` (one
 * character) and `[..]` (one of a set, `[!..]` or `[^..]` none of it, with ranges), never
 * matching a `/`. Local patterns are expanded against the local folder, remote ones against
 * the server's listing.
 * @module
 */

/** Whether `text` holds a wildcard (`*`, `?` or `[`). */
export function hasWildcard(text: string): boolean {
  return /[*?[]/.test(text);
}

/** A pattern for one name (no `/`) as a RegExp matching the whole name. */
export function globToRegExp(pattern: string): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) {
        out += "\\[";
        continue;
      }
      let set = pattern.slice(i + 1, end);
      const negate = set.startsWith("!") || set.startsWith("^");
      if (negate) set = set.slice(1);
      out += `[${negate ? "^" : ""}${set.replace(/[\\\]^]/g, "\\$&")}]`;
      i = end;
    } else out += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return new RegExp(`^${out}$`, "u");
}

/** Splits a pattern into its folder (`""` for none) and the name pattern after the last `/`. */
export function splitPattern(pattern: string): { dir: string; name: string } {
  const i = pattern.lastIndexOf("/");
  return i < 0
    ? { dir: "", name: pattern }
    : { dir: pattern.slice(0, i), name: pattern.slice(i + 1) };
}

/**
 * The names in `names` the name pattern matches, sorted; names starting with a dot only when
 * the pattern does too (as shells do).
 */
export function matchNames(pattern: string, names: Iterable<string>): string[] {
  const re = globToRegExp(pattern);
  return [...names].filter((n) => re.test(n) && (!n.startsWith(".") || pattern.startsWith(".")))
    .sort();
}
