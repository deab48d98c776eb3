/**
 * Payload contracts between the state machines (statemachines/) and the handlers
 * (lambdas/). The ASL builders produce exactly these shapes in `Parameters.Payload`;
 * handlers accept exactly these. Pure types, no AWS imports.
 */
import type { DeploymentTarget } from './model.ts';

/** Where a step happens. `stage` is `alpha`..`zeta` or `wave-N`. */
export interface StepScope {
  pipeline: string;
  change: string;
  stage: string;
  region?: string;
  unit?: string;
  target?: DeploymentTarget;
}

/**
 * Input of a change's pipeline execution, started by handler `start-change` under the
 * execution name `change` (one push, one change, one execution).
 */
export interface ChangeExecutionInput {
  pipeline: string;
  /** The change id (changeIdFor): the commit id, `-2`, `-3`... for later pushes of the same commit. */
  change: string;
  /** Immutable revision id of the change's artifact (its key is naming.artifactKey). */
  revision: string;
  author: string;
  /** ISO time the change was merged: the base of its lead time. */
  mergedAt: string;
  /** The CodeCommit repository the push went to: the review gate reads its pull requests. */
  repository: string;
  /** The commit pushed to main. */
  commit: string;
}

/** Handler `review-gate`: did `commit` reach main through an approved review? */
export interface ReviewGateInput {
  pipeline: string;
  change: string;
  repository: string;
  commit: string;
}
export type ReviewGateOutput =
  | { approved: true; pullRequest: string; reviewers: string[] }
  /** `reason`: `unreviewed: ...`, `self-approved: ...`, `approval-rules-not-satisfied: ...`, `review-unknown: ...`. */
  | { approved: false; reason: string };

/** A CodeCommit "Repository State Change" event, as EventBridge delivers it. */
export interface CodeCommitPushDetail {
  event: string;
  referenceType: string;
  referenceName: string;
  repositoryName: string;
  commitId: string;
  oldCommitId?: string;
  callerUserArn?: string;
}

/**
 * Handler `start-change`: the target of a pipeline's push rule. It turns one push event into
 * one change and starts its pipeline execution by name.
 */
export interface StartChangeInput {
  pipeline: string;
  /** The pipeline state machine to start. */
  stateMachineArn: string;
  /** The push event, whole (its `id` tells a duplicated delivery from a new push). */
  event: BusEvent<CodeCommitPushDetail> & { id: string };
}
export interface StartChangeOutput {
  change: string;
  executionArn: string;
  /**
   * True when this delivery claimed the change (its first delivery); false for a duplicate,
   * which found the change's record and at most re-sent the same start (nothing new ran).
   */
  started: boolean;
}

/** Handler `notify`: publishes one event of the vocabulary (core/events.ts). */
export interface NotifyInput extends Partial<StepScope> {
  type: string;
  /** Extra fields of the event (e.g. `reason`, `leadTimeFrom`). */
  fields?: Record<string, unknown>;
}

/** Handler `check-window`: is the region's deployment window open now? */
export interface CheckWindowInput extends StepScope {
  region: string;
  /** Result of the previous check of this gate, if any (to publish `unblocked` once). */
  wasBlocked?: boolean;
  /**
   * `blockedReason` of the previous check's output, if it was blocked: `blocked` is published
   * only when the reason changes, `unblocked` (with this reason) when it clears. A previous
   * check with `wasBlocked: true` and no `blockedReason` counts as blocked by the time window.
   */
  blockedReason?: string;
  /**
   * The pipeline's team. When given, the blockers are checked before the window: the team
   * aggregate alarm of the region (must exist) and the company event alarm (if it exists).
   */
  team?: string;
  /**
   * The previous check's whole output, if any. When present it wins over `wasBlocked` and
   * `blockedReason`: the previous check was blocked when `previous.blocked` is true, for
   * `previous.reason` (or `previous.blockedReason`; neither: the time window). So `blocked` is
   * published once per blocking episode and reason, `unblocked` once when it clears.
   */
  previous?: CheckWindowOutput;
}

