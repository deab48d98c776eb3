/**
 * `rolloutTimeline(change)`: a change's rollout drawn per region, from its audit events:
 * a row per stage and region (label on the left, what it came to on the right, in words),
 * deployments as solid bars (one-box, each unit), bakes as hatched bars, blocked waits as
 * striped bars with their reason, rollbacks as bars marked ↺, and instants as lettered
 * marks (! alarm, O override, ? request, ✓ approval, ✗ denial or failure). Every shape has
 * its sentence as a tooltip, and the `<desc>` lists them all, so nothing is said by colour
 * alone. Quiet gaps are folded on the time axis (./time-axis.ts).
 */
import type { ChangeView } from '../api.ts';
import { COLOUR, esc, frame, clock, hhmm, slug, statusStyle, text, textWidth, tip } from './svg.ts';
import { timelineModel, type Mark, type MarkKind, type Span, type TimelineRow } from './timeline-model.ts';
import { ticks, timeAxis } from './time-axis.ts';

const LABEL_W = 200;
const OUTCOME_W = 190;
const ROW_H = 26;
const BAR_H = 14;
const TOP = 34;
const AXIS_H = 34;
const LEGEND_H = 26;
const PLOT_TARGET = 900;

const MARK_STYLE: Record<MarkKind, { letter: string; colour: string; name: string }> = {
  received: { letter: '•', colour: COLOUR.muted, name: 'received' },
  alarm: { letter: '!', colour: COLOUR.alarm, name: 'alarm' },
  override: { letter: 'O', colour: COLOUR.override, name: 'override' },
  'override-expired': { letter: 'o', colour: COLOUR.override, name: 'override expired' },
  requested: { letter: '?', colour: COLOUR.approval, name: 'emergency requested' },
  granted: { letter: '✓', colour: COLOUR.approval, name: 'emergency approved' },
  denied: { letter: '✗', colour: COLOUR.approval, name: 'emergency denied' },
  extended: { letter: '+', colour: COLOUR.bake, name: 'bake extended' },
  completed: { letter: '✓', colour: COLOUR.bake, name: 'completed' },
  failed: { letter: '✗', colour: COLOUR.rollback, name: 'failed' },
  superseded: { letter: '↷', colour: COLOUR.muted, name: 'superseded' },
  rejected: { letter: '⊘', colour: COLOUR.rollback, name: 'rejected' },
};

const defs = (id: string): string =>
  `<defs>` +
  `<pattern id="${id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="${COLOUR.bake}"/><line x1="0" y1="0" x2="0" y2="6" stroke="#ffffff" stroke-width="2" stroke-opacity="0.55"/></pattern>` +
  `<pattern id="${id}-stripes" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)"><rect width="8" height="8" fill="#fbe3b0"/><line x1="0" y1="0" x2="0" y2="8" stroke="${COLOUR.blocked}" stroke-width="3"/></pattern>` +
  `</defs>`;

const spanShape = (id: string, s: Span, x0: number, x1: number, y: number): string => {
  const w = Math.max(x1 - x0, 3);
  const fill = s.kind === 'deploy' ? (s.failed ? COLOUR.rollback : COLOUR.deploy) : s.kind === 'bake' ? `url(#${id}-hatch)` : s.kind === 'blocked' ? `url(#${id}-stripes)` : COLOUR.rollback;
  const stroke = s.kind === 'blocked' ? COLOUR.blocked : s.kind === 'bake' && s.failed ? COLOUR.rollback : '#ffffff';
  const label = s.kind === 'rollback' ? `↺ ${s.label}` : s.kind === 'deploy' && s.failed ? `✗ ${s.label}` : s.label;
  const fits = textWidth(label, 10) + 6 <= w;
  const ink = s.kind === 'blocked' ? COLOUR.ink : '#ffffff';
  const data = `data-kind="${s.kind}"${s.reason ? ` data-reason="${esc(s.reason)}"` : ''}${s.open ? ' data-open="true"' : ''}${s.failed ? ' data-failed="true"' : ''}`;
  const bar = `<rect x="${x0.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${BAR_H}" rx="2" fill="${fill}" stroke="${stroke}"${s.open ? ' stroke-dasharray="3 2"' : ''}/>`;
  const inside = fits ? text(x0 + 3, y + BAR_H - 3.5, label, `font-size="10" fill="${ink}"${s.kind === 'blocked' ? '' : ' font-weight="600"'}`) : '';
  // A rollback that is too narrow for its label still shows its sign above the bar.
  const sign = !fits && s.kind === 'rollback' ? text(x0, y - 2, '↺', `font-size="11" fill="${COLOUR.rollback}" font-weight="700"`) : '';
  return `<g class="span ${s.kind}" ${data}>${tip(s.detail)}${bar}${inside}${sign}</g>`;
};

