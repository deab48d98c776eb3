/**
 * Bakes and holds: ids, bake-end schedules, the request count that proves a bake saw
 * traffic, and the end of a bake (shared by the bake-end schedule and the reconciler).
 */
import { createHash } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { extensionSeconds } from '../../core/bake.ts';
import { EventType } from '../../core/events.ts';
import { alarmStates, alarmTriggeredEvent, type AlarmStates } from './alarms.ts';
import { clients } from './clients.ts';
import { env, ENV } from './config.ts';
import {
  blockerRecheckSeconds,
  StepError,
  type BakeEndInput,
  type BakeResult,
  type BlockerResult,
  type HoldResult,
  type MetricScope,
  type StepScope,
} from '../../core/contracts.ts';
import { conditionalWrite, getItem } from './dynamo.ts';
import { isoDuration, isoDurationSeconds, nowIso } from './duration.ts';
import { createOneTimeSchedule } from './schedules.ts';
import { logger } from './logger.ts';
import { publish } from './publish.ts';
import { bakeWaiterKey, expiresAt, scopeOf, table, TTL_ATTRIBUTE, WaiterStatus, watchedAlarms, type BakeWaiter, type WaiterResult, type WatchedAlarm } from './tables.ts';
import { countRequests } from './requests.ts';
import { deliver, finishWaiter, isUndelivered, markDelivered } from './waiters.ts';
import { sendTaskHeartbeat } from './tokens.ts';
import { blockerStillHolds } from './gate.ts';
import { wakeSweep } from './sweeps.ts';
import { overdueSweepSlot } from '../../core/sweeps.ts';
import { unspared } from './operator-reads.ts';

export const bakeIdOf = (s: StepScope): string =>
  `${s.pipeline}#${s.change}#${s.stage}#${s.region ?? '*'}#${s.unit ?? s.target ?? '*'}`;


/**
 * Scheduler names allow [0-9a-zA-Z-_.], at most 64 characters: a hash of the bake id, plus
 * the extension number (each extension is a new one-time schedule).
 */
export const scheduleName = (bakeId: string, extension: number): string =>
  `handsoff-bake-${createHash('sha256').update(bakeId).digest('hex').slice(0, 40)}-${extension}`;

/**
 * Schedules a bake's (or hold's) end check at `endsAt`, and wakes the reconciler's sweep of the
 * slot just past it (core/sweeps.ts overdueSweepSlot), which ends it should this schedule be
 * lost. `overdueSweep: false` for a blocker wait's re-check, itself a safety net: a lost one is
 * caught by the heartbeat.
 */
export const scheduleBakeEnd = async (bakeId: string, endsAt: number, extension: number, opts: { overdueSweep?: boolean } = {}): Promise<void> => {
  await createBakeEndSchedule(bakeId, endsAt, extension);
  if (opts.overdueSweep ?? true) await wakeSweep(overdueSweepSlot(endsAt), 'a bake or hold ends');
};

const createBakeEndSchedule = async (bakeId: string, endsAt: number, extension: number): Promise<void> => {
  const name = scheduleName(bakeId, extension);
  const input: BakeEndInput = { bakeId };
  const created = await createOneTimeSchedule({ name, at: endsAt, description: `handsoff bake end ${bakeId}`, functionArn: env(ENV.BAKE_END_FUNCTION_ARN), input });
  // Scheduled by an earlier attempt already: fine.
  if (created === 'exists') logger.info('bake end already scheduled', { bakeId, name });
};

/** `bake`, `hold` or `blocker`. */
export const purposeOf = (waiter: Pick<BakeWaiter, 'purpose'>): 'bake' | 'hold' | 'blocker' =>
  waiter.purpose === 'hold' || waiter.purpose === 'blocker' ? waiter.purpose : 'bake';

/** A noun for messages: `a ${noun} never passes unwatched`. */
const nounOf = (waiter: Pick<BakeWaiter, 'purpose'>): string => (waiter.purpose === 'blocker' ? 'blocker wait' : purposeOf(waiter));

/**
 * Ends a bake or hold as failed (once), publishing `alarm.triggered` for `alarms`, and
 * completes its task. @returns false when it was finished already.
 */
export const failBake = async (
  waiter: BakeWaiter,
  result: WaiterResult & { ok: false },
  alarms: WatchedAlarm[] = [],
): Promise<boolean> => {
  const finished = await finishWaiter(waiter.pk, result);
  if (!finished) return false;
  if (alarms.length > 0) await publish(alarms.map((alarm) => alarmTriggeredEvent(waiter, alarm)));
  await deliver(finished);
  return true;
};