/** A CloudWatch alarm: its region and full name. */
export interface AlarmRef {
  region: string;
  name: string;
}
export interface CheckWindowOutput {
  open: boolean;
  /**
   * ISO 8601 UTC of the next opening, when closed: the window's next opening, or (blocked by
   * an alarm) the time to check again, BLOCKER_RECHECK_SECONDS from now.
   */
  nextOpening?: string;
  /** Equals !open; fed back as `wasBlocked` on the next check. */
  blocked: boolean;
  /** Why it is closed (BlockReason: `time-window`, `team-alarm`, `company-event`); absent when open. */
  reason?: string;
  /** Same as `reason`; fed back as `blockedReason` on the next check. Absent when open. */
  blockedReason?: string;
  /**
   * The alarm in ALARM that blocks the gate (reason `team-alarm` or `company-event`); absent
   * when open or closed by the time window. The state machine then waits for it with
   * start-bake `purpose: 'blocker'` (`blocker` = this, `until` = `nextOpening`): the wait
   * ends when the alarm leaves ALARM, or at `nextOpening` at the latest, then it checks again.
   */
  blockingAlarm?: AlarmRef;
}

/**
 * How long after a check blocked by an alarm the gate checks again at the latest
 * (`nextOpening`): a safety net, the blocker wait normally ends on the alarm's OK event.
 */
export const BLOCKER_RECHECK_SECONDS = 900;

/** Handler `start-deployment` (`.waitForTaskToken`). */
export interface StartDeploymentInput extends StepScope {
  region: string;
  taskToken: string;
  revision: string;
  application: string;
  deploymentGroup: string;
  /** Alarms that fail the step while it runs. */
  alarms: string[];
}
/** Sent with SendTaskSuccess when the CodeDeploy deployment succeeds. */
export interface DeploymentResult {
  deploymentId: string;
  status: 'Succeeded';
}

/** Where bake metrics are counted: CloudWatch region + the `Scope` dimension value. */
export interface MetricScope {
  region: string;
  scope: string;
}

/** Handler `start-bake` (`.waitForTaskToken`). */
export interface StartBakeInput extends StepScope {
  taskToken: string;
  durationSeconds: number;
  minRequests: number;
  /** Alarms watched during the bake; checked again at its end. */
  alarms: Array<{ region: string; name: string }>;
  /** Requests counted for minimum data points (summed over these scopes). */
  metricScopes: MetricScope[];
  /** `Service` dimension of the request metrics. @default the pipeline name */
  service?: string;
  /**
   * Total time the bake may extend while traffic is too thin, before it fails with
   * InsufficientData. @default twice durationSeconds
   */
  maxExtensionSeconds?: number;
  /**
   * `hold`: a wait between steps (e.g. while a window is closed) that watches `alarms` like a
   * bake and ends at `until`, publishing no `bake.*` events and needing no requests; at its
   * end it succeeds unless an alarm is missing or in ALARM.
   *
   * `blocker`: a hold while the gate is blocked by the alarm `blocker` (check-window's
   * `blockingAlarm`), that also succeeds (BlockerResult with `cleared`) as soon as `blocker`
   * leaves ALARM (OK, INSUFFICIENT_DATA, or it no longer exists), at its start if it is not in
   * ALARM already. `blocker` in ALARM never fails it, unless it is also one of `alarms` (e.g.
   * the team aggregate where the change runs): then it fails with AlarmTriggered like any of
   * `alarms`. At `until` (the re-check cap) it succeeds (BlockerResult without `cleared`)
   * unless one of `alarms` is missing or in ALARM. @default 'bake'
   */
  purpose?: 'bake' | 'hold' | 'blocker';
  /** ISO 8601 end of a hold or blocker wait (required with `purpose: 'hold'` or `'blocker'`; ignored for bakes). */
  until?: string;
  /** The alarm a blocker wait waits for (required with `purpose: 'blocker'`). */
  blocker?: AlarmRef;
}
export interface BakeResult {
  bakeId: string;
  requests: number;
}
/** Sent with SendTaskSuccess when a hold ends with its alarms healthy. */
export interface HoldResult {
  bakeId: string;
  purpose: 'hold';
  until: string;
}
/** Sent with SendTaskSuccess when a blocker wait ends: the gate then checks again. */
export interface BlockerResult {
  bakeId: string;
  purpose: 'blocker';
  /** Name of the blocking alarm, when the wait ended because it left ALARM (or does not exist). */
  cleared?: string;
  /** ISO 8601: the wait reached its re-check cap with the blocking alarm (as far as it knows) still in ALARM. */
  until?: string;
}