const markShape = (m: Mark, x: number, y: number): string => {
  const st = MARK_STYLE[m.kind];
  return (
    `<g class="mark ${m.kind}" data-kind="${m.kind}">${tip(m.detail)}` +
    `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="7" fill="${st.colour}" stroke="#ffffff" stroke-width="1.5"/>` +
    text(x, y + 3.5, st.letter, 'font-size="10" font-weight="700" fill="#ffffff" text-anchor="middle"') +
    `</g>`
  );
};

const legend = (id: string, y: number): string => {
  const items: Array<[string, string]> = [
    [`<rect width="18" height="10" fill="${COLOUR.deploy}"/>`, 'deployment'],
    [`<rect width="18" height="10" fill="url(#${id}-hatch)"/>`, 'bake'],
    [`<rect width="18" height="10" fill="url(#${id}-stripes)" stroke="${COLOUR.blocked}"/>`, 'blocked (reason)'],
    [`<rect width="18" height="10" fill="${COLOUR.rollback}"/>`, '↺ rollback'],
    [`<circle cx="7" cy="5" r="6" fill="${COLOUR.alarm}"/>`, '! alarm'],
    [`<circle cx="7" cy="5" r="6" fill="${COLOUR.override}"/>`, 'O override'],
    [`<circle cx="7" cy="5" r="6" fill="${COLOUR.approval}"/>`, '? ✓ ✗ emergency'],
    [`<rect width="18" height="10" fill="none" stroke="${COLOUR.muted}" stroke-dasharray="3 2"/>`, 'dashed: still running'],
  ];
  let x = 8;
  return (
    `<g class="legend" aria-hidden="true">` +
    items
      .map(([shape, name]) => {
        const g = `<g transform="translate(${x},${y})">${shape}${text(24, 9, name, `fill="${COLOUR.muted}"`)}</g>`;
        x += 32 + textWidth(name) + 14;
        return g;
      })
      .join('') +
    `</g>`
  );
};

const rowDesc = (r: TimelineRow): string =>
  `${r.label}${r.outcome ? ` (${r.outcome})` : ''}: ${[...r.spans.map((s) => ({ at: s.startMs, d: s.detail })), ...r.marks.map((m) => ({ at: m.atMs, d: m.detail }))]
    .sort((a, b) => a.at - b.at)
    .map((x) => x.d)
    .join('; ')}.`;

/**
 * The rollout timeline of one change, as an SVG string. `now` (ISO): where spans still
 * running end (default: the change's last event).
 */
