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

