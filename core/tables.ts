/**
 * The control plane's DynamoDB tables: schemas (TABLE_SCHEMAS), item layouts and key
 * builders. Every table has a string partition key `pk`; all but the waiters table also
 * have a string sort key `sk`. Table names come from the environment (lambdas/shared/tables.ts).
 * One GSI: the waiters table's sparse `open-waiters` index (OPEN_WAITERS_INDEX), partition key
 * `openShard` (S), sort key `pk` (S), projection ALL: an open waiter carries `openShard = 'OPEN'`
 * and keeps it once finished until its result is delivered (the delivery's write removes it), so
 * the reconciler lists the open waiters and the finished ones whose result never reached Step Functions.
 * The same index answers on-alarm-event: every waiter names the alarms it watches in
 * `watching` (WATCHING_ATTRIBUTE), and one Query of the index filtered on
 * `contains(watching, :alarm)` finds the waiters an alarm's state change concerns: one record
 * per waiter, written once with it, gone from the index with its delivery, aged out by its TTL.
 *
 * | table (env)                 | pk                                   | sk                                  |
 * | --------------------------- | ------------------------------------ | ----------------------------------- |
 * | HANDSOFF_DEPLOYMENTS_TABLE  | `${pipeline}#${change}`              | `${stage}#${region}#${group}`       |
 * | HANDSOFF_WAITERS_TABLE      | `deployment#${id}`, `bake#${bakeId}`, `rollback#...` | (none)              |
 * | HANDSOFF_WINDOWS_TABLE      | pipeline                             | region, or `*` for every region     |
 * | HANDSOFF_HOLIDAYS_TABLE     | pipeline, or `${pipeline}#${region}` | date `YYYY-MM-DD` (window's zone)   |
 * | HANDSOFF_LANES_TABLE        | `${pipeline}#${stage}`               | `holder`, `wait#${change}`, `last` (batching) |
 * | HANDSOFF_CHANGES_TABLE      | `${pipeline}#${change}`              | `started`                           |
 * | HANDSOFF_OPERATORS_TABLE    | OPERATORS_PK (one small partition)   | `override#${id}`, `emergency#${pipeline}#${change}` |
 * | HANDSOFF_AUDIT_TABLE        | `${pipeline}#${change}`, or `${pipeline}` | `${time}#${type}#${digest}` (append-only) |
 *
 * Pure: no AWS imports, no environment. Read by lambdas/, infra/ and sim/.
 */
import type { Weekday } from './model.ts';
import type { ArtifactRef, BlockingState, GateAsk, MetricScope, StepError, StepFailureCause, StepScope } from './contracts.ts';

export type TableName = 'deployments' | 'waiters' | 'windows' | 'holidays' | 'lanes' | 'changes' | 'operators' | 'audit';

/** Waiters carry a TTL attribute (epoch seconds) so finished ones age out. */
export const TTL_ATTRIBUTE = 'expiresAt';

/** Sparse GSI of the waiters table listing the open and the undelivered waiters (partition `openShard`, sort `pk`, projection ALL). */
export const OPEN_WAITERS_INDEX = 'open-waiters';
/** Attribute (the GSI's partition key) set on open waiters and removed when a finished one's result is delivered. */
export const OPEN_SHARD_ATTRIBUTE = 'openShard';
/** Attribute of a waiter: the names of the alarms it watches (watchedAlarms), for on-alarm-event's filter. */
export const WATCHING_ATTRIBUTE = 'watching';

export interface TableSchema {
  /** Partition key `pk` (S) always; sort key `sk` (S) when true. */
  sortKey: boolean;
  /** TTL attribute, when items age out. */
  ttl?: string;
  /** Global secondary indexes (string keys, projection ALL). */
  indexes?: ReadonlyArray<{ name: string; partitionKey: string; sortKey: string }>;
  /**
   * The table holds Step Functions task tokens (a waiter's, a change waiting for a lane):
   * whoever reads a token can complete or fail that step, so the control plane encrypts such
   * tables with its own key, which only the handlers that use them may use.
   */
  tokens?: boolean;
}

/** The control plane's tables: the CDK stack and the simulator's local DynamoDB create exactly these. */
export const TABLE_SCHEMAS: Readonly<Record<TableName, TableSchema>> = {
  deployments: { sortKey: true },
  waiters: { sortKey: false, ttl: TTL_ATTRIBUTE, tokens: true, indexes: [{ name: OPEN_WAITERS_INDEX, partitionKey: OPEN_SHARD_ATTRIBUTE, sortKey: 'pk' }] },
  windows: { sortKey: true },
  holidays: { sortKey: true },
  lanes: { sortKey: true, tokens: true },
  // One record per change (start-change's claim): no task token.
  changes: { sortKey: true },
  // What people decided (overrides, emergency requests and decisions): few items, one
  // partition, read by every gate with one Query; each ages out after it stops applying.
  operators: { sortKey: true, ttl: TTL_ATTRIBUTE },
  // The audit trail: every decision, appended (PutItem only, never updated or deleted).
  audit: { sortKey: true },
};

