/**
 * Handler `check-window`: may a production step start now in this region? First the
 * blockers (with `team`): the team's aggregate alarm and the company event alarm of the
 * region must exist (else `alarm-missing`), have data (else `insufficient-data`) and not be
 * in ALARM (else `team-alarm` / `company-event`); then the deployment window; then, with the
 * window open, the step's own alarms (`alarms`) must have data (else `insufficient-data`).
 * A pre-production step (`window: false`, no `team`) has only that last check. A production
 * step also asks the emergencies (after the blockers): a change fast-tracked by an approved
 * emergency is not held by its window, and another change of the pipeline that has not
 * entered production waits (`emergency-hold`, `blocked` naming the emergency) while one runs.
 * Windows and holidays live in DynamoDB so they change without a redeploy. Fails closed: a
 * window it cannot read, or one that never opens, throws WindowUnavailable; alarms it
 * cannot read throw BlockerUnavailable; throttling propagates for the ASL's Retry. When
 * closed, the ASL waits and asks again, feeding back its output as `previous`: `blocked` is
 * published when the reason changes, `unblocked` when it clears. Closed by the window, it
 * waits (holds) until `nextOpening`; closed by an alarm (`blockingAlarm`, with the state it
 * blocks in), it waits for that alarm to exist in another state (start-bake `purpose:
 * 'blocker'`), at most until `nextOpening` (BLOCKER_RECHECK_SECONDS from now).
 */
import { BlockReason, EventType } from '../../core/events.ts';
import { BLOCKER_RECHECK_SECONDS, CheckWindowInput, type CheckWindowOutput } from '../../core/contracts.ts';
import { decideGate, type ActiveBlocker } from '../shared/gate.ts';
import type { OverrideNote } from '../shared/operator-reads.ts';
import { logger } from '../shared/logger.ts';
import { publish } from '../shared/publish.ts';
import { lambdaHandler } from '../runtime/handler.ts';

/** ISO 8601 UTC without milliseconds when they are zero (`2026-12-02T00:00:00Z`). */
const isoSeconds = (at: Date): string => at.toISOString().replace(/\.000Z$/, 'Z');

/**
 * What blocked the previous check: from `previous` (the previous check's whole output) when
 * given, else from `wasBlocked` / `blockedReason`. Blocked without a reason: the time window
 * (an old state machine only says wasBlocked).
 */
export const previousReason = (input: Pick<CheckWindowInput, 'previous' | 'wasBlocked' | 'blockedReason'>): string | undefined => {
  const previous = input.previous;
  if (previous && typeof previous === 'object') {
    return previous.blocked === true ? previous.reason || previous.blockedReason || BlockReason.TIME_WINDOW : undefined;
  }
  return input.blockedReason || (input.wasBlocked ? BlockReason.TIME_WINDOW : undefined);
};

export const checkWindow = async (input: CheckWindowInput): Promise<CheckWindowOutput> => {
  const { pipeline, change, stage, region, unit, target } = input;
  const scope = { pipeline, change, stage, region, unit, target };
  const previous = previousReason(input);
  /**
   * Publishes the transition from the previous reason to `current` (undefined: open): once per
   * episode and reason; `blocked` names the alarm that blocks, when one does.
   */
  const transition = async (
    current: BlockReason | undefined,
    until?: string,
    alarm?: string,
    note: { overrides?: OverrideNote[]; emergency?: string } = {},
  ): Promise<void> => {
    // A blocker set aside by an override: `unblocked` says who and why. Opened thanks to one,
    // the gate says so even when the step never waited (the override came first), so the
    // audit shows why it started. It names only the overrides of the reason that ended: a
    // window that opened by itself names none, even with a team alarm set aside meanwhile.
    const { overrides, emergency } = note;
    const announce = current === undefined && previous === undefined && (overrides?.length ?? 0) > 0;
    if (previous === current && !announce) return;
    const events = [];
    if (previous || announce) {
      const reason = previous ?? overrides![0]!.blocker;
      const named = (overrides ?? []).filter((o) => o.blocker === reason);
      events.push({
        type: EventType.UNBLOCKED,
        ...scope,
        reason,
        ...(named.length > 0 ? { override: named[0], ...(named.length > 1 ? { overrides: named } : {}) } : {}),
      });
    }
    if (current) events.push({ type: EventType.BLOCKED, ...scope, reason: current, until, ...(alarm ? { alarm } : {}), ...(emergency ? { emergency } : {}) });
    await publish(events);
  };

  /** Closed by an alarm: the state machine waits for its state to change; `nextOpening` is only the re-check cap. */
  const blockedBy = async (blocker: ActiveBlocker): Promise<CheckWindowOutput> => {
    const recheck = isoSeconds(new Date(Date.now() + BLOCKER_RECHECK_SECONDS * 1000));
    logger.info('blocked by an alarm', { pipeline, region, reason: blocker.reason, alarm: blocker.alarm.name, state: blocker.alarm.state, recheck });
    // An emergency hold names the change it waits for, not its wait's key.
    await transition(blocker.reason, undefined, blocker.emergency ? undefined : blocker.alarm.name, { emergency: blocker.emergency });
    return {
      open: false,
      blocked: true,
      reason: blocker.reason,
      blockedReason: blocker.reason,
      nextOpening: recheck,
      blockingAlarm: { region: blocker.alarm.region, name: blocker.alarm.name, state: blocker.alarm.state },
    };
  };

  // The decision is shared with the blocker wait's re-check (lambdas/shared/gate.ts).
  const decision = await decideGate(pipeline, region, { team: input.team, alarms: input.alarms, window: input.window }, { change, stage });
  if (decision.open) {
    await transition(undefined, undefined, undefined, { overrides: decision.overrides });
    return { open: true, blocked: false, ...(decision.overrides ? { overrides: decision.overrides.map((o) => o.id) } : {}) };
  }
  if (decision.blocker) return blockedBy(decision.blocker);
  const until = isoSeconds(decision.until);
  logger.info('deployment window closed', { pipeline, region, until });
  await transition(BlockReason.TIME_WINDOW, until, undefined, { overrides: decision.overrides });
  return { open: false, nextOpening: until, blocked: true, reason: BlockReason.TIME_WINDOW, blockedReason: BlockReason.TIME_WINDOW };
};

export const handler = lambdaHandler('check-window', CheckWindowInput, checkWindow);
