/**
 * The shell's remote folder arithmetic, pure: the protocol takes root-relative paths without
 * `..`, so the shell resolves `..`, `.` and absolute paths itself.
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

/**
 * Splits a shell line into words: whitespace separates, single and double quotes group, and a
 * backslash escapes the next character outside single quotes. Throws on an unclosed quote.
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new SyntaxError(`Unclosed ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

/** Quotes a name for the shell line if it needs it (for completion). */
export function quoteWord(name: string): string {
  return /^[\w@%+=:,./-]+$/.test(name)
    ? name
    : `"${name.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}
