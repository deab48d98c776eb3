/**
 * What the console's pictures share: escaping, the palette (each colour paired with a text or
 * a shape, never colour alone), time and duration labels, and the accessible SVG frame
 * (`role="img"`, named by its `<title>` and described by its `<desc>`). Pure string work: the same
 * code draws in the browser and in Node (the report).
 */

/** Text and attribute values, escaped for XML and HTML alike. */
export const esc = (value: unknown): string =>
  String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

/** An id fragment from any name: letters, digits and dashes only (ids must be valid and unique per page). */
export const slug = (value: string): string => {
  const s = value.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '');
  let h = 0;
  for (const ch of value) h = (h * 31 + ch.codePointAt(0)!) >>> 0;
  return `${s.slice(0, 40) || 'x'}-${h.toString(36)}`;
};

/** Okabe-Ito colours (distinguishable with the common colour-vision deficiencies). */
export const COLOUR = {
  deploy: '#0072B2',
  bake: '#009E73',
  blocked: '#E69F00',
  rollback: '#D55E00',
  alarm: '#C00000',
  override: '#CC79A7',
  approval: '#56B4E9',
  ink: '#1a1a1a',
  muted: '#5f6368',
  grid: '#d9d9d9',
  paper: '#ffffff',
  panel: '#f4f6f8',
} as const;

/** Each change status: a colour and a glyph that says the same without colour. */
export const STATUS_STYLE: Record<string, { colour: string; glyph: string }> = {
  waiting: { colour: '#8a8f98', glyph: '…' },
  'in-flight': { colour: COLOUR.deploy, glyph: '▶' },
  succeeded: { colour: COLOUR.bake, glyph: '✓' },
  failed: { colour: COLOUR.rollback, glyph: '✗' },
  rejected: { colour: '#7a3e9d', glyph: '⊘' },
  superseded: { colour: '#8a8f98', glyph: '↷' },
};
export const statusStyle = (status: string): { colour: string; glyph: string } => STATUS_STYLE[status] ?? { colour: COLOUR.muted, glyph: '?' };

/** `2026-12-01 14:02` (UTC, as the stream is). */
export const clock = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
/** `14:02`. */
export const hhmm = (ms: number): string => new Date(ms).toISOString().slice(11, 16);

/** `1 h 30 min`, `45 s`, `2 d 3 h`. */
export const duration = (ms: number): string => {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
};

/** An ISO 8601 duration (`PT1H30M`, `P1DT2H`) in milliseconds; undefined when it is not one. */
export const isoDurationMs = (value: unknown): number | undefined => {
  if (typeof value !== 'string') return undefined;
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(value);
  if (!m) return undefined;
  return ((Number(m[1] ?? 0) * 24 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 60_000 + Number(m[4] ?? 0) * 1000;
};

/** A rough width of a text in the pictures' font (11 px sans-serif), to decide whether a label fits. */
export const textWidth = (text: string, size = 11): number => [...text].length * size * 0.62;

/** The accessible frame of a picture. */
export const frame = (o: { id: string; width: number; height: number; title: string; desc: string; body: string; className: string }): string =>
  `<svg xmlns="http://www.w3.org/2000/svg" class="${esc(o.className)}" role="img" aria-labelledby="${esc(o.id)}-title" aria-describedby="${esc(o.id)}-desc" ` +
  `width="${Math.ceil(o.width)}" height="${Math.ceil(o.height)}" viewBox="0 0 ${Math.ceil(o.width)} ${Math.ceil(o.height)}" ` +
  `font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" font-size="11">` +
  `<title id="${esc(o.id)}-title">${esc(o.title)}</title><desc id="${esc(o.id)}-desc">${esc(o.desc)}</desc>` +
  `<rect width="100%" height="100%" fill="${COLOUR.paper}"/>${o.body}</svg>`;

/** A `<text>` element. */
export const text = (x: number, y: number, value: string, attrs = ''): string =>
  `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}"${attrs ? ` ${attrs}` : ''}>${esc(value)}</text>`;

/** `<title>` inside a shape: the tooltip, and what a screen reader reads for it. */
export const tip = (value: string): string => `<title>${esc(value)}</title>`;