export const TTL_SECONDS = 30 * 24 * 3600;
export const expiresAt = (nowMillis: number): number => Math.floor(nowMillis / 1000) + TTL_SECONDS;

/** Scope fields stored on items, copied into the events they lead to: a step's scope. */
export type ScopeFields = StepScope;

export const scopeOf = (s: ScopeFields): ScopeFields => ({
  pipeline: s.pipeline,
  change: s.change,
  stage: s.stage,
  region: s.region,
  unit: s.unit,
  target: s.target,
});

// ---------------------------------------------------------------- deployments

export const DeploymentStatus = {
  /** Claimed by start-deployment; CodeDeploy deployment not (known to be) created yet. */
  CLAIMED: 'CLAIMED',
  IN_PROGRESS: 'IN_PROGRESS',
  SUCCEEDED: 'SUCCEEDED',
  FAILED: 'FAILED',
  STOPPED: 'STOPPED',
} as const;
export type DeploymentStatus = (typeof DeploymentStatus)[keyof typeof DeploymentStatus];

/** Where a revision lives; kept verbatim so a rollback restores the exact artifact (eTag checked by CodeDeploy). */
export interface ArtifactLocation {
  bucket: string;
  key: string;
  bundleType?: string;
  eTag?: string;
  version?: string;
}

/** One deployment of a change to one CodeDeploy deployment group. */
export interface DeploymentItem extends ScopeFields {
  pk: string;
  sk: string;
  region: string;
  status: DeploymentStatus;
  application: string;
  deploymentGroup: string;
  revision: string;
  artifact?: ArtifactRef; // the exact object deployed (S3 version, ETag, SHA-256)
  /** Revision the group ran before (its last successful deployment); absent on a group's first deployment. */
  previousRevision?: string;
  previousLocation?: ArtifactLocation;
  deploymentId?: string;
  rollbackStartedAt?: string; // when handsoff began rolling this scope back (set once)
  rollbackAnnouncedAt?: string; // once `rollback.started` was published: a retry publishes it if not
  rollbackStopped?: string; // the deployment a rollback stopped (set once): a retry's `rollback.started` names it
  /** Key of the rollback set (waiter) that began it: another rollback of the change leaves the scope to that one. */
  rollbackSet?: string;
  /** The fast-rollback deployment handsoff started for this one. */
  rollbackDeploymentId?: string;
  claimedAt: string;
  updatedAt: string;
}

export const deploymentKey = (
  pipeline: string,
  change: string,
  stage: string,
  region: string,
  deploymentGroup: string,
): { pk: string; sk: string } => ({ pk: `${pipeline}#${change}`, sk: `${stage}#${region}#${deploymentGroup}` });

/** Sort key prefix of every deployment of a stage (and region) of a change. */
export const deploymentSkPrefix = (stage: string, region?: string): string =>
  region ? `${stage}#${region}#` : `${stage}#`;

// ---------------------------------------------------------------- waiters

export const WaiterKind = {
  /** A change's deployment: completes start-deployment's task. */
  DEPLOYMENT: 'deployment',
  /** A bake: completes start-bake's task. */
  BAKE: 'bake',
  /** One fast-rollback deployment; reports to its rollback set. */
  ROLLBACK: 'rollback',
  /** All rollbacks of (stage, region): completes the rollback task when none is pending. */
  ROLLBACK_SET: 'rollback-set',
} as const;
export type WaiterKind = (typeof WaiterKind)[keyof typeof WaiterKind];

export const WaiterStatus = { OPEN: 'OPEN', DONE: 'DONE' } as const;
export type WaiterStatus = (typeof WaiterStatus)[keyof typeof WaiterStatus];

/** The value of `openShard` on every open or undelivered waiter (one partition: a few thousand at most). */
export const OPEN_SHARD = 'OPEN';

/**
 * Key of the waiters-table item that says lanes may be in use (in the open-waiters index, no
 * `status`, never a waiter): every lane acquire and release touches it first (`touches` + 1,
 * `touchedAt`); the reconciler deletes it (conditional on `touches`) once a sweep found the lanes
 * table empty and nothing touched it for LANES_MARKER_GRACE_MS. So a sweep whose one Query of the
 * index finds nothing knows no waiter is open and no lane is in use, and stops.
 */
