/**
 * The event vocabulary of docs/simulation.md: what handlers publish to EventBridge on AWS and
 * what the simulator prints as JSON Lines. One vocabulary for both.
 */

export const EventType = {
  CHANGE_RECEIVED: 'change.received',
  CHANGE_REJECTED: 'change.rejected',
  CHANGE_SUPERSEDED: 'change.superseded',
  CHANGE_COMPLETED: 'change.completed',
  CHANGE_FAILED: 'change.failed',
  STAGE_STARTED: 'stage.started',
  STAGE_COMPLETED: 'stage.completed',
  BUILD_COMPLETED: 'build.completed',
  TESTS_PASSED: 'tests.passed',
  TESTS_FAILED: 'tests.failed',
  BLOCKED: 'blocked',
  UNBLOCKED: 'unblocked',
  DEPLOYMENT_STARTED: 'deployment.started',
  DEPLOYMENT_SUCCEEDED: 'deployment.succeeded',
  DEPLOYMENT_FAILED: 'deployment.failed',
  BAKE_STARTED: 'bake.started',
  BAKE_EXTENDED: 'bake.extended',
  BAKE_COMPLETED: 'bake.completed',
  ALARM_TRIGGERED: 'alarm.triggered',
  ROLLBACK_STARTED: 'rollback.started',
  ROLLBACK_COMPLETED: 'rollback.completed',
  OVERRIDE_APPLIED: 'override.applied',
  OVERRIDE_EXPIRED: 'override.expired',
  APPROVAL_REQUESTED: 'approval.requested',
  APPROVAL_GRANTED: 'approval.granted',
  APPROVAL_DENIED: 'approval.denied',
  SIMULATION_FINISHED: 'simulation.finished',
  WORLD_ALARM: 'world.alarm',
  WORLD_DEPLOYMENT: 'world.deployment',
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

export const BlockReason = {
  TIME_WINDOW: 'time-window',
  TEAM_ALARM: 'team-alarm',
  COMPANY_EVENT: 'company-event',
  LANE: 'lane',
  EMERGENCY_HOLD: 'emergency-hold',
  /** A blocker alarm (team aggregate, company event) does not exist: the gate holds until it exists and is OK. */
  ALARM_MISSING: 'alarm-missing',
  /** A required alarm has no data (INSUFFICIENT_DATA): the gate holds until it has data, then decides. */
  INSUFFICIENT_DATA: 'insufficient-data',
} as const;
export type BlockReason = (typeof BlockReason)[keyof typeof BlockReason];

/** Scope fields, present where they apply. */
export interface EventScope {
  stage?: string;
  region?: string;
  unit?: string;
  target?: 'onebox' | 'fleet';
}

export interface HandsoffEvent extends EventScope {
  /** ISO 8601 UTC. */
  time: string;
  type: EventType | string;
  pipeline?: string;
  change?: string;
  [field: string]: unknown;
}

/** EventBridge `source` and `detail-type` prefix of handsoff's own events. */
export const EVENT_SOURCE = 'handsoff';
