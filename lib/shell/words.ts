/**
 * The shell's word splitting and quoting, pure.
 * @module
 */

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
