/**
 * `pipelineGraph(state)`: every pipeline as columns, left to right: the changes not yet in a
 * stage, the pre-production stages, then each production wave, each column listing its
 * regions. Each change is a chip (status glyph and id, in its status colour) in the region
 * where it is now; a region where a blocker holds is outlined and marked ⚠ (O when an
 * override sets it aside), with the blocker named in its tooltip and in the `<desc>`.
 */
import type { BlockerView, ChangeSummaryView, PipelineView, StateView } from '../api.ts';
import { COLOUR, clock, esc, frame, slug, statusStyle, text, textWidth, tip } from './svg.ts';

const COL_W = 180;
const COL_GAP = 22;
const BOX_H = 24;
const BOX_GAP = 5;
const HEAD_H = 44;
const SECTION_GAP = 30;
const QUEUE = 'queued';
const MAX_CHIPS_W = 82;
/** A wave with more regions than this lists them in several sub-columns. */
const MAX_ROWS = 10;
const QUEUE_W = 84;

interface Column {
  name: string;
  regions: string[];
}

const columnsOf = (p: PipelineView): Column[] => [{ name: QUEUE, regions: [] }, ...p.waves.map((w) => ({ name: w.name, regions: [...w.regions] }))];

/**
 * The column and region where a change is drawn: its stage's column (at the column's head
 * when it is in no region of it yet, e.g. waiting for the lane), else the wave of its
 * region, else the queue.
 */
const placeOf = (c: ChangeSummaryView, cols: Column[]): { col: number; region: string | null } => {
  const byStage = cols.findIndex((col) => col.name === c.stage);
  if (byStage > 0) {
    const col = cols[byStage]!;
    return { col: byStage, region: c.region && col.regions.includes(c.region) ? c.region : null };
  }
  if (c.region) {
    const byRegion = cols.findIndex((col) => col.regions.includes(c.region!));
    if (byRegion > 0) return { col: byRegion, region: c.region };
  }
  return { col: 0, region: null };
};

const chip = (c: ChangeSummaryView, x: number, y: number): { svg: string; w: number } => {
  const st = statusStyle(c.status);
  const label = `${st.glyph} ${c.id}${c.emergency === 'approved' ? ' ⚡' : ''}`;
  const w = textWidth(label, 10) * 1.1 + 10;
  const detail = `change ${c.id} by ${c.author}: ${c.status}${c.stage ? ` at ${c.stage}` : ''}${c.region ? ` in ${c.region}` : ''}${c.emergency ? `, emergency ${c.emergency}` : ''}${c.blocked ? `, blocked by ${c.blocked.reason}${c.blocked.until ? ` until ${c.blocked.until}` : ''}` : ''}`;
  return {
    w,
    svg:
      `<g class="change" data-change="${esc(c.id)}" data-status="${esc(c.status)}">${tip(detail)}` +
      `<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="16" rx="8" fill="${st.colour}"/>` +
      text(x + 5, y + 11.5, label, 'font-size="10" font-weight="600" fill="#ffffff"') +
      `</g>`,
  };
};

const blockerLine = (b: BlockerView): string =>
  `${b.blocker}${b.region ? ` in ${b.region}` : ''}: ${b.state}${b.override ? `, overridden by ${b.override.by} until ${b.override.expires} (${b.override.reason})` : ''}`;

