/**
 * What CodePipeline V2 would bill for the same policy run the same way, read from a run's
 * stream: every deployment (and rollback deployment), every bake and every wait (a time
 * window, a blocker, a busy lane) as one action, per stage, region, unit and target as the
 * policy ran them, held for as long as it lasted, each rounded up to the minute (at least one);
 * plus the source and build actions. Bakes are actions that hold (a Lambda or Step Functions
 * action waiting out the bake), as CodePipeline has no free wait.
 */
import type { HandsoffEvent } from '../../core/events.ts';

export interface ActionMinutes {
  deploy: number;
  bake: number;
  wait: number;
  /** Source and build. */
  other: number;
  total: number;
  actions: number;
}

type Kind = 'deploy' | 'bake' | 'wait' | 'other';

const START: Record<string, Kind> = {
  'deployment.started': 'deploy',
  'rollback.started': 'deploy',
  'bake.started': 'bake',
  blocked: 'wait',
  'stage.started': 'other',
};
const END: Record<string, Kind> = {
  'deployment.succeeded': 'deploy',
  'deployment.failed': 'deploy',
  'rollback.completed': 'deploy',
  'bake.completed': 'bake',
  unblocked: 'wait',
  'stage.completed': 'other',
};
/** Stages that are one action each; the others are made of the deployments, bakes and waits inside them. */
const STAGE_ACTIONS = new Set(['source', 'build']);

const scopeKey = (kind: Kind, e: HandsoffEvent): string =>
  [kind, e.stage ?? '', e.region ?? '', e.unit ?? '', e.target ?? '', kind === 'wait' ? String(e.reason ?? '') : '', kind === 'deploy' && e.type.startsWith('rollback') ? 'rollback' : ''].join('|');

const minutes = (fromMs: number, toMs: number): number => Math.max(1, Math.ceil((toMs - fromMs) / 60_000));

/** Action minutes per change, from the stream of a run that ended at `endMs`. */
export const actionMinutes = (events: readonly HandsoffEvent[], endMs: number): Record<string, ActionMinutes> => {
  const open = new Map<string, Map<string, number>>();
  const out: Record<string, ActionMinutes> = {};
  const add = (change: string, kind: Kind, from: number, to: number): void => {
    const m = (out[change] ??= { deploy: 0, bake: 0, wait: 0, other: 0, total: 0, actions: 0 });
    const n = minutes(from, to);
    m[kind] += n;
    m.total += n;
    m.actions++;
  };
  for (const e of events) {
    const change = e.change;
    if (!change) continue;
    const t = Date.parse(e.time);
    const spans = open.get(change) ?? open.set(change, new Map()).get(change)!;
    const startKind = START[e.type];
    const endKind = END[e.type];
    if ((startKind === 'other' || endKind === 'other') && !STAGE_ACTIONS.has(String(e.stage))) continue;
    if (startKind) {
      const key = scopeKey(startKind, e);
      if (!spans.has(key)) spans.set(key, t);
    } else if (endKind) {
      const key = scopeKey(endKind, { ...e, type: e.type === 'rollback.completed' ? 'rollback.started' : e.type });
      const from = spans.get(key);
      if (from !== undefined) {
        spans.delete(key);
        add(change, endKind, from, t);
      }
    }
    // An alarm ends the bake it cut short; the rollback that follows is its own action.
    if (e.type === 'alarm.triggered') {
      const key = scopeKey('bake', e);
      const from = spans.get(key);
      if (from !== undefined) {
        spans.delete(key);
        add(change, 'bake', from, t);
      }
    }
    // A change that ends stops whatever it still held (a wait the change gave up).
    if (e.type === 'change.completed' || e.type === 'change.failed' || e.type === 'change.rejected' || e.type === 'change.superseded') {
      for (const [key, from] of spans) add(change, key.split('|')[0] as Kind, from, t);
      spans.clear();
    }
  }
  for (const [change, spans] of open) for (const [key, from] of spans) add(change, key.split('|')[0] as Kind, from, endMs);
  return out;
};
