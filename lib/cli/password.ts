const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Reads one line from stdin (without the line end); null at end of input. */
export async function readStdinLine(): Promise<string | null> {
  const chunks: number[] = [];
  const buf = new Uint8Array(1);
  // Byte by byte so nothing after the first line is consumed (a script may follow it).
  while (true) {
    const n = await Deno.stdin.read(buf);
    if (n === null) break;
    if (buf[0] === 0x0a) return decoder.decode(new Uint8Array(chunks)).replace(/\r$/, "");
    chunks.push(buf[0]);
    if (chunks.length > 4096) throw new RangeError("Input line is longer than 4096 bytes");
  }
  return chunks.length > 0 ? decoder.decode(new Uint8Array(chunks)) : null;
}

/** Whether stdin is a terminal. */
export function stdinIsTerminal(): boolean {
  return Deno.stdin.isTerminal();
}

/**
 * Asks for a secret on the terminal without echoing it: raw mode, backspace works, Ctrl-C
 * aborts (exit 130), Ctrl-D on an empty line gives null.
 */
export async function promptHidden(question: string): Promise<string | null> {
  await Deno.stderr.write(encoder.encode(question));
  Deno.stdin.setRaw(true);
  const bytes: number[] = [];
  const buf = new Uint8Array(64);
  try {
    outer: while (true) {
      const n = await Deno.stdin.read(buf);
      if (n === null) break;
      for (const b of buf.subarray(0, n)) {
        if (b === 0x0d || b === 0x0a) break outer;
        if (b === 0x03) {
          Deno.stdin.setRaw(false);
          await Deno.stderr.write(encoder.encode("\n"));
          Deno.exit(130);
        }
        if (b === 0x04 && bytes.length === 0) return null;
        if (b === 0x7f || b === 0x08) bytes.pop();
        else if (b >= 0x20 || b >= 0x80) bytes.push(b);
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(encoder.encode("\n"));
  }
  return decoder.decode(new Uint8Array(bytes));
}

/** Asks a visible question on the terminal; returns the answer or null at end of input. */
export async function promptLine(question: string): Promise<string | null> {
  await Deno.stderr.write(encoder.encode(question));
  return await readStdinLine();
}