export const LANES_MARKER_KEY = 'lanes#in-use';

export interface LanesMarker {
  pk: typeof LANES_MARKER_KEY;
  openShard: typeof OPEN_SHARD;
  touches: number;
  /** Epoch millis: the last acquire or release (touchedAt); the start of the reconciler's last look at the lanes (sweptAt, lanes.ts lanesDue). */
  touchedAt: number;
  sweptAt?: number;
}

/** How a waiter ended; kept so a retried task (new token) gets the same answer. */
export type WaiterResult =
  | { ok: true; output: unknown }
  | { ok: false; error: StepError | string; cause: StepFailureCause };

export interface WatchedAlarm {
  region: string;
  name: string;
}

export interface WaiterBase extends ScopeFields {
  pk: string;
  kind: WaiterKind;
  status: WaiterStatus;
  /** Task token to complete; absent on rollback deployments (their set holds it). */
  token?: string;
  alarms: WatchedAlarm[];
  createdAt: string;
  updatedAt: string;
  result?: WaiterResult;
  /**
   * Set once the result reached Step Functions (or the task no longer waited), or a rollback
   * deployment's reached its rollback set.
   */
  delivered?: boolean;
  /** `OPEN` while the waiter is open or finished but not delivered (the key of the open-waiters index); removed on delivery. */
  openShard?: typeof OPEN_SHARD;
  /** Names of the alarms it watches (watchedAlarms): on-alarm-event filters the open-waiters index on it. */
  watching?: string[];
  expiresAt: number;
}

export interface DeploymentWaiter extends WaiterBase {
  kind: 'deployment';
  token: string;
  deploymentId: string;
  revision: string;
  application: string;
  deploymentGroup: string;
  deploymentsPk: string;
  deploymentsSk: string;
}

export interface RollbackWaiter extends WaiterBase {
  kind: 'rollback';
  deploymentId: string;
  /** Revision restored. */
  revision: string;
  deploymentGroup: string;
  /** pk of the rollback set this rollback reports to. */
  parent: string;
  deploymentsPk: string;
  deploymentsSk: string;
}

export interface RollbackSetWaiter extends WaiterBase {
  kind: 'rollback-set';
  token: string;
  pending: number;
  reason: string;
  rolledBack: Array<{ deploymentGroup: string; region: string; revision: string }>;
  /** Groups that got the change but have no previous revision to restore (stopped only): the rollback task fails. */
  unrestorable?: Array<{ deploymentGroup: string; region: string; why?: string }>;
  /** Groups of the scope left as they are: a newer change was deployed there since. */
  superseded?: Array<{ deploymentGroup: string; region: string; revision: string }>;
  /** Ids of the rollback deployments already counted down (a DynamoDB string set): the countdown is idempotent. */
  counted?: Set<string>;
}

export interface BakeWaiter extends WaiterBase {
  kind: 'bake';
  token: string;
  bakeId: string;
  /** Epoch millis. */
  startedAt: number;
  /** Epoch millis of the (possibly extended) end. */
  endsAt: number;
  durationSeconds: number;
  minRequests: number;
  metricScopes: MetricScope[];
  /** `Service` metric dimension. */
  service: string;
  extensions: number;
  extendedSeconds: number;
  maxExtensionSeconds: number;
  /** The pipeline's `bake.emergencyFloor`: an approved emergency shortens the bake to it (lambdas/shared/emergency-bakes.ts). */
  emergencyFloorSeconds?: number;
  /**
   * `hold`: a wait between steps watching alarms (no requests needed, no bake events);
   * `blocker`: a hold that also ends when `blocker` exists in another state than `blocker.state`. @default 'bake'
   */
  purpose?: 'bake' | 'hold' | 'blocker';
  /**
   * The blocking alarm a `blocker` wait waits for, and the state it blocked in (absent:
   * ALARM). Watched too; in ALARM it fails the wait only if it is one of `alarms`.
   */
  blocker?: BlockerAlarm;
  /**
   * A blocker wait's gate (what check-window was asked): its re-check takes that decision
   * again and re-arms the wait (a new `endsAt`, the next `extensions`) while it is unchanged.
   */
  gate?: GateAsk;
  wave?: { regions: string[] }; // a wave hold's wave (StartBakeInput.wave)
}

/** A blocker wait's blocking alarm, with the state that closed the gate (@default 'ALARM'). */
export interface BlockerAlarm extends WatchedAlarm {
  state?: BlockingState;
}

export type Waiter = DeploymentWaiter | RollbackWaiter | RollbackSetWaiter | BakeWaiter;