export interface AlarmCheck {
  /** What was wrong, if anything: the bake was failed for `missing` and `alarm`. */
  problem: 'missing' | 'alarm' | 'insufficient' | undefined;
  /** Alarms in INSUFFICIENT_DATA. */
  insufficient: WatchedAlarm[];
}

const listAlarms = (alarms: WatchedAlarm[]): string => alarms.map((a) => `${a.name} (${a.region})`).join(', ');

/**
 * Fails closed at once when a watched alarm is missing or already in ALARM (no state
 * change would come for it).
 */
export const checkBakeAlarms = async (waiter: BakeWaiter, when: string): Promise<AlarmCheck> =>
  judgeBakeAlarms(waiter, await alarmStates(waiter.alarms), when);

const sameAlarm = (a: WatchedAlarm, b: WatchedAlarm): boolean => a.name === b.name && a.region === b.region;

/**
 * checkBakeAlarms on states read already (those of other alarms than the waiter's `alarms` are
 * ignored). A blocker wait's blocking alarm missing does not fail it: that is what it waits out.
 */
export const judgeBakeAlarms = async (waiter: BakeWaiter, all: AlarmStates, when: string): Promise<AlarmCheck> => {
  const own = (list: WatchedAlarm[]): WatchedAlarm[] => list.filter((a) => waiter.alarms.some((w) => sameAlarm(a, w)));
  const waitsFor = waiter.purpose === 'blocker' ? waiter.blocker : undefined;
  const missing = own(all.missing).filter((a) => !waitsFor || !sameAlarm(a, waitsFor));
  // A team aggregate a team-alarm override spares for this change does not fail it (operator-reads.ts).
  const states: AlarmStates = { missing, alarming: await unspared(waiter, own(all.alarming), undefined, all), insufficient: own(all.insufficient) };
  const noun = nounOf(waiter);
  if (states.missing.length > 0) {
    const first = states.missing[0]!;
    await failBake(waiter, {
      ok: false,
      error: StepError.ALARM_MISSING,
      cause: {
        reason: `alarm ${listAlarms(states.missing)} does not exist ${when}; a ${noun} never passes unwatched`,
        alarm: first.name,
        region: first.region,
      },
    });
    return { problem: 'missing', insufficient: states.insufficient };
  }
  if (states.alarming.length > 0) {
    const first = states.alarming[0]!;
    await failBake(
      waiter,
      { ok: false, error: StepError.ALARM_TRIGGERED, cause: { reason: `alarm ${first.name} is in ALARM ${when}`, alarm: first.name, region: first.region } },
      states.alarming,
    );
    return { problem: 'alarm', insufficient: states.insufficient };
  }
  return { problem: states.insufficient.length > 0 ? 'insufficient' : undefined, insufficient: states.insufficient };
};

/** checkBakeAlarms, returning only what was wrong. */
export const failOnAlarmStates = async (waiter: BakeWaiter, when: string): Promise<AlarmCheck['problem']> =>
  (await checkBakeAlarms(waiter, when)).problem;

// ---------------------------------------------------------------- bake end

export interface BakeEndOutput {
  bakeId: string;
  outcome: 'completed' | 'extended' | 'failed' | 'not-open' | 'early';
  requests?: number;
}

/** A schedule may fire a little early; beyond this it is a stale schedule. */
const EARLY_TOLERANCE_MS = 1000;

