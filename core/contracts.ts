/**
 * Payload contracts between the state machines (statemachines/) and the handlers
 * (lambdas/): zod schemas, read by both sides. The ASL builders produce exactly these shapes
 * in `Parameters.Payload` (a test holds every task's payload keys against its handler's
 * schema); each handler parses its input with its schema before any business logic runs, so
 * a mismatch fails with the field named, never half done. Pure, no AWS imports.
 */
import { z } from 'zod';
import { DeploymentTarget } from './model.ts';
import { ArtifactRef } from './artifact-contracts.ts';
import { isAlarmName } from './operator-items.ts';

export * from './step-errors.ts';
export * from './bus-events.ts';
export * from './artifact-contracts.ts';

const nonEmpty = z.string().min(1);
const isoTime = z.string().refine((v) => !Number.isNaN(Date.parse(v)), { message: 'expected an ISO 8601 time' });

/** Where a step happens. `stage` is `alpha`..`zeta` or `wave-N`. */
export const StepScope = z.object({
  pipeline: nonEmpty,
  change: nonEmpty,
  stage: nonEmpty,
  region: nonEmpty.optional(),
  unit: nonEmpty.optional(),
  target: z.enum([DeploymentTarget.ONE_BOX, DeploymentTarget.FLEET]).optional(),
});
export type StepScope = z.infer<typeof StepScope>;

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
  /**
   * The artifact's exact S3 object: every deployment of the change deploys this version,
   * checked by its checksum. Set by the build stage; a change without it fails in build.
   */
  artifact?: ArtifactRef;
  author: string;
  /** ISO time the change was merged: the base of its lead time. */
  mergedAt: string;
  /** The CodeCommit repository the push went to: the review gate reads its pull requests. */
  repository: string;
  /** The commit pushed to main. */
  commit: string;
}

/** Handler `review-gate`: did `commit` reach main through an approved review? */
export const ReviewGateInput = z.object({
  pipeline: nonEmpty,
  change: nonEmpty,
  /** The CodeCommit repository the push went to. */
  repository: nonEmpty,
  /** The commit pushed to main. */
  commit: nonEmpty,
});
export type ReviewGateInput = z.infer<typeof ReviewGateInput>;
export type ReviewGateOutput =
  | { approved: true; pullRequest: string; reviewers: string[] }
  /** `reason`: `unreviewed: ...`, `self-approved: ...`, `approval-rules-not-satisfied: ...`, `review-unknown: ...`. */
  | { approved: false; reason: string };

/** Handler `notify`: publishes one event of the vocabulary (core/events.ts). */
export const NotifyInput = StepScope.partial().extend({
  type: nonEmpty,
  /** Extra fields of the event (e.g. `reason`, `leadTimeFrom`). */
  fields: z.record(z.string(), z.unknown()).optional(),
});
export type NotifyInput = z.infer<typeof NotifyInput>;

/** A CloudWatch alarm: its region and full name. */
export const AlarmRef = z.object({ region: nonEmpty, name: nonEmpty });
export type AlarmRef = z.infer<typeof AlarmRef>;

/** An alarm's state as handsoff reads it: CloudWatch's three, or MISSING when the alarm does not exist. */
export type ObservedAlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA' | 'MISSING';

/** A state in which an alarm closes a gate: anything but OK. */
export const BlockingState = z.enum(['ALARM', 'INSUFFICIENT_DATA', 'MISSING']);
export type BlockingState = z.infer<typeof BlockingState>;

/**
 * The alarm that closes a gate, and the state it closed it in (@default 'ALARM'). A blocker
 * wait for it ends when the alarm exists and is in another state: then the gate decides again.
 */
export const BlockingAlarm = AlarmRef.extend({ state: BlockingState.optional() });
export type BlockingAlarm = z.infer<typeof BlockingAlarm>;

