/**
 * What the console shows, folded from the event stream (docs/simulation.md's vocabulary):
 * each change's status, where it is, what holds it and its emergency state; the blockers
 * that hold now and the overrides that set them aside; a change's audit trail. Pure: the
 * same events give the same view, locally and on AWS.
 *
 * Blockers come from the world's own record of its alarms (`world.alarm`, scope `team` or
 * `company`): that is whether the alarm holds, seen or not yet seen by a gate. A time window
 * is no alarm: it holds a region while a gate says so (`blocked` with `time-window` not yet
 * `unblocked`).
 */
import { EventType, type HandsoffEvent } from '../core/events.ts';
import { DenyReason, FINAL_STATUS_OF_EVENT, overrideInRegion, type EmergencyState } from '../core/operators.ts';
import { consolePipeline } from '../core/console.ts';
import type { ResolvedPipeline } from '../core/model.ts';
import type { BlockerView, ChangeStatus, ChangeSummaryView, ChangeView, PipelineView, StateView } from './api.ts';

export interface FoldInput {
  events: readonly HandsoffEvent[];
  pipelines: readonly PipelineView[];
  /** Now, epoch ms (virtual time locally). */
  nowMs: number;
}

/** The pipelines' stages and waves as the console draws them (core/console.ts consolePipeline, without the team). */
export const pipelineView = (p: ResolvedPipeline): PipelineView => {
  const { name, waves } = consolePipeline(p);
  return { name, waves };
};

const FINAL: Partial<Record<string, ChangeStatus>> = FINAL_STATUS_OF_EVENT;
const REFUSALS: readonly string[] = Object.values(DenyReason);

