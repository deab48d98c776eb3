/**
 * Handler `start-bake` (`.waitForTaskToken`): starts a bake, or a hold. The task token waits
 * in the waiters table; an alarm going to ALARM fails it (on-alarm-event), the one-time
 * schedule ends it (bake-end), and the reconciler catches a lost event or schedule. A
 * retried task re-registers its new token on the same bake: the bake's clock does not restart.
 *
 * A hold (`purpose: 'hold'`) is the wait of a change between steps (e.g. while a deployment
 * window is closed): it watches its alarms exactly like a bake, ends at `until`, publishes no
 * `bake.*` events and needs no requests. Its id (`<bake id>#hold#<until>`) never collides with
 * the bake of the same scope, nor with an earlier hold.
 *
 * A blocker wait (`purpose: 'blocker'`) is the wait of a gate closed by an alarm (the team
 * aggregate or a company event in ALARM, missing or without data; a step's alarm without
 * data): a hold that also watches the blocking alarm, and ends successfully as soon as the
 * alarm exists in another state than the one that closed the gate (on-alarm-event, the
 * reconciler; at once when it does at the start), or at `until` (the gate's re-check cap) at
 * the latest; the gate then decides again. An alarm that vanishes never ends it. The
 * blocking alarm in ALARM fails it only when it is also one of `alarms`. Its id is
 * `<bake id>#blocker#<alarm>#<until>`.
 */
import { maxExtensionSeconds, requiredRequests } from '../../core/bake.ts';
import { EventType } from '../../core/events.ts';
import { bakeIdOf, endBake, failOnAlarmStates, purposeOf, scheduleBakeEnd } from '../shared/bakes.ts';
import { emergencyApproved, fastTrackWaiter } from '../shared/emergency-bakes.ts';
import { startBlockerCheck } from '../shared/blockers.ts';
import { StartBakeInput, WAVE_HOLD_CAP_SECONDS } from '../../core/contracts.ts';
import { isoDurationSeconds, nowIso } from '../shared/duration.ts';
import { logger } from '../shared/logger.ts';
import { publish } from '../shared/publish.ts';
import { bakeWaiterKey, blockerBakeId, expiresAt, holdBakeId, scopeOf, waveHoldBakeId, WaiterKind, WaiterStatus, type BakeWaiter } from '../shared/tables.ts';
import { reachWave } from '../shared/wave-holds.ts';
import { registerWaiterItem, type Registration } from '../shared/waiters.ts';
import { lambdaHandler } from '../runtime/handler.ts';

export interface StartBakeOutput {
  bakeId: string;
  registration: Registration;
}

/** A hold whose end is this close (or past) ends in the invocation that starts it. */
const DUE_TOLERANCE_MS = 1000;


const waiterOf = (input: StartBakeInput, now: number): BakeWaiter => {
  const base = {
    kind: WaiterKind.BAKE,
    status: WaiterStatus.OPEN,
    token: input.taskToken,
    ...scopeOf(input),
    alarms: input.alarms.map((a) => ({ region: a.region, name: a.name })),
    startedAt: now,
    service: input.service ?? input.pipeline,
    extensions: 0,
    extendedSeconds: 0,
    createdAt: nowIso(),
    updatedAt: nowIso(),
  } as const;
  if (input.purpose === 'hold' || input.purpose === 'blocker') {
    // A wave hold without `until` lasts at most the region executions' cap.
    const until = input.until !== undefined ? Date.parse(input.until) : now + WAVE_HOLD_CAP_SECONDS * 1000;
    const blocker = input.purpose === 'blocker' ? { region: input.blocker!.region, name: input.blocker!.name, state: input.blocker!.state ?? 'ALARM' } : undefined;
    const bakeId = blocker
      ? blockerBakeId(bakeIdOf(input), blocker.name, new Date(until).toISOString())
      : input.wave
        ? waveHoldBakeId(bakeIdOf(input))
        : holdBakeId(bakeIdOf(input), new Date(until).toISOString());
    return {
      ...base,
      pk: bakeWaiterKey(bakeId),
      bakeId,
      purpose: input.purpose,
      ...(blocker ? { blocker } : {}),
      ...(input.wave ? { wave: { regions: input.wave.regions } } : {}),
      ...(blocker && input.gate ? { gate: input.gate } : {}),
      endsAt: until,
      // The TTL counts from the wait's end (a freeze of weeks, a wave hold's cap): it never drops an open wait.
      expiresAt: expiresAt(Math.max(now, until)),
      durationSeconds: Math.max(0, Math.round((until - now) / 1000)),
      minRequests: 0,
      metricScopes: [],
      maxExtensionSeconds: 0,
    };
  }
  const bakeId = bakeIdOf(input);
  const extensionCap = maxExtensionSeconds(input.durationSeconds, input.maxExtensionSeconds);
  return {
    ...base,
    pk: bakeWaiterKey(bakeId),
    bakeId,
    endsAt: now + input.durationSeconds * 1000,
    // From its latest possible end (every extension for data points taken).
    expiresAt: expiresAt(now + (input.durationSeconds + extensionCap) * 1000),
    durationSeconds: input.durationSeconds,
    minRequests: requiredRequests(input.durationSeconds, input.minRequests),
    metricScopes: input.metricScopes,
    maxExtensionSeconds: extensionCap,
    ...(input.emergencyFloorSeconds !== undefined ? { emergencyFloorSeconds: input.emergencyFloorSeconds } : {}),
  };
};

