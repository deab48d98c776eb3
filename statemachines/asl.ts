/**
 * ASL primitives shared by the builders: task states, callbacks, retries, timeouts.
 * JSONPath with intrinsic functions only: the local interpreter runs this exact JSON.
 */
import { maxExtensionSeconds } from '../core/bake.ts';
import { type ResolvedPipeline } from '../core/model.ts';
import { fleetService } from '../core/naming.ts';
import { HandlerError, RetryableHandlerErrors, WAVE_HOLD_CAP_SECONDS } from '../core/contracts.ts';
import { assertPayload } from './contracts.ts';
import { functionArnKey, HandlerName, placeholder } from './resources.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type State = Record<string, Json>;
export type States = Record<string, State>;

export interface StateMachineDefinitions {
  pipeline: Record<string, unknown>;
  region: Record<string, unknown>;
}

export const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
export const LAMBDA_CALLBACK = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
export const START_CHILD_SYNC = 'arn:aws:states:::states:startExecution.sync:2';

/**
 * A rollout of one region (or a wait for a lane, or for a blocker) can take days of windows
 * and bakes, and weeks of a company-event freeze: 60 days. (The simulator's clock honours
 * timers past Node's 2^31-1 ms, 24.8 days, by re-arming them: sim/clock.ts.)
 */
export const CHILD_TIMEOUT_SECONDS = WAVE_HOLD_CAP_SECONDS;
/** A deployment or rollback that runs longer than this has failed. */
export const DEPLOY_TIMEOUT_SECONDS = 6 * 3600;
export const INVOKE_TIMEOUT_SECONDS = 60;

/**
 * Handler crashes and timeouts: the invocation died, perhaps after a side effect (a deployment
 * created, not yet recorded). Every handler is idempotent, so the retry finishes the work.
 */
export const CRASH_ERRORS = ['Lambda.Unknown', 'Sandbox.Timedout', 'Runtime.ExitError'] as const;

/** Throttling, transient Lambda errors and handler crashes are retried with exponential backoff. */
export const TRANSIENT_RETRY: Json[] = [
  {
    ErrorEquals: [
      // The function died (a crash, a timeout, the runtime exiting) before it answered.
      ...CRASH_ERRORS,
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
      'ThrottlingException',
      'TooManyRequestsException',
      'ProvisionedThroughputExceededException',
      // CloudWatch's throttling error code.
      'Throttling',
      // S3's throttling (the artifact bucket).
      'SlowDown',
      ...RetryableHandlerErrors,
    ],
    IntervalSeconds: 2,
    MaxAttempts: 6,
    BackoffRate: 2,
    MaxDelaySeconds: 60,
  },
];

/**
 * A rollback waits for the stopped deployment's in-flight batch to finish before CodeDeploy
 * takes the rollback deployment: it keeps trying for a quarter of an hour, never gives up
 * after a minute while the bad revision still serves.
 */
export const ROLLBACK_RETRY: Json[] = [
  { ErrorEquals: [HandlerError.DEPLOYMENT_GROUP_BUSY], IntervalSeconds: 5, MaxAttempts: 45, BackoffRate: 1.5, MaxDelaySeconds: 20 },
  // Another rollback of the change still restores a group: waited for as long as a rollback may take (~6 h).
  { ErrorEquals: [HandlerError.ROLLBACK_ELSEWHERE], IntervalSeconds: 30, MaxAttempts: 80, BackoffRate: 1.5, MaxDelaySeconds: 300 },
  ...TRANSIENT_RETRY,
];

export const arn = (handler: HandlerName): string => placeholder(functionArnKey(handler));

export const invoke = (handler: HandlerName, payload: Json, next: string | undefined, extra: State = {}): State => {
  assertPayload(handler, payload);
  return {
  Type: 'Task',
  Resource: LAMBDA_INVOKE,
  Parameters: { FunctionName: arn(handler), Payload: payload },
  TimeoutSeconds: INVOKE_TIMEOUT_SECONDS,
  Retry: TRANSIENT_RETRY,
  ResultPath: null,
  ...(next ? { Next: next } : { End: true }),
  ...extra,
  };
};

/** What every bake of the pipeline is told: its duration and the pipeline's data-point policy. */
export const bakeFields = (p: ResolvedPipeline, durationSeconds: number): Record<string, Json> => ({
  service: fleetService(p),
  durationSeconds,
  minRequests: p.bake.minRequests,
  // An approved emergency shortens the bake to this (start-bake reads the operators table).
  emergencyFloorSeconds: p.bake.emergencyFloorSeconds,
  ...(p.bake.maxExtensionSeconds !== undefined ? { maxExtensionSeconds: p.bake.maxExtensionSeconds } : {}),
});

/**
 * A bake of `seconds` (start-bake, `.waitForTaskToken`): `where` is its scope and what it
 * watches and counts (`alarms`, `metricScopes`, literal or `.$` paths); its task times out
 * only past the extension cap.
 */
export const bake = (p: ResolvedPipeline, seconds: number, where: Record<string, Json>, next: string, catchTo: string): State =>
  callback(
    HandlerName.START_BAKE,
    { 'pipeline.$': '$.pipeline', 'change.$': '$.change', ...where, ...bakeFields(p, seconds) },
    bakeTimeout(p, seconds),
    next,
    catchTo,
  );

export const callback = (handler: HandlerName, payload: Record<string, Json>, timeoutSeconds: number, next: string, catchTo: string, extra: State = {}): State => {
  const withToken = { ...payload, 'taskToken.$': '$$.Task.Token' };
  assertPayload(handler, withToken);
  return {
  Type: 'Task',
  Resource: LAMBDA_CALLBACK,
  Parameters: { FunctionName: arn(handler), Payload: withToken },
  TimeoutSeconds: timeoutSeconds,
  Retry: TRANSIENT_RETRY,
  Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: catchTo }],
  ResultPath: null,
  Next: next,
  ...extra,
  };
};

export const notify = (type: string, scope: Record<string, Json>, next: string | undefined, fields?: Record<string, Json>): State =>
  invoke(HandlerName.NOTIFY, { type, 'pipeline.$': '$.pipeline', 'change.$': '$.change', ...scope, ...(fields ? { fields } : {}) }, next);

/**
 * A bake may extend for data points up to its cap (default twice its duration) and then
 * fails itself; the task's timeout is only the net beyond that.
 */
export const bakeTimeout = (p: ResolvedPipeline, seconds: number): number =>
  seconds + maxExtensionSeconds(seconds, p.bake.maxExtensionSeconds) + 3600;


export const sanitize = (s: string): string => s.replace(/[^A-Za-z0-9]/g, '');
export const stageId = (stage: string): string => sanitize(stage[0]!.toUpperCase() + stage.slice(1));
