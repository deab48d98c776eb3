import { type ResolvedPipeline } from '../core/model.ts';
import { HandlerName } from './resources.ts';
import { CHILD_TIMEOUT_SECONDS, INVOKE_TIMEOUT_SECONDS, Json, LAMBDA_INVOKE, States, TRANSIENT_RETRY, arn, bakeFields, callback } from './asl.ts';

/**
 * Gate + wait loop before a production step: the step starts only inside the region's
 * deployment window and while no blocker (the team's aggregate alarm, a company event) is in
 * ALARM. While the gate is closed the change waits: a plain `Wait` until the next opening
 * when nothing of the change runs in the region yet, else a hold (a `.waitForTaskToken`
 * wait that watches the region's alarms), so a slow burn during a night's wait is still
 * caught and rolled back within seconds.
 */
export const windowGate = (
  states: States,
  prefix: string,
  p: ResolvedPipeline,
  scope: Record<string, Json>,
  next: string,
  failTo: string,
  watchWhileWaiting: boolean,
): string => {
  const init = `${prefix}.GateInit`;
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
        'stage.$': '$.stage',
        'region.$': '$.region',
        team: p.team,
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
  states[choice] = {
    Type: 'Choice',
    Choices: [
      { Variable: '$.gate.value.open', BooleanEquals: true, Next: next },
      { Variable: '$.gate.value.blockingAlarm', IsPresent: true, Next: blockerWait },
    ],
    Default: wait,
  };
  // A blocker (team aggregate or company event in ALARM) is waited for as an event: the wait
  // ends when the alarm goes back to OK (or, as a net, at the re-check time), not by polling.
  // Where the change already runs, the region's alarms stay watched: a team alarm there is a
  // team-wide rollback, not a pause.
  states[blockerWait] = callback(
    HandlerName.START_BAKE,
    {
      purpose: 'blocker',
      'blocker.$': '$.gate.value.blockingAlarm',
      'until.$': '$.gate.value.nextOpening',
      'pipeline.$': '$.pipeline',
      'change.$': '$.change',
      'stage.$': '$.stage',
      'region.$': '$.region',
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
  states[wait] = watchWhileWaiting
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
          service: p.service,
          durationSeconds: 0,
          minRequests: 0,
          'alarms.$': '$.alarms',
          metricScopes: [],
        },
        CHILD_TIMEOUT_SECONDS,
        check,
        failTo,
      )
    : { Type: 'Wait', TimestampPath: '$.gate.value.nextOpening', Next: check };
  return init;
};
