/** Whether to colour output on a stream: a terminal, and NO_COLOR unset. */
export function useColor(isTerminal: boolean): boolean {
  let noColor: string | undefined;
  try {
    noColor = Deno.env.get("NO_COLOR");
  } catch {
    noColor = undefined;
  }
  return isTerminal && (noColor === undefined || noColor === "");
}

/** ANSI styles that are no-ops when colour is off. */
export function palette(on: boolean) {
  const wrap = (code: string) => (s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { red: wrap("31"), green: wrap("32"), bold: wrap("1"), dim: wrap("2"), cyan: wrap("36") };
}