export const CheckWindowOutput = z.object({
  open: z.boolean(),
  /**
   * ISO 8601 UTC of the next opening, when closed: the window's next opening, or (blocked by
   * an alarm) the time to check again, BLOCKER_RECHECK_SECONDS from now.
   */
  nextOpening: z.string().optional(),
  /** Equals !open; fed back as `wasBlocked` on the next check. */
  blocked: z.boolean(),
  /**
   * Why it is closed (BlockReason: `time-window`, `team-alarm`, `company-event`,
   * `alarm-missing`, `insufficient-data`); absent when open.
   */
  reason: z.string().optional(),
  /** Same as `reason`; fed back as `blockedReason` on the next check. Absent when open. */
  blockedReason: z.string().optional(),
  /**
   * The alarm that blocks the gate, with the state it blocks in: in ALARM (reason `team-alarm`
   * or `company-event`), missing (`alarm-missing`) or without data (`insufficient-data`);
   * absent when open or closed by the time window. The state machine then waits for it with
   * start-bake `purpose: 'blocker'` (`blocker` = this, `until` = `nextOpening`): the wait
   * ends when the alarm exists in another state, or at `nextOpening` at the latest, then it
   * checks again.
   */
  blockingAlarm: BlockingAlarm.optional(),
  /** Open thanks to overrides (a blocker set aside): their ids (the `unblocked` event names who and why). */
  overrides: z.array(z.string()).optional(),
});
export type CheckWindowOutput = z.infer<typeof CheckWindowOutput>;

/**
 * What a gate asks (check-window's `team`, `alarms` and `window`, below): a blocker wait
 * carries it so that its re-check takes the very decision the gate would (lambdas/shared/gate.ts).
 */
export const GateAsk = z.object({
  team: nonEmpty.optional(),
  alarms: z.array(nonEmpty).optional(),
  window: z.boolean().optional(),
});
export type GateAsk = z.infer<typeof GateAsk>;

/** Handler `check-window`: is the region's deployment window open now? */
export const CheckWindowInput = StepScope.extend({
  region: nonEmpty,
  /** Result of the previous check of this gate, if any (to publish `unblocked` once). */
  wasBlocked: z.boolean().optional(),
  /**
   * `blockedReason` of the previous check's output, if it was blocked: `blocked` is published
   * only when the reason changes, `unblocked` (with this reason) when it clears. A previous
   * check with `wasBlocked: true` and no `blockedReason` counts as blocked by the time window.
   */
  blockedReason: z.string().optional(),
  /**
   * The pipeline's team. When given, the blockers are checked before the window: the team
   * aggregate alarm of the region and the company event alarm of the region; each must exist
   * (else `alarm-missing`), have data (else `insufficient-data`) and not be in ALARM.
   */
  team: nonEmpty.optional(),
  /**
   * Names of the alarms (in `region`) the step's deployment will watch. With the window open,
   * one of them without data (INSUFFICIENT_DATA) holds the gate (`insufficient-data`): a
   * deployment never starts on alarms that cannot see.
   */
  alarms: z.array(nonEmpty).optional(),
  /**
   * Whether the step has a deployment window (production). `false` for a pre-production
   * step: only the data of `alarms` is checked. @default true
   */
  window: z.boolean().optional(),
  /**
   * The previous check's whole output, if any. When present it wins over `wasBlocked` and
   * `blockedReason`: the previous check was blocked when `previous.blocked` is true, for
   * `previous.reason` (or `previous.blockedReason`; neither: the time window). So `blocked` is
   * published once per blocking episode and reason, `unblocked` once when it clears.
   */
  previous: CheckWindowOutput.optional(),
});
export type CheckWindowInput = z.infer<typeof CheckWindowInput>;

/**
 * How long after a check blocked by an alarm the gate's decision is taken again at the latest
 * (`nextOpening`): a safety net, the blocker wait normally ends on the alarm's OK event. The
 * re-check runs in the blocker wait's handler (bake-end), not in the execution: while the gate
 * would stay closed for the same alarm the wait is re-armed for another period
 * (blockerRecheckSeconds), and the execution wakes only when the decision changed (open,
 * another reason), so a wait of any length costs the execution a fixed number of history
 * events.
 */