/** Extends a bake that lacks data, or fails it with `insufficient-data` past its extension cap. */
const extend = async (
  waiter: BakeWaiter,
  requests: number,
  now: number,
  alarmsWithoutData: WatchedAlarm[],
): Promise<BakeEndOutput> => {
  const seen = `${requests} requests seen of ${waiter.minRequests} required over ${isoDuration(now - waiter.startedAt)}`;
  const noData = alarmsWithoutData.length > 0 ? `alarms in INSUFFICIENT_DATA: ${listAlarms(alarmsWithoutData)}` : undefined;
  const remaining = waiter.maxExtensionSeconds - waiter.extendedSeconds;
  if (remaining <= 0) {
    await failBake(waiter, {
      ok: false,
      error: StepError.INSUFFICIENT_DATA,
      cause: {
        reason: 'insufficient-data',
        detail: `${seen}${noData ? `; ${noData}` : ''} (bake ${isoDurationSeconds(waiter.durationSeconds)}, extended by ${isoDurationSeconds(waiter.extendedSeconds)}, cap ${isoDurationSeconds(waiter.maxExtensionSeconds)})`,
      },
    });
    return { bakeId: waiter.bakeId, outcome: 'failed', requests };
  }
  const by = Math.min(extensionSeconds(waiter.durationSeconds), remaining);
  const endsAt = now + by * 1000;
  const next = waiter.extensions + 1;
  const extended = await conditionalWrite(
    new UpdateCommand({
      TableName: table.waiters(),
      Key: { pk: waiter.pk },
      UpdateExpression: 'SET #endsAt = :endsAt, #extensions = :next, #extendedSeconds = #extendedSeconds + :by, #updatedAt = :now',
      ConditionExpression: '#status = :open AND #extensions = :current',
      ExpressionAttributeNames: {
        '#endsAt': 'endsAt',
        '#extensions': 'extensions',
        '#extendedSeconds': 'extendedSeconds',
        '#status': 'status',
        '#updatedAt': 'updatedAt',
      },
      ExpressionAttributeValues: {
        ':endsAt': endsAt,
        ':next': next,
        ':current': waiter.extensions,
        ':by': by,
        ':open': WaiterStatus.OPEN,
        ':now': nowIso(),
      },
    }),
  );
  if (!extended) {
    logger.info('bake changed meanwhile (duplicate schedule invocation); nothing to do', { bakeId: waiter.bakeId });
    return { bakeId: waiter.bakeId, outcome: 'not-open' };
  }
  await scheduleBakeEnd(waiter.bakeId, endsAt, next);
  await publish([
    {
      type: EventType.BAKE_EXTENDED,
      ...scopeOf(waiter),
      reason: 'min-datapoints',
      requests,
      minRequests: waiter.minRequests,
      until: new Date(endsAt).toISOString(),
      detail: noData,
    },
  ]);
  logger.info('bake extended', { bakeId: waiter.bakeId, seen, noData, by });
  return { bakeId: waiter.bakeId, outcome: 'extended', requests };
};

/**
 * A hold ends: it succeeds unless an alarm is missing or in ALARM. Alarms without data do not
 * fail it: a hold always ends into its gate, which holds on them (`insufficient-data`,
 * withoutData's rule in alarms.ts) until they have data.
 */
const endHold = async (waiter: BakeWaiter): Promise<BakeEndOutput> => {
  const { bakeId } = waiter;
  const check = await checkBakeAlarms(waiter, 'at the end of the hold');
  if (check.problem === 'missing' || check.problem === 'alarm') return { bakeId, outcome: 'failed' };
  const output: HoldResult = { bakeId, purpose: 'hold', until: new Date(waiter.endsAt).toISOString() };
  const finished = await finishWaiter(waiter.pk, { ok: true, output });
  if (!finished) return { bakeId, outcome: 'not-open' };
  await deliver(finished);
  logger.info('hold ended', { bakeId });
  return { bakeId, outcome: 'completed' };
};

/**
 * A blocker wait whose gate would stay closed for the same alarm: its end moves on by
 * blockerRecheckSeconds (a new one-time schedule, the next extension number), its task keeps
 * waiting. Conditional on the end it was read with: a duplicate schedule re-arms it once.
 */
const rearm = async (waiter: BakeWaiter, now: number): Promise<BakeEndOutput> => {
  if (!(await sendTaskHeartbeat(waiter.token))) {
    // Its task ended meanwhile (the execution stopped, the task timed out): the wait ends.
    const finished = await finishWaiter(waiter.pk, { ok: true, output: { bakeId: waiter.bakeId, purpose: 'blocker', until: new Date(waiter.endsAt).toISOString() } satisfies BlockerResult });
    if (finished) {
      await markDelivered(finished.pk);
    }
    return { bakeId: waiter.bakeId, outcome: 'not-open' };
  }
  const next = waiter.extensions + 1;
  const endsAt = now + blockerRecheckSeconds(next, waiter.blocker?.name) * 1000;
  const rearmed = await conditionalWrite(
    new UpdateCommand({
      TableName: table.waiters(),
      Key: { pk: waiter.pk },
      // A wait may last longer than the TTL: it moves on with it.
      UpdateExpression: 'SET #endsAt = :endsAt, #extensions = :next, #updatedAt = :now, #ttl = :ttl',
      ConditionExpression: '#status = :open AND #extensions = :current',
      ExpressionAttributeNames: { '#endsAt': 'endsAt', '#extensions': 'extensions', '#status': 'status', '#updatedAt': 'updatedAt', '#ttl': TTL_ATTRIBUTE },
      ExpressionAttributeValues: {
        ':endsAt': endsAt,
        ':next': next,
        ':current': waiter.extensions,
        ':open': WaiterStatus.OPEN,
        ':now': nowIso(),
        ':ttl': expiresAt(now),
      },
    }),
  );
  if (!rearmed) return { bakeId: waiter.bakeId, outcome: 'not-open' };
  await scheduleBakeEnd(waiter.bakeId, endsAt, next, { overdueSweep: false });
  logger.info('blocker still holds; wait re-armed', { bakeId: waiter.bakeId, blocker: waiter.blocker?.name, until: new Date(endsAt).toISOString() });
  return { bakeId: waiter.bakeId, outcome: 'extended' };
};

