/**
 * How a step fails, named once for both sides: the errors handlers send with
 * SendTaskFailure (mapped in the ASL's Catch), the errors a handler invocation throws and
 * which of them the ASL retries, and the `cause` a failure carries. Pure, no AWS imports.
 */
/** Task failure error names the handlers send (SendTaskFailure `error`), mapped in ASL Catch. */
export const StepError = {
  DEPLOYMENT_FAILED: 'DeploymentFailed',
  ALARM_TRIGGERED: 'AlarmTriggered',
  ALARM_MISSING: 'AlarmMissing',
  INSUFFICIENT_DATA: 'InsufficientData',
  /**
   * start-deployment did not start: a watched alarm has no data (INSUFFICIENT_DATA). The
   * state machine goes back to the step's gate, which holds (`insufficient-data`) until it has data.
   */
  ALARM_WITHOUT_DATA: 'AlarmWithoutData',
  WINDOW_UNAVAILABLE: 'WindowUnavailable',
  ROLLBACK_FAILED: 'RollbackFailed',
} as const;
export type StepError = (typeof StepError)[keyof typeof StepError];

/**
 * Names of errors a handler invocation itself throws (Lambda error type in the ASL), besides
 * the SDK's throttling errors (ThrottlingException, TooManyRequestsException,
 * ProvisionedThroughputExceededException), which handlers let through for `Retry`.
 */
export const HandlerError = {
  /** The change's artifact is missing, unversioned or without its SHA-256: the change fails in build. */
  ARTIFACT_UNAVAILABLE: 'ArtifactUnavailable',
  /** Another deployment runs in the group; retry with backoff, never start a second one. */
  DEPLOYMENT_GROUP_BUSY: 'DeploymentGroupBusy',
  /**
   * Thrown by rollback while another rollback of the change still restores a group of its
   * scope: it waits for that one (retried for as long as a rollback may take), never restores twice.
   */
  ROLLBACK_ELSEWHERE: 'RollbackElsewhere',
  /** EventBridge rejected events; retry. */
  PUBLISH_FAILED: 'PublishFailed',
  /** Payload does not match the contract. */
  INVALID_INPUT: 'InvalidInput',
  /** Thrown by check-window (the same name as StepError.WINDOW_UNAVAILABLE). */
  WINDOW_UNAVAILABLE: 'WindowUnavailable',
  /** Thrown by rollback when a rollback cannot be started. */
  ROLLBACK_FAILED: 'RollbackFailed',
  /**
   * Thrown by check-window when the blockers cannot be read (DescribeAlarms failed other than
   * by throttling): fail closed, like WindowUnavailable. (A blocker alarm that does not exist
   * holds the gate instead: `blocked`, reason `alarm-missing`.)
   */
  BLOCKER_UNAVAILABLE: 'BlockerUnavailable',
  /** DynamoDB left items of a BatchWriteItem unprocessed after several retries (throttled); retry. */
  BATCH_WRITE_INCOMPLETE: 'BatchWriteIncomplete',
  /** CodeCommit throttled the review gate (whatever its SDK error's name); retry. */
  REVIEW_THROTTLED: 'ReviewThrottled',
} as const;
export type HandlerError = (typeof HandlerError)[keyof typeof HandlerError];
export const RetryableHandlerErrors: readonly string[] = [
  HandlerError.DEPLOYMENT_GROUP_BUSY,
  HandlerError.PUBLISH_FAILED,
  HandlerError.BATCH_WRITE_INCOMPLETE,
  HandlerError.REVIEW_THROTTLED,
];

/** `cause` of a SendTaskFailure: JSON of this shape, so ASL can surface the reason. */
export interface StepFailureCause {
  reason: string;
  /** Human-readable detail when `reason` is a fixed code (e.g. `insufficient-data`). */
  detail?: string;
  /** Full name of the alarm (AlarmTriggered, AlarmMissing). */
  alarm?: string;
  /** Region of the alarm or deployment that failed the step: a wave-level rollback rolls back only this region. */
  region?: string;
  deploymentId?: string;
}

/** Output of the region child execution: always succeeds, reports its outcome. */
export interface RegionOutcome {
  region: string;
  status: 'succeeded' | 'failed';
  reason?: string;
}

