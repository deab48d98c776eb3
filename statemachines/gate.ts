import { StepError } from '../core/contracts.ts';
import { type ResolvedPipeline } from '../core/model.ts';
import { fleetService } from '../core/naming.ts';
import { HandlerName } from './resources.ts';
import { CHILD_TIMEOUT_SECONDS, INVOKE_TIMEOUT_SECONDS, Json, LAMBDA_INVOKE, State, States, TRANSIENT_RETRY, arn, bakeFields, callback } from './asl.ts';

/**
 * The deployment task `state` right after the gate `prefix`: when start-deployment did not
 * start because an alarm it watches has no data (AlarmWithoutData, a state change since the
 * gate's check), the machine goes back to the gate, which holds (`insufficient-data`) until
 * the alarm has data. Any other failure goes where the task's own Catch says.
 */
export const returnsToGate = (state: State, prefix: string): State => ({
  ...state,
  Catch: [{ ErrorEquals: [StepError.ALARM_WITHOUT_DATA], ResultPath: '$.error', Next: `${prefix}.Gate` }, ...((state.Catch as Json[] | undefined) ?? [])],
});

/** The first state of the gate whose state ids start with `prefix`: where a step ending at it goes. */
export const gateEntryId = (prefix: string): string => `${prefix}.GateInit`;

/**
 * Gate + wait loop before a production step (and, with `preProd`, before a pre-production
 * deployment, where only the data rule applies): the step starts only inside the region's
 * deployment window, while no blocker (the team's aggregate alarm, a company event) is in
 * ALARM, missing or without data, and while every alarm the step's deployment watches
 * (`$.alarmNames`) has data. While the window is closed the change waits in a hold (a
 * `.waitForTaskToken` wait until the next opening, which an override of the window or an
 * approved emergency ends at once): watching nothing when nothing of the change runs in the
 * region yet, else the region's alarms, so a slow burn during a night's wait is still caught
 * and rolled back within seconds.
 */
export const windowGate = (
  states: States,
  prefix: string,
  p: ResolvedPipeline,
  scope: Record<string, Json>,
  next: string,
  failTo: string,
  watchWhileWaiting: boolean,
  /**
   * A pre-production step instead (in the pipeline machine: stage and region are literals):
   * no window and no blockers there, only the data of the alarms its deployment watches.
   */
  preProd?: { stage: string; region: string; alarms: string[] },
): string => {
  const where: Record<string, Json> = preProd ? { stage: preProd.stage, region: preProd.region } : { 'stage.$': '$.stage', 'region.$': '$.region' };
  const asks: Record<string, Json> = preProd ? { window: false, alarms: preProd.alarms } : { team: p.team, 'alarms.$': '$.alarmNames' };
  const init = gateEntryId(prefix);
  const check = `${prefix}.Gate`;
  const choice = `${prefix}.GateOpen`;
  const wait = `${prefix}.WaitForWindow`;
  states[init] = { Type: 'Pass', Result: { value: { open: false, blocked: false } }, ResultPath: '$.gate', Next: check };
  states[check] = {
    Type: 'Task',
    Resource: LAMBDA_INVOKE,
    Parameters: {
      FunctionName: arn(HandlerName.CHECK_WINDOW),
      Payload: {
        'pipeline.$': '$.pipeline',
        'change.$': '$.change',
        ...where,
        ...asks,
        ...scope,
        'wasBlocked.$': '$.gate.value.blocked',
        'previous.$': '$.gate.value',
      },
    },
    TimeoutSeconds: INVOKE_TIMEOUT_SECONDS,
    Retry: TRANSIENT_RETRY,
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: failTo }],
    ResultSelector: { 'value.$': '$.Payload' },
    ResultPath: '$.gate',
    Next: choice,
  };
  const blockerWait = `${prefix}.WaitForBlocker`;
  const unknown = `${prefix}.GateUnknown`;
  // An answer the gate cannot read (no `open`; closed without a time to check again) is a
  // failure of the step, never a pass: a comparison on a missing field would stop the
  // execution with States.Runtime, which no Catch takes, with its lanes still held.
  states[choice] = {
    Type: 'Choice',
    Choices: [
      { Not: { Variable: '$.gate.value.open', IsPresent: true }, Next: unknown },
      { Variable: '$.gate.value.open', BooleanEquals: true, Next: next },
      { Variable: '$.gate.value.blockingAlarm', IsPresent: true, Next: blockerWait },
      { Not: { Variable: '$.gate.value.nextOpening', IsPresent: true }, Next: unknown },
    ],
    Default: wait,
  };
  states[unknown] = {
    Type: 'Pass',
    Parameters: {
      Error: 'GateUnknown',
      Cause: JSON.stringify({ reason: 'the gate answered neither open nor closed until a known time; handsoff does not start a step it cannot judge' }),
    },
    ResultPath: '$.error',
    Next: failTo,
  };
  // A blocker (team aggregate or company event in ALARM, missing or without data; a step's
  // alarm without data) is waited for as an event: the wait ends when the alarm exists in
  // another state (or, as a net, at the re-check time), not by polling; the gate then decides.
  // Where the change already runs, the region's alarms stay watched: a team alarm there is a
  // team-wide rollback, not a pause.
  states[blockerWait] = callback(
    HandlerName.START_BAKE,
    {
      purpose: 'blocker',
      'blocker.$': '$.gate.value.blockingAlarm',
      // What the gate asked: the wait's re-check takes the same decision (lambdas/shared/gate.ts).
      gate: asks,
      'until.$': '$.gate.value.nextOpening',
      'pipeline.$': '$.pipeline',
      'change.$': '$.change',
      ...where,
      ...scope,
      ...bakeFields(p, 0),
      minRequests: 0,
      ...(watchWhileWaiting ? { 'alarms.$': '$.alarms' } : { alarms: [] }),
      metricScopes: [],
    },
    CHILD_TIMEOUT_SECONDS,
    check,
    failTo,
  );
  // A production step waits for its window in a hold: a task that an override of the window
  // (lambdas/shared/overrides.ts) or an approved emergency (lambdas/shared/emergency-bakes.ts)
  // ends at once, where a Wait could not be. Where the change already runs the hold watches
  // the region's alarms (slow burns); before its first step nothing of it runs there, so it
  // watches none. Pre-production has no window (never closed by it): a plain Wait.
  states[wait] = !preProd
    ? callback(
        HandlerName.START_BAKE,
        {
          purpose: 'hold',
          'until.$': '$.gate.value.nextOpening',
          'pipeline.$': '$.pipeline',
          'change.$': '$.change',
          'stage.$': '$.stage',
          'region.$': '$.region',
          ...scope,
          service: fleetService(p),
          durationSeconds: 0,
          minRequests: 0,
          ...(watchWhileWaiting ? { 'alarms.$': '$.alarms' } : { alarms: [] }),
          metricScopes: [],
        },
        CHILD_TIMEOUT_SECONDS,
        check,
        failTo,
      )
    : { Type: 'Wait', TimestampPath: '$.gate.value.nextOpening', Next: check };
  return init;
};