export const BLOCKER_RECHECK_SECONDS = 3600;

/** The longest period between two re-checks of a blocker wait blocked by an alarm: a day. */
export const BLOCKER_RECHECK_MAX_SECONDS = 24 * 3600;

/**
 * The period a blocker wait is re-armed for at its `extension`-th re-arm (1, 2, ...), when its
 * gate would stay closed by the same blocker.
 * - Blocked by an alarm: the period doubles from BLOCKER_RECHECK_SECONDS, up to
 *   BLOCKER_RECHECK_MAX_SECONDS (1 h to the first re-check, then 2, 4, 8, 16 h, then daily).
 *   The re-check is the last of two nets for a lost state-change event: the reconciler's
 *   hourly heartbeat (core/sweeps.ts) reads every blocking alarm and ends the wait of one whose
 *   event was lost. So a lost event still costs at most an hour, and a month's freeze costs 33
 *   re-checks, not 720.
 * - Held by an approved emergency (its blocker is the pipeline's emergency-hold key, no
 *   alarm), or by a blocker it does not name: every hour, since no heartbeat reads it. The
 *   emergency's end ends the wait; the re-check is its net.
 */
export const blockerRecheckSeconds = (extension: number, blocker: string | undefined): number =>
  blocker !== undefined && isAlarmName(blocker) ? Math.min(BLOCKER_RECHECK_SECONDS * 2 ** Math.max(0, extension), BLOCKER_RECHECK_MAX_SECONDS) : BLOCKER_RECHECK_SECONDS;

/**
 * The grid of the reconciler's sweeps (core/sweeps.ts): a lost event of a deployment or a
 * watched bake delays its decision by at most this.
 */
export const RECONCILE_PERIOD_SECONDS = 300;

/** Handler `start-deployment` (`.waitForTaskToken`). */
export const StartDeploymentInput = StepScope.extend({
  region: nonEmpty,
  taskToken: nonEmpty,
  revision: nonEmpty,
  /** The exact object of the revision (the change's `artifact`): deployed by S3 version and checksum, never by key alone. */
  artifact: ArtifactRef,
  application: nonEmpty,
  deploymentGroup: nonEmpty,
  /** Alarms that fail the step while it runs; never empty (a deployment never runs unwatched). */
  alarms: z.array(nonEmpty).min(1, { message: 'must not be empty; the deployment would run unwatched' }),
});
export type StartDeploymentInput = z.infer<typeof StartDeploymentInput>;
/** Sent with SendTaskSuccess when the CodeDeploy deployment succeeds. */
export interface DeploymentResult {
  deploymentId: string;
  status: 'Succeeded';
}

/** Where bake metrics are counted: CloudWatch region + the `Scope` dimension value. */
export const MetricScope = z.object({ region: nonEmpty, scope: nonEmpty });
export type MetricScope = z.infer<typeof MetricScope>;

