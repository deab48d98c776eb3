/**
 * The end of a region's branch in a wave of several regions: the wave hold. A region done before
 * the others of its wave waits there in a hold (start-bake, `wave`) that watches its alarms, so
 * a slow burn that starts after its last bake fails it at once: the branch rolls the region
 * back and reports it failed, as a failure inside the region would. The last region of the
 * wave to arrive ends every hold (lambdas/shared/wave-holds.ts), and the wave bakes as a whole.
 * A region that failed waits too, watching nothing: it counts for the wave's end.
 */
import type { ResolvedPipeline } from '../core/model.ts';
import { fleetService } from '../core/naming.ts';
import { StepError } from '../core/contracts.ts';
import { CHILD_TIMEOUT_SECONDS, callback, type Json, type States } from './asl.ts';
import { HandlerName } from './resources.ts';
import { rollbackStates } from './rollback.ts';

/** The wave hold's states for wave `id` (`Wave1`...) of `stage` over `regions`; the region's outcome is at `$.outcome`. @returns its first state. */
export const waveHoldStates = (states: States, p: ResolvedPipeline, id: string, stage: string, regions: readonly string[]): string => {
  const start = `${id}.Region.WaveHold`;
  const watch = `${start}.Watch`;
  const idle = `${start}.Idle`;
  const done = `${id}.Region.Outcome`;
  const rollback = `${start}.Rollback`;
  const failed = `${start}.Failed`;
  const broken = `${start}.Broken`;
  // The hold's judgement (an alarm in ALARM or missing) rolls the region back (`judgedTo`).
  // Anything else (start-bake failing beyond its retries, perhaps before its region reached the
  // wave, so the others would wait for it) fails the iteration: the wave Map's Catch rolls the
  // wave back.
  const judged = [StepError.ALARM_TRIGGERED, StepError.ALARM_MISSING];
  const hold = (alarms: Record<string, Json>, judgedTo?: string) =>
    callback(
      HandlerName.START_BAKE,
      {
        purpose: 'hold',
        wave: { regions: [...regions] },
        'pipeline.$': '$.pipeline',
        'change.$': '$.change',
        stage,
        'region.$': '$.item.region',
        service: fleetService(p),
        durationSeconds: 0,
        minRequests: 0,
        ...alarms,
        metricScopes: [],
      },
      // The hold's own cap is the region executions' (WAVE_HOLD_CAP_SECONDS); the task's is past it.
      CHILD_TIMEOUT_SECONDS + 3600,
      done,
      broken,
      judgedTo
        ? {
            Catch: [
              { ErrorEquals: judged, ResultPath: '$.error', Next: judgedTo },
              { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: broken },
            ],
          }
        : {},
    );
  states[start] = {
    Type: 'Choice',
    Choices: [{ Variable: '$.outcome.status', StringEquals: 'succeeded', Next: watch }],
    Default: idle,
  };
  states[watch] = hold({ 'alarms.$': '$.item.alarms' }, rollback);
  // Rolled back already: nothing of the change runs there to watch, and nothing to judge.
  states[idle] = hold({ alarms: [] });
  states[broken] = { Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' };
  rollbackStates(states, rollback, { stage, 'region.$': '$.item.region' }, failed);
  states[failed] = {
    Type: 'Pass',
    Parameters: { 'region.$': '$.item.region', status: 'failed', 'reason.$': '$.error.Cause' },
    End: true,
  };
  states[done] = { Type: 'Pass', OutputPath: '$.outcome', End: true };
  return start;
};