/**
 * A blocker wait reaches its re-check cap: it succeeds (the gate checks again) unless one of
 * its alarms (but a missing blocking alarm) is missing or in ALARM. The blocking alarm's state
 * does not matter otherwise: the gate judges it again.
 */
const endBlocker = async (waiter: BakeWaiter, now: number): Promise<BakeEndOutput> => {
  const { bakeId } = waiter;
  const check = await checkBakeAlarms(waiter, 'at the end of the blocker wait');
  if (check.problem === 'missing' || check.problem === 'alarm') return { bakeId, outcome: 'failed' };
  // The gate's decision, taken here: unchanged, the wait goes on without waking the execution.
  if (await blockerStillHolds(waiter, logger.warn.bind(logger))) return rearm(waiter, now);
  const output: BlockerResult = { bakeId, purpose: 'blocker', until: new Date(waiter.endsAt).toISOString() };
  const finished = await finishWaiter(waiter.pk, { ok: true, output });
  if (!finished) return { bakeId, outcome: 'not-open' };
  await deliver(finished);
  logger.info('blocker wait reached its re-check time', { bakeId, blocker: waiter.blocker?.name });
  return { bakeId, outcome: 'completed' };
};

/**
 * Ends the bake (or hold, or blocker wait) `bakeId` when its time has passed: passes when its minimum data
 * points were seen with every alarm OK; extends on thin traffic (or alarms without data) up
 * to its cap, then fails with `insufficient-data`; fails at once on a missing alarm or one in
 * ALARM. A bake that is not open, or not due yet, is left alone.
 */
export const endBake = async (bakeId: string): Promise<BakeEndOutput> => {
  const waiter = await getItem<BakeWaiter>(table.waiters(), { pk: bakeWaiterKey(bakeId) });
  if (isUndelivered(waiter) && waiter.result && waiter.token) {
    // Finished, but the result never reached Step Functions (the delivery failed, or the
    // function died after finishing it): the retried invocation delivers the stored result
    // (the reconciler's sweep would too, a minute on).
    logger.warn('bake finished but not delivered; delivering its stored result', { bakeId });
    await deliver(waiter);
    return { bakeId, outcome: 'not-open' };
  }
  if (!waiter || waiter.status !== WaiterStatus.OPEN) {
    logger.info('bake not open; schedule ignored', { bakeId, status: waiter?.status });
    return { bakeId, outcome: 'not-open' };
  }
  const now = Date.now();
  if (now + EARLY_TOLERANCE_MS < waiter.endsAt) {
    logger.info('bake not over yet (stale schedule); ignored', { bakeId, endsAt: new Date(waiter.endsAt).toISOString() });
    return { bakeId, outcome: 'early' };
  }
  if (waiter.purpose === 'hold') return endHold(waiter);
  if (waiter.purpose === 'blocker') return endBlocker(waiter, now);

  const check = await checkBakeAlarms(waiter, 'at the end of the bake');
  if (check.problem === 'missing' || check.problem === 'alarm') return { bakeId, outcome: 'failed' };

  const requests = await countRequests(waiter.service, waiter.metricScopes, waiter.startedAt, now);
  if (check.problem === 'insufficient' || requests < waiter.minRequests) return extend(waiter, requests, now, check.insufficient);

  const finished = await finishWaiter(waiter.pk, { ok: true, output: { bakeId, requests } satisfies BakeResult });
  if (!finished) return { bakeId, outcome: 'not-open' };
  await publish([{ type: EventType.BAKE_COMPLETED, ...scopeOf(waiter), requests }]);
  await deliver(finished);
  logger.info('bake completed', { bakeId, requests });
  return { bakeId, outcome: 'completed', requests };
};