const section = (p: PipelineView, state: StateView, y0: number, id: string): { svg: string; height: number; width: number; desc: string } => {
  const cols = columnsOf(p);
  const changes = state.changes.filter((c) => c.pipeline === p.name);
  const placed = new Map<string, ChangeSummaryView[]>();
  for (const c of changes) {
    const at = placeOf(c, cols);
    const key = `${at.col}|${at.region ?? ''}`;
    placed.set(key, [...(placed.get(key) ?? []), c]);
  }
  const queued = placed.get('0|') ?? [];
  cols[0]!.regions = queued.length ? [''] : [];
  const holding = (region: string) => state.blockers.filter((b) => b.region === region && b.state === 'ALARM');
  const everywhere = state.blockers.filter((b) => b.region === null);
  const parts: string[] = [];
  const rowsMax = Math.max(1, queued.length, ...cols.map((c) => Math.min(c.regions.length, MAX_ROWS)));
  // Each column's left edge: the queue narrow while empty, a long wave in sub-columns.
  const widthOf = (col: Column, ci: number) => (ci === 0 ? (queued.length ? COL_W : QUEUE_W) : Math.ceil(col.regions.length / MAX_ROWS) * (COL_W + 6) - 6);
  const lefts: number[] = [];
  let left = 8;
  cols.forEach((col, ci) => {
    lefts.push(left);
    left += widthOf(col, ci) + COL_GAP;
  });
  parts.push(text(8, y0 + 16, `Pipeline ${p.name}`, `font-size="14" font-weight="700" fill="${COLOUR.ink}"`));
  if (everywhere.length) parts.push(text(8 + textWidth(`Pipeline ${p.name}`, 14) + 16, y0 + 16, `⚠ ${everywhere.map(blockerLine).join('; ')}`, `fill="#9a6400"`));
  const descs: string[] = [];
  cols.forEach((col, ci) => {
    const colX = lefts[ci]!;
    const x = colX;
    const headY = y0 + HEAD_H - 8;
    parts.push(`<g class="column" data-column="${esc(col.name)}">`);
    parts.push(text(x, headY, col.name === QUEUE ? 'not started' : col.name, `font-weight="700" fill="${COLOUR.muted}"`));
    // Changes at this stage but in none of its regions yet: beside the column's name.
    if (ci > 0) {
      let hx = x + textWidth(col.name) + 10;
      for (const c of placed.get(`${ci}|`) ?? []) {
        const ch = chip(c, hx, headY - 12);
        parts.push(ch.svg);
        hx += ch.w + 3;
        descs.push(`${c.id} at ${col.name}, in no region yet (${c.status}${c.blocked ? `, blocked by ${c.blocked.reason}` : ''})`);
      }
    }
    if (ci > 0) {
      const ax = x - COL_GAP + 4;
      parts.push(`<path d="M${ax} ${headY - 4} h${COL_GAP - 12} m-4 -4 l4 4 l-4 4" fill="none" stroke="${COLOUR.muted}" stroke-width="1.2" aria-hidden="true"/>`);
    }
    if (col.name === QUEUE) {
      queued.forEach((c, i) => {
        const y = y0 + HEAD_H + i * (BOX_H + BOX_GAP) + 4;
        parts.push(chip(c, x, y).svg);
      });
      if (queued.length) descs.push(`not started: ${queued.map((c) => `${c.id} (${c.status})`).join(', ')}`);
    }
    col.regions.forEach((region, ri) => {
      if (col.name === QUEUE) return;
      const y = y0 + HEAD_H + (ri % MAX_ROWS) * (BOX_H + BOX_GAP);
      const x = colX + Math.floor(ri / MAX_ROWS) * (COL_W + 6);
      const here = placed.get(`${ci}|${region}`) ?? [];
      const blockers = holding(region);
      const held = blockers.some((b) => !b.override);
      const overridden = blockers.some((b) => b.override);
      const sign = held ? ' ⚠' : overridden ? ' O' : '';
      const detail = `${col.name}, ${region}${blockers.length ? `; ${blockers.map(blockerLine).join('; ')}` : ''}${here.length ? `; here: ${here.map((c) => `${c.id} (${c.status})`).join(', ')}` : ''}`;
      parts.push(`<g class="region" data-region="${esc(region)}" data-wave="${esc(col.name)}"${held ? ' data-blocked="true"' : ''}>${tip(detail)}`);
      parts.push(`<rect x="${x}" y="${y}" width="${COL_W}" height="${BOX_H}" rx="4" fill="${held ? '#fff4dc' : COLOUR.panel}" stroke="${held ? COLOUR.blocked : overridden ? COLOUR.override : COLOUR.grid}" stroke-width="${held || overridden ? 2 : 1}"/>`);
      parts.push(text(x + 6, y + 16, `${region}${sign}`, `fill="${COLOUR.ink}"`));
      let cx = x + COL_W - 4;
      let shown = 0;
      const chips: string[] = [];
      for (const c of here) {
        const ch = chip(c, 0, 0);
        if (x + COL_W - 4 - (cx - ch.w - 3) > MAX_CHIPS_W && shown > 0) break;
        cx -= ch.w + 3;
        chips.push(chip(c, cx, y + 4).svg);
        shown++;
      }
      if (shown < here.length) chips.push(text(cx - 22, y + 16, `+${here.length - shown}`, `fill="${COLOUR.ink}" font-weight="700"`));
      parts.push(chips.join(''), '</g>');
      if (here.length || blockers.length) descs.push(detail);
    });
    parts.push('</g>');
  });
  const height = HEAD_H + rowsMax * (BOX_H + BOX_GAP) + 4;
  const width = left - COL_GAP + 8;
  const where = changes.map((c) => `${c.id} ${c.status}${c.stage ? ` at ${c.stage}` : ''}${c.region ? ` in ${c.region}` : ''}${c.blocked ? ` (blocked by ${c.blocked.reason})` : ''}`).join('; ');
  const desc = `Pipeline ${p.name}: ${p.waves.map((w) => `${w.name} (${w.regions.join(', ')})`).join(' then ')}. Changes: ${where || 'none'}.${descs.length ? ` ${descs.join('. ')}.` : ''}${everywhere.length ? ` Everywhere: ${everywhere.map(blockerLine).join('; ')}.` : ''}`;
  void id;
  return { svg: `<g class="pipeline" data-pipeline="${esc(p.name)}">${parts.join('')}</g>`, height, width, desc };
};

/** Every pipeline of the state, one section each, as an SVG string. */
export const pipelineGraph = (state: StateView, opts: { id?: string } = {}): string => {
  const id = opts.id ?? `graph-${slug(state.pipelines.map((p) => p.name).join(' '))}`;
  let y = 8;
  let width = 320;
  const bodies: string[] = [];
  const descs: string[] = [];
  for (const p of state.pipelines) {
    const s = section(p, state, y, id);
    bodies.push(s.svg);
    descs.push(s.desc);
    y += s.height + SECTION_GAP;
    width = Math.max(width, s.width);
  }
  const legendY = y - SECTION_GAP + 14;
  const legend = ['waiting', 'in-flight', 'succeeded', 'failed', 'rejected', 'superseded']
    .map((s, i) => {
      const st = statusStyle(s);
      const x = 8 + i * 110;
      return `<g transform="translate(${x},${legendY})"><rect width="16" height="12" rx="6" fill="${st.colour}"/>${text(22, 10, `${st.glyph} ${s}`, `fill="${COLOUR.muted}"`)}</g>`;
    })
    .join('');
  const extra = text(8 + 6 * 110, legendY + 10, '⚠ blocker holds · O overridden · ⚡ emergency', `fill="${COLOUR.muted}"`);
  const height = legendY + 24;
  const title = `Pipeline graph at ${clock(Date.parse(state.now))} UTC: ${state.pipelines.map((p) => p.name).join(', ')}; ${state.changes.length} change${state.changes.length === 1 ? '' : 's'}`;
  return frame({ id, width: Math.max(width, 8 + 6 * 110 + 300), height, title, desc: descs.join(' '), body: `${bodies.join('')}<g class="legend" aria-hidden="true">${legend}${extra}</g>`, className: 'handsoff-graph' });
};
