import { HandlerName } from './resources.ts';
import { DEPLOY_TIMEOUT_SECONDS, Json, LAMBDA_CALLBACK, ROLLBACK_RETRY, States, arn } from './asl.ts';

/**
 * Rolls back every scope of the stage (and region) that got the change, then goes on to
 * `next` (marking the change or region failed). A rollback that itself fails still ends
 * there, never in a promotion, and its reason says the bad revision may still serve.
 */
export const rollbackStates = (states: States, id: string, scope: Record<string, Json>, next: string): string => {
  const failedId = `${id}.RollbackFailed`;
  states[id] = {
    Type: 'Task',
    Resource: LAMBDA_CALLBACK,
    Parameters: {
      FunctionName: arn(HandlerName.ROLLBACK),
      Payload: { 'pipeline.$': '$.pipeline', 'change.$': '$.change', ...scope, 'reason.$': '$.error.Cause', 'taskToken.$': '$$.Task.Token' },
    },
    TimeoutSeconds: DEPLOY_TIMEOUT_SECONDS,
    Retry: ROLLBACK_RETRY,
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.rollbackError', Next: failedId }],
    ResultPath: null,
    Next: next,
  };
  // The reason names both failures: the rollback's, and what made the change fail.
  states[failedId] = {
    Type: 'Pass',
    Parameters: {
      Error: 'RollbackFailed',
      'Cause.$':
        "States.Format('rollback failed ({}), the previous revision may still serve; the change had failed: {}', $.rollbackError.Cause, $.error.Cause)",
    },
    ResultPath: '$.error',
    Next: next,
  };
  return id;
};


/**
 * Before a change is marked failed in `failedIn`: rolls back every earlier stage that got it
 * (each pre-production stage, every region of each earlier wave, and the regions of the failed
 * wave that the failure's own rollback did not cover), all stages at once in one
 * Map, one rollback task per stage. The handler restores only groups that still run the
 * change: a group a newer change was deployed to since keeps it. A stage whose rollback fails
 * does not stop the others; `$.earlierRollbacks` lists the outcomes (a failed one with
 * `failed`: its cause) for the change's `change.failed` reason. Returns the first state's id.
 */
export const rollbackEarlierStates = (
  states: States,
  id: string,
  stages: string[],
  failedIn: string,
  /** Where the failure's reason is: a task error's Cause, or the failed wave's region outcomes. */
  source: { causePath: string } | { outcomesPath: string },
  next: string,
): string => {
  const why: Record<string, Json> =
    'outcomesPath' in source ? { reason: `regions of ${failedIn} failed`, 'outcomes.$': source.outcomesPath } : { 'reason.$': source.causePath };
  const planId = `${id}.Plan`;
  const taskId = `${id}.Stage`;
  const failedId = `${id}.StageFailed`;
  states[planId] = { Type: 'Pass', Result: stages, ResultPath: '$.earlierRollbacks', Next: id };
  states[id] = {
    Type: 'Map',
    ItemsPath: '$.earlierRollbacks',
    ItemSelector: { 'pipeline.$': '$.pipeline', 'change.$': '$.change', ...why, 'stage.$': '$$.Map.Item.Value' },
    ItemProcessor: {
      ProcessorConfig: { Mode: 'INLINE' },
      StartAt: taskId,
      States: {
        [taskId]: {
          Type: 'Task',
          Resource: LAMBDA_CALLBACK,
          Parameters: {
            FunctionName: arn(HandlerName.ROLLBACK),
            Payload: {
              'pipeline.$': '$.pipeline',
              'change.$': '$.change',
              'stage.$': '$.stage',
              failedIn,
              'reason.$': '$.reason',
              ...('outcomesPath' in source ? { 'outcomes.$': '$.outcomes' } : {}),
              'taskToken.$': '$$.Task.Token',
            },
          },
          TimeoutSeconds: DEPLOY_TIMEOUT_SECONDS,
          Retry: ROLLBACK_RETRY,
          Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.rollbackError', Next: failedId }],
          ResultSelector: { 'rolledBack.$': '$.rolledBack' },
          ResultPath: '$.result',
          OutputPath: '$.result',
          End: true,
        },
        [failedId]: { Type: 'Pass', Parameters: { 'stage.$': '$.stage', 'failed.$': '$.rollbackError.Cause' }, End: true },
      },
    },
    MaxConcurrency: 0,
    ResultPath: '$.earlierRollbacks',
    // Never stops the change from being marked failed: the reason then says the rollbacks did not run.
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.earlierRollbacks', Next: next }],
    Next: next,
  };
  return planId;
};