/** The cap of a region execution (statemachines/asl.ts CHILD_TIMEOUT_SECONDS), and of a wave hold whose wave's regions never all reach theirs: 60 days. */
export const WAVE_HOLD_CAP_SECONDS = 60 * 24 * 3600;
/** Handler `start-bake` (`.waitForTaskToken`). */
export const StartBakeInput = StepScope.extend({
  taskToken: nonEmpty,
  durationSeconds: z.number().nonnegative(),
  minRequests: z.number().int().nonnegative(),
  /** Alarms watched during the bake; checked again at its end. */
  alarms: z.array(AlarmRef),
  /** Requests counted for minimum data points (summed over these scopes). */
  metricScopes: z.array(MetricScope),
  /** `Service` dimension of the request metrics. @default the pipeline name */
  service: nonEmpty.optional(),
  /**
   * Total time the bake may extend while traffic is too thin, before it fails with
   * InsufficientData. @default twice durationSeconds (core/bake.ts)
   */
  maxExtensionSeconds: z.number().nonnegative().optional(),
  /**
   * The pipeline's `bake.emergencyFloor`: once the change's emergency is approved (the
   * operators table) the bake lasts only this (its minimum requests still apply). Absent: the
   * bake is never shortened.
   */
  emergencyFloorSeconds: z.number().nonnegative().optional(),
  /**
   * `hold`: a wait between steps (e.g. while a window is closed) that watches `alarms` like a
   * bake and ends at `until`, publishing no `bake.*` events and needing no requests; at its
   * end it succeeds unless an alarm is missing or in ALARM.
   *
   * `blocker`: a hold while the gate is blocked by the alarm `blocker` (check-window's
   * `blockingAlarm`, in `blocker.state`), that also succeeds (BlockerResult with `cleared`) as
   * soon as `blocker` exists in another state (at its start if it does already). An alarm
   * that vanishes never ends it. `blocker` in ALARM never fails it, unless it is also one of
   * `alarms` (e.g. the team aggregate where the change runs): then it fails with
   * AlarmTriggered like any of `alarms`; `blocker` missing never fails it (it waits for it).
   * At `until` (the re-check cap) it succeeds (BlockerResult without `cleared`) unless one
   * of `alarms` (but `blocker`) is missing or in ALARM. @default 'bake'
   */
  purpose: z.enum(['bake', 'hold', 'blocker']).optional(),
  /** ISO 8601 end of a hold or blocker wait (required with `purpose: 'hold'` or `'blocker'`; ignored for bakes). */
  until: isoTime.optional(),
  /** The alarm a blocker wait waits for, and the state it blocks in (required with `purpose: 'blocker'`). */
  blocker: BlockingAlarm.optional(),
  /**
   * With `purpose: 'blocker'`: what the gate asked (its `team`, `alarms`, `window`). At `until`
   * the wait takes the gate's decision again: still closed by `blocker` in the same state, it
   * re-arms itself for another period (blockerRecheckSeconds) without waking the execution; otherwise it
   * succeeds and the gate decides (and publishes). Without it (a wait started by an older
   * definition) it succeeds at `until`, as before.
   */
  gate: GateAsk.optional(),
  /** A wave hold (statemachines/wave-hold.ts): it ends once every region of `regions` reached its own, else at `until` (default: the cap). */
  wave: z.object({ regions: z.array(nonEmpty).min(2) }).optional(),
}).superRefine((input, ctx) => {
  const purpose = input.purpose ?? 'bake';
  const problem = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (purpose === 'bake') {
    if (input.alarms.length === 0) problem('alarms', 'must not be empty for a bake: it would pass unwatched');
  }
  if (input.wave !== undefined) {
    if (purpose !== 'hold') problem('wave', "is only for a hold (purpose 'hold')");
    else if (!input.wave.regions.includes(input.region ?? '')) problem('wave', `must list the hold's own region (${input.region ?? 'none given'})`);
    return;
  }
  if (purpose === 'bake') return;
  if (input.until === undefined) problem('until', `is required for a ${purpose}: the ISO 8601 time it ends`);
  if (purpose === 'blocker' && input.blocker === undefined) problem('blocker', 'is required for a blocker wait: { region, name } of the blocking alarm');
});
export type StartBakeInput = z.infer<typeof StartBakeInput>;

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
  /** Name of the blocking alarm, when the wait ended because it exists in another state than the one that blocked. */
  cleared?: string;
  /** ISO 8601: the wait reached its re-check cap with the blocking alarm (as far as it knows) still in ALARM. */
  until?: string;
}

/** Input of a handler started by a schedule (the reconciler): the scheduled event, not read. */
export const ScheduledInvocation = z.unknown();