export const rolloutTimeline = (change: ChangeView, opts: { now?: string; id?: string } = {}): string => {
  const nowMs = opts.now ? Date.parse(opts.now) : undefined;
  const model = timelineModel(change.id, change.audit, { endMs: Number.isFinite(nowMs) ? nowMs : undefined, status: change.status });
  const id = opts.id ?? `timeline-${slug(change.id)}`;
  const active: Array<[number, number]> = [];
  for (const r of model.rows) {
    for (const s of r.spans) if (s.kind !== 'blocked') active.push([s.startMs, s.endMs]);
    for (const s of r.spans) if (s.kind === 'blocked') active.push([s.startMs, s.startMs], [s.endMs, s.endMs]);
    for (const m of r.marks) active.push([m.atMs, m.atMs]);
  }
  const axis = timeAxis(model.startMs, model.endMs, active, PLOT_TARGET);
  const plotX = LABEL_W;
  const width = LABEL_W + axis.width + 16 + OUTCOME_W;
  const rowsH = Math.max(model.rows.length, 1) * ROW_H;
  const axisY = TOP + rowsH + 14;
  const height = axisY + AXIS_H + LEGEND_H;
  const st = statusStyle(change.status);
  const parts: string[] = [defs(id)];
  parts.push(text(8, 20, `Change ${change.id} (${change.pipeline}) by ${change.author}: ${st.glyph} ${change.status}`, `font-size="13" font-weight="700" fill="${COLOUR.ink}"`));
  // The breaks, shaded across every row, so a folded night reads as one.
  for (const p of axis.pieces.filter((q) => q.gap)) {
    parts.push(`<rect class="gap" x="${(plotX + p.x0).toFixed(1)}" y="${TOP}" width="${(p.x1 - p.x0).toFixed(1)}" height="${rowsH}" fill="${COLOUR.panel}"/>`);
    for (const dx of [p.x0 + 4, p.x1 - 4]) parts.push(`<line x1="${(plotX + dx).toFixed(1)}" y1="${TOP}" x2="${(plotX + dx).toFixed(1)}" y2="${TOP + rowsH}" stroke="${COLOUR.grid}" stroke-dasharray="2 3"/>`);
  }
  const tk = ticks(axis);
  for (const t of tk.at) parts.push(`<line x1="${(plotX + axis.x(t)).toFixed(1)}" y1="${TOP}" x2="${(plotX + axis.x(t)).toFixed(1)}" y2="${axisY}" stroke="${COLOUR.grid}" stroke-width="0.6"/>`);
  model.rows.forEach((r, i) => {
    const y = TOP + i * ROW_H;
    const barY = y + (ROW_H - BAR_H) / 2;
    const data = `data-stage="${esc(r.stage ?? '')}"${r.region ? ` data-region="${esc(r.region)}"` : ''}`;
    const body: string[] = [];
    if (i % 2 === 1) body.push(`<rect x="0" y="${y}" width="${width}" height="${ROW_H}" fill="${COLOUR.panel}" fill-opacity="0.5"/>`);
    body.push(text(8, y + ROW_H / 2 + 4, r.label, `fill="${COLOUR.ink}"${r.region ? '' : ' font-style="italic"'}`));
    for (const s of r.spans) body.push(spanShape(id, s, plotX + axis.x(s.startMs), plotX + axis.x(s.endMs), barY));
    // Marks at one instant (a request, a refusal and an approval in the same minute) stand side by side.
    let lastMarkX = -Infinity;
    for (const m of [...r.marks].sort((a, b) => a.atMs - b.atMs)) {
      const x = Math.max(plotX + axis.x(m.atMs), lastMarkX + 15);
      body.push(markShape(m, x, y + ROW_H / 2));
      lastMarkX = x;
    }
    const outcomeColour = /rolled back|rolling back|failed/.test(r.outcome) ? COLOUR.rollback : /blocked/.test(r.outcome) ? '#9a6400' : COLOUR.muted;
    body.push(text(plotX + axis.width + 16, y + ROW_H / 2 + 4, r.outcome, `class="outcome" fill="${outcomeColour}"`));
    parts.push(`<g class="row${r.region ? '' : ' change-row'}" ${data}>${body.join('')}</g>`);
  });
  // The axis: times at ticks (the date where it changes), each break with the time it folds.
  parts.push(`<line class="axis-line" x1="${plotX}" y1="${axisY}" x2="${plotX + axis.width}" y2="${axisY}" stroke="${COLOUR.muted}"/>`);
  let lastDay = '';
  let lastX = -Infinity;
  const axisText: string[] = [];
  for (const t of tk.at.sort((a, b) => a - b)) {
    const x = plotX + axis.x(t);
    if (x - lastX < 40) continue;
    const day = clock(t).slice(5, 10);
    axisText.push(text(x, axisY + 13, hhmm(t), `text-anchor="middle" fill="${COLOUR.ink}" font-size="10"`));
    if (day !== lastDay) axisText.push(text(x, axisY + 25, day, `text-anchor="middle" fill="${COLOUR.muted}" font-size="9"`));
    lastDay = day;
    lastX = x;
  }
  // Each break says what it folds, just above the axis (the tick labels are below it).
  for (const b of tk.breaks) axisText.push(text(plotX + b.x, axisY - 4, b.label, `text-anchor="middle" fill="${COLOUR.muted}" font-size="9" font-style="italic"`));
  parts.push(`<g class="axis">${axisText.join('')}</g>`);
  parts.push(legend(id, axisY + AXIS_H));
  const regions = model.rows.filter((r) => r.region).length;
  const title = `Rollout timeline of change ${change.id}: ${change.status}, ${regions} stage-region row${regions === 1 ? '' : 's'}`;
  const desc = `Times in UTC, from ${clock(model.startMs)} to ${clock(model.endMs)}; quiet gaps are folded. ${model.rows.map(rowDesc).join(' ')}`;
  return frame({ id, width, height, title, desc, body: parts.join(''), className: 'handsoff-timeline' });
};
