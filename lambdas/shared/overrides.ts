/**
 * Overrides of blockers (core/operators.ts rules), on AWS and in the simulator alike:
 * - applyOverride checks the request (400 with every problem), resolves the pipeline of a
 *   change it names without one (the changes table), writes it unannounced (a conditional put
 *   by overrideId: a retried request is one override), publishes `override.applied`,
 *   schedules its expiry (a one-time Scheduler schedule invoking the operator handler with
 *   `expire-override`), marks it announced (from then on it counts), and wakes the waits it
 *   concerns at once.
 * - Answers: `error` is the message that says what to fix, `reason` the machine code.
 * - expireOverride publishes `override.expired`, once. Nothing else needs to happen at expiry:
 *   gates and alarm judges read `expires` (lambdas/shared/operator-reads.ts).
 */
import { createHash } from 'node:crypto';
import { PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { z } from 'zod';
import { EventType } from '../../core/events.ts';
import { companyEventAlarmName, isTeamAggregateAlarmName } from '../../core/naming.ts';
import { overrideKey, type OverrideItem } from '../../core/operator-items.ts';
import { overrideApplies, overrideId, overrideProblems, type FieldProblem, type OperatorResult, type OverrideAction, type OverrideRequest } from '../../core/operators.ts';
import { CHANGE_STARTED_SK } from '../../core/tables.ts';
import type { BlockerResult, HoldResult } from '../../core/contracts.ts';
import { clients } from './clients.ts';
import { env, ENV } from './config.ts';
import { clean, conditionalWrite, conflictingItem, getItem, isConditionalCheckFailed, queryAll } from './dynamo.ts';
import { nowIso } from './duration.ts';
import { createOneTimeSchedule } from './schedules.ts';
import { blockerStillHolds } from './gate.ts';
import { logger } from './logger.ts';
import { publish } from './publish.ts';
import { OPEN_SHARD, OPEN_SHARD_ATTRIBUTE, OPEN_WAITERS_INDEX, table, WaiterKind, WaiterStatus, type BakeWaiter, type Waiter } from './tables.ts';
import { deliver, finishWaiter } from './waiters.ts';

/** The operator handler's internal input at an override's expiry (its schedule's target input). */
export interface ExpireOverrideInput {
  action: 'expire-override';
  id: string;
}

/** An override item is kept this long after it expires (TTL), for the console's history. */
const KEEP_AFTER_EXPIRY_SECONDS = 7 * 86_400;

/** A schedule may fire a little early; an expiry is not taken before `expires` less this. */
const EARLY_TOLERANCE_MS = 1000;

/** Scheduler names: [0-9a-zA-Z-_.], at most 64 characters. */
export const expiryScheduleName = (id: string): string => `handsoff-override-${createHash('sha256').update(id).digest('hex').slice(0, 40)}`;

/** The scope of an override as events carry it (only the fields it names). */
const scopeOf = (o: OverrideRequest): Record<string, string> => ({
  ...(o.pipeline ? { pipeline: o.pipeline } : {}),
  ...(o.change ? { change: o.change } : {}),
  ...(o.region ? { region: o.region } : {}),
});

const overrideEvent = (type: string, o: OverrideItem) => ({
  type,
  ...scopeOf(o),
  override: o.id,
  blocker: o.blocker,
  by: o.by,
  reason: o.reason,
  expires: o.expires,
});

const scheduleExpiry = async (o: OverrideItem): Promise<void> => {
  const input: ExpireOverrideInput = { action: 'expire-override', id: o.id };
  // 'exists': an earlier attempt scheduled it.
  await createOneTimeSchedule({ name: expiryScheduleName(o.id), at: Date.parse(o.expires), description: `handsoff override expiry ${o.id}`, functionArn: env(ENV.OPERATOR_FUNCTION_ARN), input });
};

/** Sets `attribute` once (conditional): true for the caller that set it. */
const markOnce = (id: string, attribute: string): Promise<boolean> =>
  conditionalWrite(
    new UpdateCommand({
      TableName: table.operators(),
      Key: overrideKey(id),
      UpdateExpression: 'SET #a = :now',
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#a)',
      ExpressionAttributeNames: { '#a': attribute },
      ExpressionAttributeValues: { ':now': nowIso() },
    }),
  );

/**
 * The overridable blocker that closes an open blocker wait: its region's company event or its
 * team's aggregate, in ALARM (a missing blocker or one without data is never overridable);
 * undefined for any other wait, an emergency hold among them.
 */
export const overridableBlockerOf = (w: Waiter): 'company-event' | 'team-alarm' | undefined => {
  if (w.kind !== WaiterKind.BAKE || w.status !== WaiterStatus.OPEN || !w.region || w.purpose !== 'blocker') return undefined;
  if (!w.blocker || (w.blocker.state ?? 'ALARM') !== 'ALARM') return undefined;
  if (w.blocker.name === companyEventAlarmName(w.region)) return 'company-event';
  return isTeamAggregateAlarmName(w.blocker.name, w.region) ? 'team-alarm' : undefined;
};

/** Whether a wait is one the override may end: in its scope, closed by its blocker. */
const concerns = (o: OverrideItem, w: BakeWaiter): boolean => {
  if (w.kind !== WaiterKind.BAKE || w.status !== WaiterStatus.OPEN || !w.region) return false;
  if (!overrideApplies(o, { blocker: o.blocker, region: w.region, pipeline: w.pipeline, change: w.change, nowMs: Date.now() })) return false;
  // A wave hold waits for the wave's other regions, not for a window: no override ends it.
  if (o.blocker === 'time-window') return w.purpose === 'hold' && w.wave === undefined;
  return overridableBlockerOf(w) === o.blocker;
};

/**
 * Wakes the waits `o` concerns (one Query of the open-waiters index): a blocker wait whose
 * gate would now open (its re-check rule, blockerStillHolds, reading the override just
 * written), and a window hold in scope of a time-window override (its gate decides again).
 * Each ends once (a conditional finish): a retried apply wakes nothing twice.
 * @returns the waits woken.
 */
export const wakeWaits = async (o: OverrideItem): Promise<string[]> => {
  const waiters = await queryAll<Waiter>({
    TableName: table.waiters(),
    IndexName: OPEN_WAITERS_INDEX,
    KeyConditionExpression: '#shard = :open',
    FilterExpression: '#purpose IN (:blocker, :hold)',
    ExpressionAttributeNames: { '#shard': OPEN_SHARD_ATTRIBUTE, '#purpose': 'purpose' },
    ExpressionAttributeValues: { ':open': OPEN_SHARD, ':blocker': 'blocker', ':hold': 'hold' },
  });
  return wakeWaitsAmong(o, waiters);
};

/**
 * wakeWaits' rule over waiters already read: the apply's wake, and the reconciler's net for a
 * wake that was lost (the apply died after announcing the override, or its Query failed and
 * no one retried the request).
 */
export const wakeWaitsAmong = async (o: OverrideItem, waiters: readonly Waiter[]): Promise<string[]> => {
  const woken: string[] = [];
  for (const w of waiters as BakeWaiter[]) {
    if (!concerns(o, w)) continue;
    if (w.purpose === 'blocker' && (await blockerStillHolds(w, logger.warn.bind(logger)))) continue;
    const output: BlockerResult | HoldResult =
      w.purpose === 'blocker'
        ? { bakeId: w.bakeId, purpose: 'blocker', until: new Date(w.endsAt).toISOString() }
        : { bakeId: w.bakeId, purpose: 'hold', until: new Date(w.endsAt).toISOString() };
    const finished = await finishWaiter(w.pk, { ok: true, output });
    if (!finished) continue;
    await deliver(finished);
    woken.push(w.pk);
  }
  if (woken.length > 0) logger.info('override woke waiting gates', { override: o.id, woken });
  return woken;
};

/** The pipelines in which change `change` was merged (its start records in the changes table). */
const pipelinesOfChange = async (change: string): Promise<string[]> => {
  const found = new Set<string>();
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await clients()
      .dynamo()
      .send(
        new ScanCommand({
          TableName: table.changes(),
          FilterExpression: '#change = :change AND #sk = :started',
          ProjectionExpression: '#pipeline',
          ExpressionAttributeNames: { '#change': 'change', '#sk': 'sk', '#pipeline': 'pipeline' },
          ExpressionAttributeValues: { ':change': change, ':started': CHANGE_STARTED_SK },
          ExclusiveStartKey: startKey,
        }),
      );
    for (const item of page.Items ?? []) if (typeof item.pipeline === 'string') found.add(item.pipeline);
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return [...found].sort();
};

const invalid = (problems: FieldProblem[]): OperatorResult => ({
  status: 400,
  error: problems.map((p) => `${p.field}: ${p.message}`).join('; '),
  reason: 'invalid-request',
  problems,
});

/**
 * The pipeline of an override that names a change and no pipeline: the change's, from the
 * changes table, so its events and audit record carry it (the change's partition). A problem
 * naming `change` when no pipeline merged it, `pipeline` when several did.
 */
const changePipeline = async (change: string): Promise<{ pipeline: string } | { problem: FieldProblem }> => {
  const pipelines = await pipelinesOfChange(change);
  if (pipelines.length === 1) return { pipeline: pipelines[0]! };
  if (pipelines.length === 0) {
    return { problem: { field: 'change', message: `no change '${change}' was merged in any pipeline; name a merged change (its commit id), or give its 'pipeline' too to override ahead of its merge` } };
  }
  return { problem: { field: 'pipeline', message: `change '${change}' is in several pipelines (${pipelines.map((p) => `'${p}'`).join(', ')}); name the one to override` } };
};

/**
 * `override`: 201 with the override; 400 with every problem. Written unannounced first; it
 * takes effect (gates and alarm judges read only announced overrides) once its
 * `override.applied` and audit record are published and its expiry scheduled, and only then
 * are the waits it concerns woken. A retry of the same request (after a crash anywhere) finds
 * the item and finishes what is left: the event is published at least once, never skipped.
 */
export const applyOverride = async (action: z.infer<typeof OverrideAction>): Promise<OperatorResult> => {
  const { action: _action, ...input } = action;
  const nowMs = Date.now();
  const problems = overrideProblems(input, { nowMs });
  if (problems.length > 0) return invalid(problems);
  let pipeline = input.pipeline;
  if (!pipeline && input.change) {
    const resolved = await changePipeline(input.change);
    if ('problem' in resolved) return invalid([resolved.problem]);
    pipeline = resolved.pipeline;
  }
  const request: OverrideRequest = {
    blocker: input.blocker as OverrideRequest['blocker'],
    ...(input.region ? { region: input.region } : {}),
    ...(pipeline ? { pipeline } : {}),
    ...(input.change ? { change: input.change } : {}),
    by: input.by.trim(),
    reason: input.reason.trim(),
    expires: new Date(Date.parse(input.expires)).toISOString(),
  };
  const id = overrideId(request);
  const fresh: OverrideItem = {
    ...overrideKey(id),
    ...request,
    id,
    appliedAt: new Date(nowMs).toISOString(),
    expiresAt: Math.ceil(Date.parse(request.expires) / 1000) + KEEP_AFTER_EXPIRY_SECONDS,
  };
  let item = fresh;
  try {
    await clients()
      .dynamo()
      .send(new PutCommand({ TableName: table.operators(), Item: clean(fresh), ConditionExpression: 'attribute_not_exists(pk)', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }));
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    // A retried request: the override exists; finish what an earlier attempt may have left.
    item = (await conflictingItem<OverrideItem>(err, table.operators(), overrideKey(id))) ?? fresh;
  }
  const announced = item.announcedAt !== undefined;
  if (!announced) {
    await publish([overrideEvent(EventType.OVERRIDE_APPLIED, item)]);
    await scheduleExpiry(item);
    // From here on it counts (operator-reads.ts reads announced overrides only).
    await markOnce(id, 'announcedAt');
  }
  const woken = await wakeWaits(item);
  logger.info('override applied', { override: id, replayed: announced, woken: woken.length });
  return { status: 201, body: { override: stripKeys(item), ...(announced ? { replayed: true } : {}) } };
};

const stripKeys = (o: OverrideItem): Record<string, unknown> => {
  const { pk: _pk, sk: _sk, expiresAt: _ttl, ...rest } = o as OverrideItem & Record<string, unknown>;
  return rest;
};

/** At its expiry (its schedule): `override.expired`, once. Early or unknown: nothing. */
export const expireOverride = async (input: ExpireOverrideInput): Promise<OperatorResult> => {
  const item = await getItem<OverrideItem & { expiredAt?: string; expiryPublishedAt?: string }>(table.operators(), overrideKey(input.id));
  if (!item) return { status: 404, error: `no override '${input.id}'; name an override that was applied (its id)`, reason: 'unknown-override' };
  if (Date.now() + EARLY_TOLERANCE_MS < Date.parse(item.expires)) {
    return { status: 409, error: `override '${input.id}' expires at ${item.expires}, not yet; it is expired by its schedule then`, reason: 'not-expired' };
  }
  // The first to mark it publishes; a crash between the two is caught by the retry (expiredAt set, not yet published).
  const first = item.expiredAt === undefined ? await markOnce(input.id, 'expiredAt') : false;
  if (first || (item.expiredAt !== undefined && item.expiryPublishedAt === undefined)) {
    await publish([overrideEvent(EventType.OVERRIDE_EXPIRED, item)]);
    await markOnce(input.id, 'expiryPublishedAt');
  }
  return { status: 200, body: { override: stripKeys(item), expired: true } };
};
