/**
 * One region of a wave: the region machine's execution for (change, region), started with
 * `startExecution.sync:2` under a deterministic name (core/naming.ts regionExecutionName).
 * A repeated start of that execution while it runs is that execution (Step Functions treats
 * the same name and input as one start). One that already ended answers
 * ExecutionAlreadyExists: its outcome is adopted (DescribeExecution), never run again; an
 * outcome that cannot be read is a failed region, never a promotion.
 */
import { placeholder, REGION_EXECUTIONS_ARN_PREFIX_KEY, REGION_STATE_MACHINE_ARN_KEY } from './resources.ts';
import { CHILD_TIMEOUT_SECONDS, START_CHILD_SYNC, type State, type States } from './asl.ts';

export const DESCRIBE_EXECUTION = 'arn:aws:states:::aws-sdk:sfn:describeExecution';
const NAME = "States.Format('{}-{}', $.change, $.item.region)";

/**
 * The states of the wave Map's item processor for wave `id` (`Wave1`...), starting at
 * `${id}.Region`. The region's outcome (`{ region, status, reason }`) is the iteration's output;
 * with `next`, it is put at `$.outcome` instead and the iteration goes on to `next` (the wave
 * hold of a wave of several regions, statemachines/wave-hold.ts).
 */
export const regionChildStates = (id: string, next?: string): States => {
  const outcomeTo = (state: State): State => {
    if (!next) return state;
    const { End: _end, ...rest } = state;
    return { ...rest, ResultPath: '$.outcome', Next: next };
  };
  const start = `${id}.Region`;
  const adopt = `${id}.Region.Adopt`;
  const adopted = `${id}.Region.Adopted`;
  const outcome = `${id}.Region.AdoptedOutcome`;
  const unknown = `${id}.Region.AdoptFailed`;
  return {
    [start]: outcomeTo({
      Type: 'Task',
      Resource: START_CHILD_SYNC,
      Parameters: {
        StateMachineArn: placeholder(REGION_STATE_MACHINE_ARN_KEY),
        'Name.$': NAME,
        Input: {
          'pipeline.$': '$.pipeline',
          'change.$': '$.change',
          'revision.$': '$.revision',
          'artifact.$': '$.artifact',
          'stage.$': '$.stage',
          'region.$': '$.item.region',
          'application.$': '$.item.application',
          'oneBoxGroup.$': '$.item.oneBoxGroup',
          'units.$': '$.item.units',
          'oneBoxMetricScopes.$': '$.item.oneBoxMetricScopes',
          'alarmNames.$': '$.item.alarmNames',
          'alarms.$': '$.item.alarms',
          'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id',
        },
      },
      TimeoutSeconds: CHILD_TIMEOUT_SECONDS,
      Retry: [{ ErrorEquals: ['StepFunctions.ExecutionLimitExceeded', 'StepFunctions.SdkClientException'], IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2 }],
      // The integration names a refused start after the API's error code (as
      // StepFunctions.ExecutionLimitExceeded above); the SDK's exception name is caught too.
      Catch: [{ ErrorEquals: ['StepFunctions.ExecutionAlreadyExists', 'StepFunctions.ExecutionAlreadyExistsException'], ResultPath: '$.error', Next: adopt }],
      ResultSelector: { 'region.$': '$.Output.region', 'status.$': '$.Output.status', 'reason.$': '$.Output.reason' },
      End: true,
    }),
    [adopt]: {
      Type: 'Task',
      Resource: DESCRIBE_EXECUTION,
      Parameters: { 'ExecutionArn.$': `States.Format('{}:{}', '${placeholder(REGION_EXECUTIONS_ARN_PREFIX_KEY)}', ${NAME})` },
      Retry: [{ ErrorEquals: ['SFN.ThrottlingException', 'SFN.SfnException', 'States.Timeout'], IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2 }],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: unknown }],
      TimeoutSeconds: 60,
      // The whole answer: an execution that did not succeed has no Output to select.
      ResultPath: '$.adopted',
      Next: adopted,
    },
    [adopted]: {
      Type: 'Choice',
      Choices: [{ And: [{ Variable: '$.adopted.Status', StringEquals: 'SUCCEEDED' }, { Variable: '$.adopted.Output', IsPresent: true }], Next: outcome }],
      Default: unknown,
    },
    ...(next
      ? {
          [outcome]: { Type: 'Pass', Parameters: { 'value.$': 'States.StringToJson($.adopted.Output)' }, ResultPath: '$.adoptedOutcome', Next: `${outcome}.Keep` },
          [`${outcome}.Keep`]: {
            Type: 'Pass',
            Parameters: { 'region.$': '$.adoptedOutcome.value.region', 'status.$': '$.adoptedOutcome.value.status', 'reason.$': '$.adoptedOutcome.value.reason' },
            ResultPath: '$.outcome',
            Next: next,
          },
        }
      : {
          [outcome]: {
            Type: 'Pass',
            Parameters: { 'value.$': 'States.StringToJson($.adopted.Output)' },
            OutputPath: '$.value',
            End: true,
          },
        }),
    [unknown]: outcomeTo({
      Type: 'Pass',
      Parameters: {
        'region.$': '$.item.region',
        status: 'failed',
        'reason.$': `States.Format('the region execution {} already ran and its outcome cannot be adopted; not run again', ${NAME})`,
      },
      End: true,
    }),
  };
};