export const deploymentWaiterKey = (deploymentId: string): string => `deployment#${deploymentId}`;
export const bakeWaiterKey = (bakeId: string): string => `bake#${bakeId}`;
/** Id of a hold of a scope until `until`: never the id of that scope's bake, nor of an earlier hold. */
export const holdBakeId = (bakeId: string, until: string): string => `${bakeId}#hold#${until}`;
export const waveHoldBakeId = (bakeId: string): string => `${bakeId}#wave-hold`; // a region's wave hold (lambdas/shared/wave-holds.ts)
/**
 * Id of a blocker wait of a scope for the alarm `blocker` until `until`: never the id of that
 * scope's bake or holds, nor of an earlier blocker wait (each has its own `until`).
 */
export const blockerBakeId = (bakeId: string, blocker: string, until: string): string => `${bakeId}#blocker#${blocker}#${until}`;
/** The alarms a waiter watches (named in its `watching`): its `alarms`, plus a blocker wait's blocking alarm. */
export const watchedAlarms = (waiter: Pick<Waiter, 'alarms'> & { blocker?: WatchedAlarm }): WatchedAlarm[] =>
  waiter.blocker && !(waiter.alarms ?? []).some((a) => a.name === waiter.blocker!.name)
    ? [...(waiter.alarms ?? []), { region: waiter.blocker.region, name: waiter.blocker.name }]
    : (waiter.alarms ?? []);
/** With `failedIn`: the rollback of a stage the change passed (or of the rest of its wave) once it failed there. */
export const rollbackSetKey = (pipeline: string, change: string, stage: string, region?: string, failedIn?: string): string =>
  `rollback#${pipeline}#${change}#${stage}#${region ?? '*'}${failedIn ? `#failed-in#${failedIn}` : ''}`;

// ---------------------------------------------------------------- windows, holidays

export const DEFAULT_WINDOW_SK = '*';

export interface WindowItem {
  /** Pipeline name. */
  pk: string;
  /** Region code, or `*`: the pipeline's window for regions without their own item. */
  sk: string;
  /** IANA zone, already resolved (the region's zone when the pipeline says `region`). */
  timeZone: string;
  days: Weekday[];
  start: string;
  end: string;
}

export interface HolidayItem {
  /** `${pipeline}` (every region) or `${pipeline}#${region}`. */
  pk: string;
  /** `YYYY-MM-DD` in the window's zone. */
  sk: string;
  name?: string;
}

export const holidayKeys = (pipeline: string, region: string): string[] => [pipeline, `${pipeline}#${region}`];

// ---------------------------------------------------------------- lanes

/** Sort key of the item naming the change that holds a lane. */
export const LANE_HOLDER_SK = 'holder';
/** Sort key prefix of the items of the changes waiting for a lane. */
export const LANE_WAIT_PREFIX = 'wait#';

export const laneKey = (pipeline: string, stage: string): string => `${pipeline}#${stage}`;
export const laneWaitSk = (change: string): string => `${LANE_WAIT_PREFIX}${change}`;

/** The change holding a lane (sk `holder`). */
export interface LaneHolderItem {
  pk: string;
  sk: typeof LANE_HOLDER_SK;
  change: string;
  since: string;
  pipeline?: string;
  stage?: string;
  /** ARN of the execution that holds the lane: the reconciler frees a lane whose execution ended. */
  execution?: string;
}

/** A change waiting for a lane (sk `wait#${change}`), with its task token and enqueue time. */
export interface LaneWaitItem {
  pk: string;
  sk: string;
  change: string;
  token: string;
  enqueuedAt: string;
  pipeline?: string;
  stage?: string;
  execution?: string;
}

// ---------------------------------------------------------------- changes

/**
 * "This push is change `change`, started": written once, conditionally, by start-change. A
 * change id is taken by one push event only; a later push of the same commit takes the next id.
 */
export interface ChangeStartedItem {
  pk: string;
  sk: typeof CHANGE_STARTED_SK;
  pipeline: string;
  change: string;
  commit: string;
  repository: string;
  pushEvent: string; // EventBridge id of the push event: a duplicated delivery carries the same id
  author: string;
  /** The push time (the event's `time`): the base of the change's lead time. */
  mergedAt: string;
  executionName: string;
  startedAt: string;
  status?: string; // set when the change is over (succeeded, failed, rejected): the operators read it
  finalPublished?: string; // the final event's type once notify published it: a retried notify does not publish it again
  rollingBackAt?: string; // set by its first rollback, before its status: other rollbacks pass over it as over a failed change
}
export const CHANGE_STARTED_SK = 'started';
export const changeKey = (pipeline: string, change: string): { pk: string; sk: typeof CHANGE_STARTED_SK } => ({ pk: `${pipeline}#${change}`, sk: CHANGE_STARTED_SK });