export const startBake = async (input: StartBakeInput): Promise<StartBakeOutput> => {
  const now = Date.now();
  const waiter = waiterOf(input, now);
  const { bakeId } = waiter;
  const noun = purposeOf(waiter);
  // A retry continues the stored bake (its start, end and extensions), and makes sure its
  // schedule exists in case the first attempt died before creating it.
  const registered = await registerWaiterItem(waiter);
  const { registration } = registered;
  let { stored } = registered;
  // A wave hold reaches its wave once written, on every attempt (adding the region again is
  // nothing): a retry ends the wave's holds if the attempt that completed the wave died first.
  if (stored.wave) await reachWave(stored);
  if (registration === 'replayed') return { bakeId, registration };
  // An approved emergency: the bake lasts the floor. Read once the waiter is written, so an
  // approval landing now is seen by this read or finds the waiter itself (emergency-bakes.ts).
  if (noun === 'bake' && stored.emergencyFloorSeconds !== undefined && (await emergencyApproved(input.pipeline, input.change))) {
    stored = (await fastTrackWaiter(stored, now, false)) ?? stored; // scheduled below
  }

  if (noun !== 'bake' && stored.endsAt <= now + DUE_TOLERANCE_MS) {
    // Already over (the window opened meanwhile, the re-check time passed): end it now, checking its alarms.
    await endBake(bakeId);
    return { bakeId, registration };
  }
  // The waiter (its own watch record, `watching`) is written: a state change during the checks below is not lost.
  if (noun === 'blocker') {
    // Also on a retry: the first attempt may have died before its check, and the blocking
    // alarm's OK event before its watch existed. Finishing is conditional: at most once.
    if ((await startBlockerCheck(stored)) !== 'waiting') return { bakeId, registration };
  } else if (registration === 'created') {
    const problem = await failOnAlarmStates(stored, `at the start of the ${noun}`);
    // INSUFFICIENT_DATA is judged at the bake's end, when data is required.
    if (problem === 'missing' || problem === 'alarm') return { bakeId, registration };
  }
  // A bake due already (a bake of zero) ends in this invocation, not by a schedule in the past.
  const due = stored.endsAt <= now + DUE_TOLERANCE_MS;
  // A blocker wait's end is its re-check, itself a safety net: no sweep after it (core/sweeps.ts).
  // A wave hold's own end is its cap, itself a net (its release schedules the real end).
  if (!due) await scheduleBakeEnd(bakeId, stored.endsAt, stored.extensions, { overdueSweep: stored.purpose !== 'blocker' && !stored.wave });
  if (registration === 'created' && noun === 'bake') {
    await publish([{ type: EventType.BAKE_STARTED, ...scopeOf(input), duration: isoDurationSeconds(stored.durationSeconds) }]);
  }
  if (due) {
    await endBake(bakeId);
    return { bakeId, registration };
  }
  logger.info(`${noun} waiting`, { bakeId, registration, endsAt: new Date(stored.endsAt).toISOString() });
  return { bakeId, registration };
};

export const handler = lambdaHandler('start-bake', StartBakeInput, startBake);
