/**
 * The report of a finished run (`handsoff simulate --report FILE.html`, docs/console-pages.md):
 * one self-contained HTML file, with inline CSS and inline SVG and no script, to attach to a
 * CI run or a design review. It holds the pipeline graph at the end of the run, the outcome
 * table of `simulation.finished`, and for every change its rollout timeline and its decisions
 * (blocks, overrides, emergency requests and decisions, alarms and rollbacks, with who, when
 * and why). Drawn from the same fold and pictures as the console's page.
 */
import type { HandsoffEvent } from '../core/events.ts';
import type { PipelineView } from './api.ts';
import { pipelineGraph, rolloutTimeline } from './pictures/index.ts';
import { esc, isoDurationMs, duration, statusStyle } from './pictures/svg.ts';
import { foldChange, foldState } from './state.ts';
import { documentStart } from './styles.ts';

/** The events that are decisions, kept in the report's audit tables (deployments and bakes are in the timeline). */
const DECISIONS = new Set([
  'change.received',
  'change.rejected',
  'change.superseded',
  'change.completed',
  'change.failed',
  'blocked',
  'unblocked',
  'alarm.triggered',
  'rollback.started',
  'rollback.completed',
  'override.applied',
  'override.expired',
  'approval.requested',
  'approval.granted',
  'approval.denied',
]);

interface Outcome {
  status?: string;
  leadTime?: string | null;
  failedRequests?: number;
  regionsReached?: string[];
  boxesAtEnd?: number;
}

const when = (iso: string): string => esc(iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'));

const outcomeTable = (outcomes: Record<string, Outcome>, authors: Map<string, string>): string => {
  const rows = Object.entries(outcomes).map(([id, o]) => {
    const st = statusStyle(o.status ?? '');
    const lead = o.leadTime ? `${esc(o.leadTime)} (${esc(duration(isoDurationMs(o.leadTime) ?? 0))})` : '-';
    return `<tr data-change="${esc(id)}"><td><a href="#change-${esc(id)}">${esc(id)}</a></td><td>${esc(authors.get(id) ?? '')}</td><td class="status status-${esc(o.status ?? '')}">${esc(st.glyph)} ${esc(o.status ?? '')}</td><td>${lead}</td><td class="num">${esc(o.failedRequests ?? '-')}</td><td class="num">${esc(o.regionsReached?.length ?? '-')}</td><td class="num">${esc(o.boxesAtEnd ?? '-')}</td></tr>`;
  });
  return `<table class="outcomes"><thead><tr><th>Change</th><th>Author</th><th>Status</th><th>Lead time</th><th>Failed requests</th><th>Regions reached</th><th>Boxes at end</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
};

const auditTable = (audit: readonly HandsoffEvent[]): string => {
  const rows = audit
    .filter((e) => DECISIONS.has(e.type))
    .map((e) => {
      const who = typeof e.by === 'string' ? e.by : typeof e.author === 'string' ? e.author : '';
      const why = typeof e.reason === 'string' ? e.reason : typeof e.alarm === 'string' ? e.alarm : '';
      const where = [e.stage, e.region, e.unit ?? (e.target === 'onebox' ? 'one-box' : undefined)].filter(Boolean).join(' · ');
      return `<tr data-type="${esc(e.type)}"><td>${when(e.time)}</td><td>${esc(e.type)}</td><td>${esc(who)}</td><td>${esc(why)}</td><td>${esc(where)}</td></tr>`;
    });
  return `<table class="audit"><thead><tr><th>Time (UTC)</th><th>Event</th><th>Who</th><th>Why</th><th>Where</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
};

/** The report's HTML, from a run's whole stream and its pipelines. */
export const reportHtml = ({ events, pipelines, title = 'handsoff simulation report' }: { events: readonly HandsoffEvent[]; pipelines: readonly PipelineView[]; title?: string }): string => {
  const finished = [...events].reverse().find((e) => e.type === 'simulation.finished');
  const endMs = Date.parse(finished?.time ?? events[events.length - 1]?.time ?? new Date(0).toISOString());
  const state = foldState({ events, pipelines, nowMs: endMs });
  const outcomes = (finished?.changes ?? {}) as Record<string, Outcome>;
  const ids = [...new Set([...state.changes.map((c) => c.id), ...Object.keys(outcomes)])];
  const authors = new Map(state.changes.map((c) => [c.id, c.author]));
  const changes = ids.map((id) => {
    const c = foldChange(events, id);
    if (!c) return '';
    const status = outcomes[id]?.status ?? c.status;
    const view = { ...c, status: status as typeof c.status };
    return `<section class="change" id="change-${esc(id)}" aria-labelledby="change-${esc(id)}-h">
<h2 id="change-${esc(id)}-h">Change ${esc(id)} <span class="status status-${esc(status)}">${esc(statusStyle(status).glyph)} ${esc(status)}</span></h2>
<p class="muted">${esc(c.pipeline)}, by ${esc(c.author)}${c.emergency ? `; emergency ${esc(c.emergency)}` : ''}</p>
<div class="picture">${rolloutTimeline(view, { now: new Date(endMs).toISOString() })}</div>
<h3>Decisions</h3>
${auditTable(c.audit)}
</section>`;
  });
  const stats = finished?.stats as Record<string, unknown> | undefined;
  return `${documentStart(
    title,
    `
section.change { margin-top: 28px; border-top: 1px solid var(--line); }
h3 { font-size: 14px; margin: 14px 0 4px; }
`,
  )}
<header><span class="brand">${esc(title)}</span><span class="muted">${esc(pipelines.map((p) => p.name).join(', '))}; ${when(events[0]?.time ?? '')} to ${when(new Date(endMs).toISOString())}</span></header>
<main>
<h1>Outcome</h1>
${outcomeTable(outcomes, authors)}
${stats ? `<p class="muted">AWS-side work of the run: ${Object.entries(stats).map(([k, v]) => `${esc(k)} ${esc(typeof v === 'object' ? JSON.stringify(v) : v)}`).join(', ')}.</p>` : ''}
<h1>Pipelines at the end of the run</h1>
<div class="picture">${pipelineGraph(state)}</div>
<h1>Changes</h1>
${changes.join('\n')}
</main>
</body>
</html>
`;
};
