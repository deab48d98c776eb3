/** Number formats and Markdown tables for the bench's figures. */

export const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** One decimal, `-` for no value. */
export const fmt = (n: number): string => (Number.isNaN(n) ? '-' : String(Math.round(n * 10) / 10));

/** A count with thousands separators. */
export const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Dollars: cents for amounts from $1, four significant digits below. */
export const usd = (n: number): string => {
  if (n === 0) return '$0';
  if (Math.abs(n) >= 1) return `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  return `$${Number(n.toPrecision(3))}`;
};

/** A Markdown table; `align` has one letter per column, `l` or `r`. */
export const table = (head: readonly string[], rows: readonly (readonly string[])[], align: string): string[] => {
  const widths = head.map((h, i) => Math.max(h.length, 3, ...rows.map((r) => (r[i] ?? '').length)));
  const cell = (s: string, i: number) => (align[i] === 'r' ? s.padStart(widths[i]!) : s.padEnd(widths[i]!));
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(head), `| ${widths.map((w, i) => (align[i] === 'r' ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`, ...rows.map(line)];
};
