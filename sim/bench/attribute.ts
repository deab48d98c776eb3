/**
 * Who a run's work belongs to. A handler invocation belongs to the change its payload names
 * (`change`; a bake's id; the CodeDeploy deployment of an event), or that its result names
 * (start-change), or, for an alarm event, the one change whose steps it acted on (the stream
 * events it caused). The rest is shared: the reconciler's sweeps, alarm events that touched no
 * change, the scenario's own writes, and the alarms, which exist whether changes flow or not.
 */
import { targetRegions, regionAlarmPlan } from '../../core/alarms/plan.ts';
import { HandlerName } from '../../statemachines/resources.ts';
import { HOME } from '../lambda.ts';
import type { InvocationRecord } from '../meter.ts';
import { actionMinutes, type ActionMinutes } from './codepipeline.ts';
import { addUsage, alarmMonths, billedMs, codePipelineCost, costOf, emptyUsage, gbSeconds, type Cost, type Usage } from './cost.ts';
import type { MeteredRun } from './run.ts';

/** What one change (or the shared part) did, its AWS bill, and CodePipeline's for the same policy. */
export interface Figures {
  transitions: number;
  invocations: number;
  dynamodbRequests: number;
  /** Largest execution history among its executions (estimated AWS history events). */
  largestHistory: number;
  usage: Usage;
  cost: Cost;
  codePipeline?: ActionMinutes & { cost: number };
}

export const SHARED = '(shared)';

const record = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** A bake's id is `pipeline#change#stage#region#scope` (lambdas/shared/bakes.ts, bakeIdOf). */
export const changeOfBakeId = (bakeId: string): string | undefined => str(bakeId.split('#')[1]);

/** The change an invocation belongs to, or undefined (shared). */
export const changeOf = (inv: InvocationRecord, deployments: ReadonlyMap<string, string>): string | undefined => {
  if (inv.handler === HandlerName.RECONCILE) return undefined;
  const payload = record(inv.payload);
  const direct = str(payload?.change) ?? str(record(inv.result)?.change);
  if (direct) return direct;
  const bakeId = str(payload?.bakeId);
  if (bakeId) return changeOfBakeId(bakeId);
  const deploymentId = str(record(payload?.detail)?.deploymentId);
  if (deploymentId && deployments.has(deploymentId)) return deployments.get(deploymentId);
  const caused = new Set(inv.events.map((e) => e.change).filter((c): c is string => typeof c === 'string'));
  return caused.size === 1 ? [...caused][0] : undefined;
};

/** What one invocation used, in billed units (its GB-seconds modelled from its AWS requests). */
const usageOf = (inv: InvocationRecord, counted: boolean): Usage => {
  const u = emptyUsage();
  const requests = Object.values(inv.requests).reduce((a, b) => a + b, 0);
  u.readUnits = inv.dynamo.readUnits;
  u.writeUnits = inv.dynamo.writeUnits;
  u.metricsRequested = inv.metricsRequested;
  u.events = inv.eventsPublished;
  if (!counted) return u;
  u.invocations = 1;
  u.lambdaGbSeconds = gbSeconds(billedMs(requests));
  const payload = record(inv.payload);
  // The Scheduler bills each schedule that fires; a retry of its target is Lambda's, not a new invocation.
  if (inv.handler === HandlerName.BAKE_END && inv.firstDelivery) u.schedulerInvocations = 1;
  // An AWS event from a target region reaches the home bus through a cross-region rule target.
  const aws = str(payload?.source)?.startsWith('aws.') && (inv.handler === HandlerName.ON_ALARM_EVENT || inv.handler === HandlerName.ON_DEPLOYMENT_EVENT);
  if (aws && inv.firstDelivery && str(payload?.region) !== HOME) u.events += 1;
  return u;
};

const blank = (): Omit<Figures, 'cost'> => ({ transitions: 0, invocations: 0, dynamodbRequests: 0, largestHistory: 0, usage: emptyUsage() });

/** Per change and shared figures of a run; `total` is their sum (it equals the run's `stats`). */
export const attribute = (run: MeteredRun): { changes: Record<string, Figures>; shared: Figures; total: Figures } => {
  const deployments = new Map<string, string>();
  for (const e of run.events) {
    if (typeof e.change === 'string' && typeof e.deploymentId === 'string') deployments.set(e.deploymentId, e.change);
  }
  const parts: Record<string, Omit<Figures, 'cost'>> = {};
  for (const c of run.scenario.changes) parts[c.id] = blank();
  const partOf = (change: string | undefined) => (parts[change && parts[change] ? change : SHARED] ??= blank());
  for (const inv of run.invocations) {
    const change = changeOf(inv, deployments);
    // Every invocation of an event handler for a deployment first seen later: map it now.
    for (const e of inv.events) if (change && typeof e.deploymentId === 'string' && !deployments.has(e.deploymentId)) deployments.set(e.deploymentId, change);
    const p = partOf(change);
    p.invocations++;
    p.dynamodbRequests += inv.dynamo.requests;
    p.usage = addUsage(p.usage, usageOf(inv, true));
  }
  const shared = partOf(undefined);
  shared.dynamodbRequests += run.outside.dynamo.requests;
  shared.usage = addUsage(shared.usage, usageOf(run.outside, false));
  for (const [change, n] of Object.entries(run.result.stats.transitions)) {
    const p = partOf(change);
    p.transitions += n;
    p.usage.transitions += n;
  }
  for (const h of run.histories) {
    const p = partOf(h.change);
    p.largestHistory = Math.max(p.largestHistory, h.events);
  }
  // The alarms of every target region, for the run's virtual length.
  const plan = targetRegions(run.pipelines).flatMap((r) => regionAlarmPlan(run.pipelines, r));
  const seconds = (Date.parse(run.result.stats.virtualEnd) - run.scenario.start) / 1000;
  Object.assign(shared.usage, alarmMonths(plan, seconds));

  const minutes = actionMinutes(run.events, Date.parse(run.result.stats.virtualEnd));
  const done = (p: Omit<Figures, 'cost'>, change?: string): Figures => {
    const m = change ? minutes[change] : undefined;
    return { ...p, cost: costOf(p.usage), ...(m ? { codePipeline: { ...m, cost: codePipelineCost(m.total) } } : {}) };
  };
  const changes = Object.fromEntries(Object.entries(parts).filter(([c]) => c !== SHARED).map(([c, p]) => [c, done(p, c)]));
  const total = Object.values(parts).reduce(
    (a, p) => ({
      transitions: a.transitions + p.transitions,
      invocations: a.invocations + p.invocations,
      dynamodbRequests: a.dynamodbRequests + p.dynamodbRequests,
      largestHistory: Math.max(a.largestHistory, p.largestHistory),
      usage: addUsage(a.usage, p.usage),
    }),
    blank(),
  );
  const cp: ActionMinutes = { deploy: 0, bake: 0, wait: 0, other: 0, total: 0, actions: 0 };
  for (const m of Object.values(minutes)) for (const k of Object.keys(cp) as Array<keyof ActionMinutes>) cp[k] += m[k];
  return { changes, shared: done(shared), total: { ...done(total), codePipeline: { ...cp, cost: codePipelineCost(cp.total) } } };
};