/** Handler `reconcile`, invoked on a schedule (every 5 minutes): what it did. */
export interface ReconcileOutput {
  /** Open waiters examined. */
  checked: number;
  /** Waiters it completed successfully (a lost success event, an overdue bake that passed). */
  completed: number;
  /** Waiters it failed (a lost alarm or failure event, an overdue bake that failed). */
  failed: number;
}

/** Handler `bake-end`, invoked by the EventBridge Scheduler one-time schedule. */
export interface BakeEndInput {
  bakeId: string;
}

/**
 * Handler `rollback` (`.waitForTaskToken`): roll back every scope of (stage, region) that got
 * the change. Without `region` (a wave-level rollback), the region named by `reason` (when it
 * is the JSON of a StepFailureCause with `region`) is rolled back, else every region of the stage.
 */
export interface RollbackInput extends StepScope {
  taskToken: string;
  /** The failure's raw Step Functions `Cause` (JSON of StepFailureCause), or text. */
  reason: string;
}
export interface RollbackResult {
  rolledBack: Array<{ deploymentGroup: string; region: string; revision: string }>;
}

/** Task failure error names the handlers send (SendTaskFailure `error`), mapped in ASL Catch. */
export const StepError = {
  DEPLOYMENT_FAILED: 'DeploymentFailed',
  ALARM_TRIGGERED: 'AlarmTriggered',
  ALARM_MISSING: 'AlarmMissing',
  INSUFFICIENT_DATA: 'InsufficientData',
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
  /** Another deployment runs in the group; retry with backoff, never start a second one. */
  DEPLOYMENT_GROUP_BUSY: 'DeploymentGroupBusy',
  /** EventBridge rejected events; retry. */
  PUBLISH_FAILED: 'PublishFailed',
  /** Payload does not match the contract. */
  INVALID_INPUT: 'InvalidInput',
  /** Thrown by check-window (the same name as StepError.WINDOW_UNAVAILABLE). */
  WINDOW_UNAVAILABLE: 'WindowUnavailable',
  /** Thrown by rollback when a rollback cannot be started. */
  ROLLBACK_FAILED: 'RollbackFailed',
  /**
   * Thrown by check-window when the blockers cannot be read (the team aggregate alarm does not
   * exist, or DescribeAlarms failed other than by throttling): fail closed, like WindowUnavailable.
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

/** CodeDeploy "Deployment State-change Notification" detail, as forwarded to the home bus. */
export interface CodeDeployStateChangeDetail {
  region: string;
  application: string;
  deploymentGroup: string;
  deploymentId: string;
  /** START, SUCCESS, FAILURE, STOP, READY, ... */
  state: string;
}

/** CloudWatch "Alarm State Change" detail (subset). */
export interface AlarmStateChangeDetail {
  alarmName: string;
  state: { value: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA'; reason?: string; timestamp?: string };
  previousState?: { value: string };
}

/** An EventBridge event envelope as handlers receive it. */
export interface BusEvent<T> {
  id?: string;
  source: string;
  'detail-type': string;
  region: string;
  time: string;
  resources?: string[];
  detail: T;
}

/**
 * Handler `lane`. A lane is a stage of a pipeline (a pre-production stage or a wave): it
 * holds at most one change at a time. `acquire` is a `.waitForTaskToken` task completed
 * when the change holds the lane; `release` frees the lanes the change holds and hands each
 * to the change that has waited longest.
 */
export type LaneInput =
  | { action: 'acquire'; pipeline: string; change: string; stage: string; taskToken: string }
  | { action: 'release'; pipeline: string; change: string; stages: string[] };
