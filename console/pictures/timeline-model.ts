/**
 * A change's rollout as rows and spans, from its audit events (the stream's vocabulary,
 * docs/simulation.md): one row per stage and region it reached (pre-production stages in
 * their region, then each production region), and a first row for what concerns the change
 * as a whole (lane and emergency holds, requests and decisions). Spans are deployments
 * (one-box, each unit), bakes, blocked waits with their reason, and rollbacks; marks are
 * instants (alarms, overrides, approvals, bake extensions, the outcome). A span the stream
 * has not closed yet runs to `endMs` and is `open`.
 */
import type { HandsoffEvent } from '../../core/events.ts';
import { duration, hhmm, isoDurationMs } from './svg.ts';

export type SpanKind = 'deploy' | 'bake' | 'blocked' | 'rollback';
export type MarkKind = 'received' | 'alarm' | 'override' | 'override-expired' | 'requested' | 'granted' | 'denied' | 'extended' | 'completed' | 'failed' | 'superseded' | 'rejected';

export interface Span {
  kind: SpanKind;
  startMs: number;
  endMs: number;
  /** Not closed by the stream (yet). */
  open: boolean;
  /** Short, drawn inside the span when it fits. */
  label: string;
  /** Whole sentence: the span's tooltip and its line in the description. */
  detail: string;
  /** deploy: the deployment failed; bake: a rollback cut it short. */
  failed?: boolean;
  /** blocked: the reason (`time-window`, `team-alarm`, ...). */
  reason?: string;
}

export interface Mark {
  kind: MarkKind;
  atMs: number;
  detail: string;
}

export interface TimelineRow {
  /** null: the change-wide row. */
  stage: string | null;
  region: string | null;
  label: string;
  spans: Span[];
  marks: Mark[];
  /** What the row came to, in words (`done: one-box and 6 units`, `rolled back`, `blocked: time-window`). */
  outcome: string;
}

