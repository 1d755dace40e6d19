/** HTML tables of already formatted cells for the report page. */
import { esc } from "./svg.ts";

const NUMERIC = /^(n\/a|\?|[-+]?[\d,.]+( ?[A-Za-z/%]{1,4})?)$/;

/** Column layout of a table: which columns stay on one line and which may break anywhere. */
export interface Columns {
  noWrap?: number[];
  wrap?: number[];
  /** Columns of raw log text, in a monospace font. */
  mono?: number[];
}

/**
 * A table of already formatted cells. Columns whose cells are all numbers align right, the
 * others (header included) left.
 */
export function tableHtml(
  caption: string,
  headers: string[],
  rows: string[][],
  id: string,
  columns: Columns = {},
): string {
  if (rows.length === 0) return `<p class="empty" id="${id}">${esc(caption)}: none</p>`;
  const classes = headers.map((_, i) => {
    const text = i === 0 || rows.some((r) => !NUMERIC.test(r[i]));
    const c = [
      text ? "t" : "",
      columns.noWrap?.includes(i) ? "nw" : "",
      columns.wrap?.includes(i) ? "wr" : "",
      columns.mono?.includes(i) ? "mono" : "",
    ].filter(Boolean).join(" ");
    return c ? ` class="${c}"` : "";
  });
  return `<table id="${id}"><caption>${esc(caption)}</caption><thead><tr>${
    headers.map((h, i) => `<th${classes[i]}>${esc(h)}</th>`).join("")
  }</tr></thead><tbody>${
    rows.map((r) => `<tr>${r.map((c, i) => `<td${classes[i]}>${esc(c)}</td>`).join("")}</tr>`)
      .join("")
  }</tbody></table>`;
}