interface Tracked extends ChangeSummaryView {
  /** Open holds, by gate (stage, region, target, reason). */
  holds: Map<string, HandsoffEvent>;
  started: boolean;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Folds every change of the stream (in order of arrival). */
const foldChanges = (events: readonly HandsoffEvent[]): Map<string, Tracked> => {
  const changes = new Map<string, Tracked>();
  for (const e of events) {
    if (!e.change || e.type.startsWith('world.')) continue;
    let c = changes.get(e.change);
    if (!c) {
      c = { id: e.change, pipeline: e.pipeline ?? '', author: '', status: 'waiting', stage: null, region: null, emergency: null, blocked: null, holds: new Map(), started: false };
      changes.set(e.change, c);
    }
    if (e.type === EventType.CHANGE_RECEIVED) c.author = str(e.author) ?? c.author;
    const final = FINAL[e.type];
    if (final) {
      c.status = final;
      c.holds.clear();
      if (e.type === EventType.CHANGE_FAILED) {
        c.stage = str(e.stage) ?? c.stage;
        c.region = str(e.region) ?? c.region;
      }
      continue;
    }
    if (e.type === EventType.APPROVAL_REQUESTED) c.emergency = 'requested';
    else if (e.type === EventType.APPROVAL_GRANTED) c.emergency = 'approved';
    // A refused decider (not an approver, self-approval) changes nothing; an approver's no does.
    else if (e.type === EventType.APPROVAL_DENIED && !REFUSALS.includes(String(e.reason))) c.emergency = 'denied' as EmergencyState;
    const key = [e.stage, e.region, e.target, e.reason].join('|');
    if (e.type === EventType.BLOCKED) c.holds.set(key, e);
    else if (e.type === EventType.UNBLOCKED) c.holds.delete(key);
    // Where it is: its latest stage, and the latest region in that stage (a failed change
    // stays where it failed, whatever its rollbacks touch after).
    if (c.status === 'failed' || typeof e.stage !== 'string') continue;
    if (e.type === EventType.STAGE_STARTED || e.type === EventType.DEPLOYMENT_STARTED) c.started = true;
    if (e.stage !== c.stage) {
      c.stage = e.stage;
      c.region = str(e.region) ?? null;
    } else if (typeof e.region === 'string') c.region = e.region;
  }
  for (const c of changes.values()) {
    if (c.status === 'waiting' || c.status === 'in-flight') {
      const hold = [...c.holds.values()].pop();
      c.status = hold || !c.started ? 'waiting' : 'in-flight';
      c.blocked = hold ? { reason: String(hold.reason), ...(str(hold.until) ? { until: str(hold.until)! } : {}), since: hold.time, stage: str(hold.stage) ?? null, region: str(hold.region) ?? null } : null;
    }
  }
  return changes;
};

const summary = (c: Tracked): ChangeSummaryView => ({
  id: c.id,
  pipeline: c.pipeline,
  author: c.author,
  status: c.status,
  stage: c.stage,
  region: c.region,
  emergency: c.emergency,
  blocked: c.blocked,
});

type OverrideShown = NonNullable<BlockerView['override']> & { blocker: string; region?: string; at: string };

/** The overrides in force at `nowMs`: applied, neither expired by an event nor past `expires`. */
const activeOverrides = (events: readonly HandsoffEvent[], nowMs: number): OverrideShown[] => {
  const byKey = new Map<string, OverrideShown>();
  const keyOf = (e: HandsoffEvent) => str(e.override) ?? [e.blocker, e.region, e.pipeline, e.change, e.by, e.expires].join('|');
  for (const e of events) {
    if (e.type === EventType.OVERRIDE_APPLIED) {
      byKey.set(keyOf(e), {
        blocker: String(e.blocker),
        ...(str(e.region) ? { region: str(e.region)! } : {}),
        by: String(e.by),
        reason: String(e.reason),
        expires: String(e.expires),
        ...(str(e.pipeline) ? { pipeline: str(e.pipeline)! } : {}),
        ...(str(e.change) ? { change: str(e.change)! } : {}),
        at: e.time,
      });
    } else if (e.type === 'override.expired') byKey.delete(keyOf(e));
  }
  return [...byKey.values()].filter((o) => nowMs < Date.parse(o.expires));
};

const BLOCKER_OF_SCOPE: Record<string, string> = { company: 'company-event', team: 'team-alarm' };

/** The blockers that hold now (and those an override in force sets aside). */
const foldBlockers = (events: readonly HandsoffEvent[], changes: Map<string, Tracked>, nowMs: number): BlockerView[] => {
  const alarms = new Map<string, { blocker: string; region: string; team?: string; state: string }>();
  for (const e of events) {
    if (e.type !== EventType.WORLD_ALARM) continue;
    const blocker = BLOCKER_OF_SCOPE[String(e.scope)];
    if (!blocker || typeof e.region !== 'string') continue;
    alarms.set(String(e.alarm), { blocker, region: e.region, ...(str(e.team) ? { team: str(e.team)! } : {}), state: String(e.state) });
  }
  const shown: Array<Omit<BlockerView, 'override'> & { team?: string }> = [...alarms.values()].filter((a) => a.state !== 'OK');
  const windows = new Set<string>();
  for (const c of changes.values()) {
    for (const hold of c.holds.values()) {
      if (hold.reason === 'time-window' && typeof hold.region === 'string') windows.add(hold.region);
    }
  }
  for (const region of [...windows].sort()) shown.push({ blocker: 'time-window', region, state: 'ALARM' });
  const overrides = activeOverrides(events, nowMs);
  const out: BlockerView[] = shown.map((b) => {
    // A region's row: an override for its blocker and region (core/operators.ts), whatever pipeline or change it names (the row shows them).
    const o = overrides.find((x) => b.region !== null && overrideInRegion(x, b.blocker, b.region, nowMs));
    return { ...b, override: o ? overrideOf(o) : null };
  });
  // An override in force for a blocker that does not hold now is shown too: people see what is set aside.
  for (const o of overrides) {
    if (out.some((b) => b.override && sameOverride(b.override, o))) continue;
    out.push({ blocker: o.blocker, region: o.region ?? null, state: 'OK', override: overrideOf(o) });
  }
  return out;
};

const overrideOf = (o: OverrideShown): NonNullable<BlockerView['override']> => ({
  by: o.by,
  reason: o.reason,
  expires: o.expires,
  ...(o.pipeline ? { pipeline: o.pipeline } : {}),
  ...(o.change ? { change: o.change } : {}),
});
const sameOverride = (a: NonNullable<BlockerView['override']>, b: OverrideShown): boolean =>
  a.by === b.by && a.reason === b.reason && a.expires === b.expires && a.pipeline === b.pipeline && a.change === b.change;

/** `GET /api/state`. */
export const foldState = ({ events, pipelines, nowMs }: FoldInput): StateView => {
  const changes = foldChanges(events);
  return {
    now: new Date(nowMs).toISOString(),
    pipelines: pipelines.map((p) => ({ name: p.name, waves: p.waves.map((w) => ({ name: w.name, regions: [...w.regions] })) })),
    changes: [...changes.values()].map(summary),
    blockers: foldBlockers(events, changes, nowMs),
  };
};

/**
 * Whether `e` is an override event whose scope covers change `id` of `pipeline`: one of the
 * change itself, or of its pipeline, or of every pipeline (no change named).
 */
export const overrideConcernsChange = (e: HandsoffEvent, id: string, pipeline: string | undefined): boolean =>
  (e.type === EventType.OVERRIDE_APPLIED || e.type === EventType.OVERRIDE_EXPIRED) &&
  (e.change === undefined || e.change === id) &&
  (e.pipeline === undefined || pipeline === undefined || pipeline === '' || e.pipeline === pipeline);

/**
 * `GET /api/changes/{id}`: undefined when the stream never named that change. Its audit: every
 * event of the change, and the overrides that concern it (overrideConcernsChange).
 */
export const foldChange = (events: readonly HandsoffEvent[], id: string): ChangeView | undefined => {
  const c = foldChanges(events).get(id);
  if (!c) return undefined;
  return { ...summary(c), audit: events.filter((e) => !e.type.startsWith('world.') && (e.change === id || overrideConcernsChange(e, id, c.pipeline))) };
};