/** Handler `reconcile`, invoked by a sweep's wake or the heartbeat (core/sweeps.ts): what it did. */
export interface ReconcileOutput {
  /** Open waiters examined (not counted: an open bake or hold that watches no alarm and is not overdue, which the sweep's Query leaves out, lambdas/reconcile). */
  checked: number;
  /** Waiters it completed successfully (a lost success event, an overdue bake that passed). */
  completed: number;
  /** Waiters it failed (a lost alarm or failure event, an overdue bake that failed). */
  failed: number;
  /** Lanes it freed because the execution holding them had ended. */
  lanesFreed?: number;
  /** Changes it told they hold a lane (a hand-over that had failed, or a freed lane handed on). */
  lanesHandedOver?: number;
  /** Finished waiters whose result had not reached Step Functions (a handler died or was throttled before delivering it): delivered now. */
  redelivered?: number;
  /** ISO time of the next sweep this one woke (something it read is still watched, or it could not finish); absent: none until a wake or the heartbeat. */
  nextSweep?: string;
}

/** Handler `bake-end`, invoked by the EventBridge Scheduler one-time schedule. */
export const BakeEndInput = z.object({ bakeId: nonEmpty });
export type BakeEndInput = z.infer<typeof BakeEndInput>;

/**
 * Handler `rollback` (`.waitForTaskToken`): roll back every scope of (stage, region) that got
 * the change. Without `region` (a wave-level rollback), the region named by `reason` (when it
 * is the JSON of a StepFailureCause with `region`) is rolled back, else every region of the stage.
 * Only groups whose latest deployment is still this change's (or its rollback) are restored: a
 * group a newer change was deployed to since is left as it is.
 */
export const RollbackInput = StepScope.extend({
  taskToken: nonEmpty,
  /** The failure's raw Step Functions `Cause` (JSON of StepFailureCause), or text. */
  reason: z.string(),
  /**
   * The later stage in which the change failed, when this rolls back an earlier stage that
   * got it: every region of the stage (or `region`) is rolled back, whatever region `reason`
   * names, and the reason says where the change failed.
   */
  failedIn: nonEmpty.optional(),
  /** With `failedIn`, when regions of that wave failed: their outcomes (RegionOutcome), which give the reason. */
  outcomes: z.array(z.object({ region: nonEmpty, status: z.enum(['succeeded', 'failed']), reason: z.string().optional() })).optional(),
});
export type RollbackInput = z.infer<typeof RollbackInput>;
export interface RollbackResult {
  rolledBack: Array<{ deploymentGroup: string; region: string; revision: string }>;
  /** Groups left as they are: a newer change was deployed there since (it contains this one). */
  superseded?: Array<{ deploymentGroup: string; region: string; revision: string }>;
}

/**
 * Handler `lane`. A lane is a stage of a pipeline (a pre-production stage or a wave): it
 * holds at most one change at a time. `acquire` is a `.waitForTaskToken` task completed
 * when the change holds the lane; `release` frees the lanes the change holds and hands each
 * to the change that has waited longest (batching: to the newest, superseding the older ones).
 */
export const LaneInput = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('acquire'),
    pipeline: nonEmpty,
    change: nonEmpty,
    stage: nonEmpty,
    taskToken: nonEmpty,
    /** ARN of the acquiring execution (`$$.Execution.Id`): a lane held by an execution that ended is freed by the reconciler. */
    execution: nonEmpty.optional(),
    /** Release batching (core/batching.ts): the change's merge time orders it among the waiters; a newer one supersedes it. */
    batching: z.boolean().optional(),
    mergedAt: nonEmpty.optional(),
    /** Batching: the stage the change holds now, freed while it waits so that newer changes can join the wait. */
    previous: nonEmpty.optional(),
  }),
  z.object({ action: z.literal('release'), pipeline: nonEmpty, change: nonEmpty, stages: z.array(nonEmpty) }),
]);
export type LaneInput = z.infer<typeof LaneInput>;
