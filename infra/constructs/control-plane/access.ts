/**
 * What each handler may touch: least privilege per function, not one shared role. The
 * functions construct turns these into IAM statements.
 */
import { Duration } from 'aws-cdk-lib';
import { RECONCILE_HEARTBEAT_SECONDS } from '../../../core/sweeps.ts';
import { OPEN_WAITERS_INDEX, type TableName } from '../../../core/tables.ts';
import { HandlerName } from '../../../statemachines/resources.ts';


export type { TableName } from '../../../core/tables.ts';

export type DynamoAction = 'GetItem' | 'BatchGetItem' | 'Query' | 'Scan' | 'ConditionCheckItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'BatchWriteItem';

/** Item reads (no Scan: only the reconciler lists a whole table, the small lanes table). */
const READ: readonly DynamoAction[] = ['GetItem', 'BatchGetItem', 'Query', 'ConditionCheckItem'];
/** Item reads and writes (conditional writes and batch writes included). */
const READ_WRITE: readonly DynamoAction[] = [...READ, 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'];

/** What each handler may touch: least privilege per function, not one shared role. */
export interface HandlerAccess {
  /** DynamoDB actions per table, on the table only. */
  readonly tables?: Partial<Record<TableName, readonly DynamoAction[]>>;
  /** DynamoDB actions on a table's index (`<table>/<index>`). */
  readonly indexes?: ReadonlyArray<{ table: TableName; index: string; actions: readonly DynamoAction[] }>;
  /** CreateDeployment / StopDeployment / GetDeployment ... on the pipelines' groups. */
  readonly deploy?: boolean;
  /**
   * codedeploy:UpdateDeploymentGroup on the pipelines' groups: CodeDeploy requires it to create a
   * deployment with its own alarm configuration (a team-alarm override drops the spared aggregate).
   */
  readonly overrideGroupAlarms?: boolean;
  /** GetDeployment only. */
  readonly readDeployments?: boolean;
  readonly describeAlarms?: boolean;
  readonly metricData?: boolean;
  /** states:DescribeExecution on the executions of the handsoff state machines. */
  readonly describeExecutions?: boolean;
  /** Step Functions task completion on the handsoff state machines. */
  readonly completeTasks?: readonly ('SendTaskSuccess' | 'SendTaskFailure' | 'SendTaskHeartbeat')[];
  /** EventBridge Scheduler actions in the bake schedule group. */
  readonly schedules?: readonly ('CreateSchedule' | 'GetSchedule' | 'DeleteSchedule')[];
  readonly readArtifacts?: boolean;
  /**
   * The target regions' artifact buckets: `copy` (the change's copy: PutObject, and the reads
   * that find or check one), `read` (the reads that check a copy before a rollback).
   */
  readonly regionArtifacts?: 'copy' | 'read';
  /** The review gate's CodeCommit reads, on the pipelines' repositories only. */
  readonly readReviews?: boolean;
  /** states:StartExecution on the pipeline state machines (not the region ones). */
  readonly startPipelines?: boolean;
  /**
   * events:PutEvents on the handsoff bus (handsoff's own events).
   * @default true
   */
  readonly publishes?: boolean;
  /** @default 30 seconds */
  readonly timeout?: Duration;
}

const STATE_TABLES = { deployments: READ_WRITE, waiters: READ_WRITE } as const;
const COMPLETE_TASKS = ['SendTaskSuccess', 'SendTaskFailure', 'SendTaskHeartbeat'] as const;
/** A blocker wait's re-check takes its gate's decision: the window item (GetItem) and the holidays (Query). */
const GATE_READ: readonly DynamoAction[] = ['GetItem', 'Query'];
/** The audit trail is append-only for the handlers: every publisher writes its decisions there (lambdas/shared/publish.ts). */
const AUDIT_APPEND: readonly DynamoAction[] = ['PutItem'];
/**
 * What people decided, read by the gates: the operators partition (overrides and emergencies,
 * one Query; lambdas/shared/operator-reads.ts).
 */
const OPERATORS_READ: readonly DynamoAction[] = ['Query'];
/**
 * A production gate reads the operators partition and, while an emergency runs, whether
 * changes entered production (the deployments table, Query) and whether the fast-tracked
 * change is over (its record in the changes table, GetItem).
 */
const GATE_OPERATORS = { operators: OPERATORS_READ, deployments: ['Query'], changes: ['GetItem'] } as const satisfies Partial<Record<TableName, readonly DynamoAction[]>>;
/** What a blocker wait's re-check adds for the emergency rules of its gate: the fast-tracked change's record. */
const RECHECK_CHANGES = { changes: ['GetItem'] } as const satisfies Partial<Record<TableName, readonly DynamoAction[]>>;

export const ACCESS: Record<HandlerName, HandlerAccess> = {
  // A change that is over: its outcome on its record (changes), its emergency marked over
  // (operators), and the waits its emergency held ended (the open-waiters index, then a
  // conditional finish and SendTaskSuccess; GetItem: the waiter a finish collided with).
  [HandlerName.NOTIFY]: {
    tables: { changes: ['UpdateItem'], operators: ['UpdateItem'], waiters: ['GetItem', 'UpdateItem'], audit: AUDIT_APPEND },
    indexes: [{ table: 'waiters', index: OPEN_WAITERS_INDEX, actions: ['Query'] }],
    completeTasks: ['SendTaskSuccess'],
  },
  // Also reads the team aggregate and company event alarms: a blocker closes the window.
  // operators: an override may set a blocker or the window aside, an emergency waive the window or hold the change.
  [HandlerName.CHECK_WINDOW]: { tables: { windows: READ, holidays: READ, ...GATE_OPERATORS, audit: AUDIT_APPEND }, describeAlarms: true },
  [HandlerName.START_DEPLOYMENT]: {
    // operators: a team-alarm override spares the team aggregate for its change.
    tables: { ...STATE_TABLES, operators: OPERATORS_READ, audit: AUDIT_APPEND },
    deploy: true,
    overrideGroupAlarms: true,
    describeAlarms: true,
    completeTasks: COMPLETE_TASKS,
    // The source of the region copy (CopyObject reads the pinned version).
    readArtifacts: true,
    regionArtifacts: 'copy',
    // CreateSchedule: an open deployment wakes the reconciler's next sweep (core/sweeps.ts).
    schedules: ['CreateSchedule'],
  },
  [HandlerName.START_BAKE]: {
    // operators: the change's emergency record (GetItem): an approved one shortens the bake;
    // Query: a blocker wait that starts due takes its gate's decision (overrides, emergencies).
    tables: { ...STATE_TABLES, operators: ['GetItem', 'Query'], ...RECHECK_CHANGES, audit: AUDIT_APPEND },
    describeAlarms: true,
    metricData: true,
    completeTasks: COMPLETE_TASKS,
    schedules: ['CreateSchedule', 'GetSchedule', 'DeleteSchedule'],
  },
  [HandlerName.BAKE_END]: {
    // windows, holidays: a blocker wait's re-check takes its gate's decision (lambdas/shared/gate.ts).
    tables: { ...STATE_TABLES, windows: GATE_READ, holidays: GATE_READ, operators: OPERATORS_READ, ...RECHECK_CHANGES, audit: AUDIT_APPEND },
    describeAlarms: true,
    metricData: true,
    completeTasks: COMPLETE_TASKS,
    // CreateSchedule: a bake that is not over yet schedules its next end check.
    schedules: ['CreateSchedule', 'DeleteSchedule'],
  },
  [HandlerName.ROLLBACK]: {
    // changes: marks its change failing (UpdateItem), and reads whether the revision to restore
    // is a failed or failing change's, to pass over it (GetItem).
    tables: { ...STATE_TABLES, changes: ['GetItem', 'UpdateItem'], audit: AUDIT_APPEND },
    deploy: true,
    describeAlarms: true,
    completeTasks: COMPLETE_TASKS,
    readArtifacts: true,
    // HeadObject of the copy a rollback restores: there, its ETag, its SHA-256.
    regionArtifacts: 'read',
    // CreateSchedule: an open rollback deployment wakes the reconciler's next sweep (core/sweeps.ts).
    schedules: ['CreateSchedule'],
  },
  // Reads how the commit reached main: pull requests, their approvals and rules, the commit.
  [HandlerName.REVIEW_GATE]: { readReviews: true, publishes: false },
  // Claims a change id with a conditional put (GetItem: the record a conflict collided with),
  // then starts the pipeline execution by name.
  // HeadObject of the change's artifact (s3:GetObject): its version and SHA-256.
  [HandlerName.RESOLVE_ARTIFACT]: { readArtifacts: true, publishes: false },
  [HandlerName.START_CHANGE]: { tables: { changes: ['GetItem', 'PutItem'] }, startPipelines: true, publishes: false },
  // UpdateItem on the waiters table: the lanes marker (core/tables.ts LANES_MARKER_KEY) an acquire touches first.
  // Query on the operators table: release batching never supersedes an approved emergency (lambdas/shared/batching.ts).
  // CreateSchedule: a touch of the lanes wakes the reconciler's next sweep, which looks at them (core/sweeps.ts).
  [HandlerName.LANE]: { tables: { lanes: READ_WRITE, waiters: ['UpdateItem'], operators: OPERATORS_READ, audit: AUDIT_APPEND }, completeTasks: COMPLETE_TASKS, schedules: ['CreateSchedule'] },
  [HandlerName.ON_DEPLOYMENT_EVENT]: { tables: { ...STATE_TABLES, audit: AUDIT_APPEND }, readDeployments: true, completeTasks: COMPLETE_TASKS },
  // Fails or clears the waiters watching the alarm (lambdas/on-alarm-event): finds them in the
  // open-waiters index (filtered on `watching`) and finishes them; no deployment, alarm or schedule API.
  [HandlerName.ON_ALARM_EVENT]: {
    tables: {
      // GetItem: the waiter a conditional finish collided with (dynamo.ts conflictingItem).
      waiters: ['GetItem', 'UpdateItem'],
      // A team aggregate in ALARM spared by a team-alarm override (lambdas/shared/operator-reads.ts).
      operators: OPERATORS_READ,
      audit: AUDIT_APPEND,
    },
    indexes: [{ table: 'waiters', index: OPEN_WAITERS_INDEX, actions: ['Query'] }],
    completeTasks: ['SendTaskSuccess', 'SendTaskFailure'],
  },
  // The sweep for lost events: lists the open waiters, re-reads their deployments, alarms and
  // bake metrics, and completes, extends or re-schedules them as the event handlers would have.
  [HandlerName.RECONCILE]: {
    tables: {
      waiters: ['Query', 'GetItem', 'UpdateItem', 'DeleteItem'],
      deployments: ['Query', 'UpdateItem'],
      // The lane sweep: lists the lanes, frees those whose execution ended and hands them on (lambdas/shared/lanes.ts).
      lanes: ['Scan', 'Query', 'PutItem', 'DeleteItem'],
      // An overdue blocker wait's re-check takes its gate's decision (lambdas/shared/gate.ts).
      windows: GATE_READ,
      holidays: GATE_READ,
      // UpdateItem: the emergency of a change whose execution ended holding a lane is over (lanes.ts).
      operators: ['Query', 'UpdateItem'],
      ...RECHECK_CHANGES,
      audit: AUDIT_APPEND,
    },
    indexes: [{ table: 'waiters', index: OPEN_WAITERS_INDEX, actions: ['Query'] }],
    readDeployments: true,
    describeAlarms: true,
    metricData: true,
    describeExecutions: true,
    // SendTaskHeartbeat: an overdue blocker wait that still holds is re-armed (bakes.ts).
    completeTasks: COMPLETE_TASKS,
    schedules: ['CreateSchedule', 'DeleteSchedule'],
    // A sweep of every open waiter; well within the five minutes between two sweep slots.
    timeout: Duration.minutes(2),
  },
  // What people do (lambdas/operator): records overrides and emergencies, appends to the audit trail.
  // An override wakes the waits it concerns (the open-waiters index; a blocker wait's gate
  // decision: alarms, window, holidays, operators, deployments) and schedules its own expiry
  // (this function). An emergency decision reads the change's record (changes: author,
  // outcome) and, approved, moves the end of the change's open bakes and holds (UpdateItem,
  // a new one-time bake-end schedule).
  [HandlerName.OPERATOR]: {
    tables: {
      operators: ['GetItem', 'Query', 'PutItem', 'UpdateItem'],
      audit: AUDIT_APPEND,
      // Scan: the pipeline of a change an override names without one (overrides.ts).
      changes: ['GetItem', 'Scan'],
      waiters: ['GetItem', 'UpdateItem'],
      windows: GATE_READ,
      holidays: GATE_READ,
      deployments: ['Query'],
    },
    indexes: [{ table: 'waiters', index: OPEN_WAITERS_INDEX, actions: ['Query'] }],
    describeAlarms: true,
    completeTasks: ['SendTaskSuccess', 'SendTaskFailure'],
    schedules: ['CreateSchedule'],
  },
};

/** A's access with B's table actions added (each table's actions once, in order). */
const withTables = (a: HandlerAccess, tables: Partial<Record<TableName, readonly DynamoAction[]>>): HandlerAccess => {
  const merged: Partial<Record<TableName, readonly DynamoAction[]>> = { ...a.tables };
  for (const [t, actions] of Object.entries(tables) as Array<[TableName, readonly DynamoAction[]]>) {
    merged[t] = [...new Set([...(merged[t] ?? []), ...actions])];
  }
  return { ...a, tables: merged };
};

/**
 * The console's function (console/lambda.ts): it runs the operator's `operate()` in its own
 * process, so it has exactly the operator's access, plus the reads of what it shows: the
 * changes (GetItem of one; Scan: the list of every change), the audit trail of a change
 * (Query) and of everything (Scan: `GET /api/events`), and the overrides and emergencies
 * in force (Query of the operators partition), and the state of the blocker alarms
 * (DescribeAlarms: team aggregates, company events). It writes the audit trail only as the
 * operator does (PutItem). No schedule invokes it: an override's expiry invokes the operator.
 */
export const CONSOLE_ACCESS: HandlerAccess = {
  ...withTables(ACCESS[HandlerName.OPERATOR], {
    changes: ['GetItem', 'Scan'],
    audit: ['Query', 'Scan'],
    operators: ['Query'],
  }),
  // The blockers it shows: the team aggregates and company event alarms of the pipelines' regions.
  describeAlarms: true,
};

/** The reconciler's heartbeat: its standing schedule (its other sweeps are woken, core/sweeps.ts). */
export const RECONCILE_RATE = Duration.seconds(RECONCILE_HEARTBEAT_SECONDS);