export interface TimelineModel {
  change: string;
  startMs: number;
  endMs: number;
  rows: TimelineRow[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const targetName = (e: HandsoffEvent): string =>
  e.unit ? String(e.unit) : e.target === 'onebox' ? 'one-box' : e.target === 'fleet' ? 'fleet' : e.stage && !e.region ? `${e.stage} (the wave)` : 'deployment';
const slot = (e: HandsoffEvent): string => `${e.target ?? ''}|${e.unit ?? ''}`;
const who = (e: HandsoffEvent): string => (str(e.by) ? ` by ${e.by}` : '');
const why = (e: HandsoffEvent): string => (str(e.reason) ? `: ${e.reason}` : '');

interface Building extends TimelineRow {
  openDeploy: Map<string, Span>;
  openBake: Map<string, Span>;
  openBlocked: Map<string, Span>;
  openRollback: Map<string, Span>;
}

const newRow = (stage: string | null, region: string | null): Building => ({
  stage,
  region,
  label: region === null ? 'change' : stage ? `${stage} · ${region}` : region,
  spans: [],
  marks: [],
  outcome: '',
  openDeploy: new Map(),
  openBake: new Map(),
  openBlocked: new Map(),
  openRollback: new Map(),
});

/** Closes a span at `ms`, with the detail that says how it ended. */
const close = (span: Span, ms: number, ending: string): void => {
  span.endMs = ms;
  span.open = false;
  span.detail = `${span.detail}, ${hhmm(span.startMs)} to ${hhmm(ms)} (${duration(ms - span.startMs)})${ending}`;
};

const outcomeOf = (row: Building): string => {
  const rollbacks = row.spans.filter((s) => s.kind === 'rollback');
  if (rollbacks.length) return rollbacks.some((s) => s.open) ? 'rolling back' : 'rolled back';
  const blocked = row.spans.find((s) => s.kind === 'blocked' && s.open);
  if (blocked) return `blocked: ${blocked.reason}`;
  if (row.spans.some((s) => s.kind === 'deploy' && s.failed)) return 'deployment failed';
  if (row.spans.some((s) => s.open)) return 'in progress';
  const deploys = row.spans.filter((s) => s.kind === 'deploy');
  if (deploys.length === 0) return row.spans.length ? 'waited' : '';
  const units = deploys.filter((s) => s.label !== 'one-box').length;
  const onebox = deploys.length > units;
  return `done: ${[onebox ? 'one-box' : '', units ? `${units} ${units === 1 ? 'unit' : 'units'}` : ''].filter(Boolean).join(' and ')}`;
};

/**
 * The model of a change's timeline. `endMs`: where open spans end (the console passes its
 * `now`); default the last event's time.
 */
export const timelineModel = (change: string, audit: readonly HandsoffEvent[], opts: { endMs?: number; status?: string } = {}): TimelineModel => {
  const events = audit.filter((e) => !String(e.type).startsWith('world.') && e.type !== 'simulation.finished');
  const times = events.map((e) => Date.parse(e.time)).filter((t) => Number.isFinite(t));
  const startMs = times.length ? Math.min(...times) : (opts.endMs ?? 0);
  const endMs = Math.max(opts.endMs ?? -Infinity, times.length ? Math.max(...times) : startMs);
  const rows = new Map<string, Building>();
  const changeRow = newRow(null, null);
  rows.set('change', changeRow);
  const lastOfRegion = new Map<string, Building>();
  const rowOf = (e: HandsoffEvent): Building => {
    const region = str(e.region);
    if (!region) return changeRow;
    const stage = str(e.stage);
    if (!stage) return lastOfRegion.get(region) ?? rowFor(null, region);
    return rowFor(stage, region);
  };
  const rowFor = (stage: string | null, region: string): Building => {
    const key = `${stage ?? ''}|${region}`;
    let row = rows.get(key);
    if (!row) rows.set(key, (row = newRow(stage, region)));
    lastOfRegion.set(region, row);
    return row;
  };

  for (const e of events) {
    const at = Date.parse(e.time);
    if (!Number.isFinite(at)) continue;
    const row = rowOf(e);
    const where = e.region ? ` in ${e.region}` : e.stage ? ` at ${e.stage}` : '';
    const mark = (kind: MarkKind, detail: string) => row.marks.push({ kind, atMs: at, detail: `${hhmm(at)} ${detail}` });
    switch (e.type) {
      case 'change.received':
        mark('received', `received${str(e.author) ? ` from ${e.author}` : ''}`);
        break;
      case 'deployment.started': {
        const span: Span = { kind: 'deploy', startMs: at, endMs: at, open: true, label: targetName(e), detail: `deployment of ${targetName(e)}${where}${str(e.deploymentId) ? ` (${e.deploymentId})` : ''}` };
        row.spans.push(span);
        row.openDeploy.set(str(e.deploymentId) ?? slot(e), span);
        break;
      }
      case 'deployment.succeeded':
      case 'deployment.failed': {
        const key = str(e.deploymentId) ?? slot(e);
        const span = row.openDeploy.get(key) ?? [...row.openDeploy.values()].find((s) => s.label === targetName(e));
        if (!span) break;
        row.openDeploy.delete([...row.openDeploy].find(([, s]) => s === span)![0]);
        if (e.type === 'deployment.failed') span.failed = true;
        close(span, at, e.type === 'deployment.failed' ? `, failed${why(e)}` : ', succeeded');
        break;
      }
      case 'bake.started': {
        const ms = isoDurationMs(e.duration);
        const span: Span = { kind: 'bake', startMs: at, endMs: at, open: true, label: `${e.stage && !e.region ? `${e.stage} ` : ''}bake${ms ? ` ${duration(ms)}` : ''}`, detail: `bake of ${targetName(e)}${where}${ms ? `, planned ${duration(ms)}` : ''}` };
        row.spans.push(span);
        row.openBake.set(slot(e), span);
        break;
      }
      case 'bake.extended':
        mark('extended', `bake of ${targetName(e)} extended${why(e)}`);
        break;
      case 'bake.completed': {
        const span = row.openBake.get(slot(e));
        if (span) {
          row.openBake.delete(slot(e));
          close(span, at, ', completed');
        }
        break;
      }
      case 'blocked': {
        const reason = str(e.reason) ?? 'unknown';
        const key = `${reason}|${slot(e)}`;
        if (row.openBlocked.has(key)) break;
        const until = str(e.until) ? ` (until ${hhmm(Date.parse(String(e.until)))})` : '';
        const span: Span = { kind: 'blocked', startMs: at, endMs: at, open: true, reason, label: reason, detail: `blocked by ${reason}${where}${until}` };
        row.spans.push(span);
        row.openBlocked.set(key, span);
        break;
      }
      case 'unblocked': {
        const reason = str(e.reason) ?? 'unknown';
        // A step that starts because an override sets its blocker aside says whose override it was.
        const o = e.override as { by?: unknown; reason?: unknown; blocker?: unknown } | undefined;
        if (o && typeof o === 'object') mark('override', `${targetName(e)}${where} starts under the override of ${String(o.blocker ?? reason)}${str(o.by) ? ` by ${o.by}` : ''}${str(o.reason) ? `: ${o.reason}` : ''}`);
        const key = `${reason}|${slot(e)}`;
        const entry = row.openBlocked.has(key) ? ([key, row.openBlocked.get(key)!] as const) : [...row.openBlocked].find(([, s]) => s.reason === reason);
        if (!entry) break;
        row.openBlocked.delete(entry[0]);
        close(entry[1], at, ', then unblocked');
        break;
      }
      case 'alarm.triggered':
        mark('alarm', `alarm ${String(e.alarm ?? e.alarmName ?? '')} on ${targetName(e)}${e.detectedBy ? ` (seen by ${e.detectedBy})` : ''}`);
        break;
      case 'rollback.started': {
        // A rollback stops what runs there: the deployment it names and the bake.
        for (const [k, s] of row.openBake) {
          s.failed = true;
          close(s, at, ', cut short by the rollback');
          row.openBake.delete(k);
        }
        for (const [k, s] of row.openDeploy) {
          s.failed = true;
          close(s, at, ', stopped by the rollback');
          row.openDeploy.delete(k);
        }
        const span: Span = { kind: 'rollback', startMs: at, endMs: at, open: true, failed: true, label: 'rollback', detail: `rollback of ${targetName(e)}${where} to ${String(e.revision ?? 'the previous revision')}${why(e)}` };
        row.spans.push(span);
        row.openRollback.set(slot(e), span);
        break;
      }
      case 'rollback.completed': {
        const span = row.openRollback.get(slot(e)) ?? [...row.openRollback.values()][0];
        if (!span) break;
        row.openRollback.delete([...row.openRollback].find(([, s]) => s === span)![0]);
        close(span, at, ', completed');
        break;
      }
      case 'override.applied':
        mark('override', `override of ${String(e.blocker ?? 'a blocker')}${where}${who(e)}${why(e)}${str(e.expires) ? `, until ${e.expires}` : ''}`);
        break;
      case 'override.expired':
        mark('override-expired', `override of ${String(e.blocker ?? 'a blocker')}${where} expired`);
        break;
      case 'approval.requested':
        mark('requested', `emergency requested${who(e)}${why(e)}`);
        break;
      case 'approval.granted':
        mark('granted', `emergency approved${who(e)}${why(e)}`);
        break;
      case 'approval.denied':
        mark('denied', `emergency denied${who(e)}${why(e)}`);
        break;
      case 'change.completed':
        mark('completed', `completed${str(e.leadTime) ? `, lead time ${duration(isoDurationMs(e.leadTime) ?? 0)}` : ''}`);
        break;
      case 'change.failed':
        mark('failed', `failed${where}${why(e)}`);
        break;
      case 'change.superseded':
        mark('superseded', `superseded${str(e.by) ? ` by ${e.by}` : ''}`);
        break;
      case 'change.rejected':
        mark('rejected', `rejected${why(e)}`);
        break;
      default:
        break;
    }
  }

  for (const row of rows.values()) {
    for (const s of row.spans) if (s.open) s.detail = `${s.detail}, since ${hhmm(s.startMs)} (${duration(endMs - s.startMs)} so far)`;
    for (const s of row.spans) if (s.open) s.endMs = endMs;
    row.outcome = row === changeRow ? (opts.status ?? '') : outcomeOf(row);
  }
  const out: TimelineRow[] = [...rows.values()]
    .filter((r) => r !== changeRow || r.spans.length || r.marks.length)
    .map(({ stage, region, label, spans, marks, outcome }) => ({ stage, region, label, spans, marks, outcome }));
  return { change, startMs, endMs, rows: out };
};
