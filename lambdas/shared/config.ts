/**
 * Handler configuration, read from the environment the CDK stack sets (and the simulator
 * sets the same way). A missing value is a deployment error: fail loudly, never guess.
 */
import type { TableName } from '../../core/tables.ts';

export const ENV = {
  DEPLOYMENTS_TABLE: 'HANDSOFF_DEPLOYMENTS_TABLE',
  WAITERS_TABLE: 'HANDSOFF_WAITERS_TABLE',
  WINDOWS_TABLE: 'HANDSOFF_WINDOWS_TABLE',
  HOLIDAYS_TABLE: 'HANDSOFF_HOLIDAYS_TABLE',
  LANES_TABLE: 'HANDSOFF_LANES_TABLE',
  CHANGES_TABLE: 'HANDSOFF_CHANGES_TABLE',
  OPERATORS_TABLE: 'HANDSOFF_OPERATORS_TABLE',
  AUDIT_TABLE: 'HANDSOFF_AUDIT_TABLE',
  EVENT_BUS_NAME: 'HANDSOFF_EVENT_BUS_NAME',
  BAKE_END_FUNCTION_ARN: 'HANDSOFF_BAKE_END_FUNCTION_ARN',
  /** The operator handler's own ARN: an override's expiry schedule invokes it. */
  OPERATOR_FUNCTION_ARN: 'HANDSOFF_OPERATOR_FUNCTION_ARN',
  /** The reconciler's ARN: a wake of a sweep (a one-time schedule, core/sweeps.ts) invokes it. */
  RECONCILE_FUNCTION_ARN: 'HANDSOFF_RECONCILE_FUNCTION_ARN',
  SCHEDULER_ROLE_ARN: 'HANDSOFF_SCHEDULER_ROLE_ARN',
  SCHEDULE_GROUP: 'HANDSOFF_SCHEDULE_GROUP',
  ARTIFACT_BUCKET: 'HANDSOFF_ARTIFACT_BUCKET',
  /** The review gate's source (core/source.ts SourceKind): unset is CodeCommit. */
  SOURCE: 'HANDSOFF_SOURCE',
  /** The review gate's GitHub token: the ARN of its Secrets Manager secret (source github). */
  GITHUB_TOKEN_SECRET: 'HANDSOFF_GITHUB_TOKEN_SECRET',
  /** The account of the target regions' artifact buckets (naming.regionArtifactBucketName). */
  ACCOUNT_ID: 'HANDSOFF_ACCOUNT_ID',
} as const;
export type EnvName = (typeof ENV)[keyof typeof ENV];

/** The variable naming each table (core/tables.ts): the stack sets it, the simulator too. */
export const TABLE_ENV: Readonly<Record<TableName, EnvName>> = {
  deployments: ENV.DEPLOYMENTS_TABLE,
  waiters: ENV.WAITERS_TABLE,
  windows: ENV.WINDOWS_TABLE,
  holidays: ENV.HOLIDAYS_TABLE,
  lanes: ENV.LANES_TABLE,
  changes: ENV.CHANGES_TABLE,
  operators: ENV.OPERATORS_TABLE,
  audit: ENV.AUDIT_TABLE,
};

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

export const env = (name: EnvName): string => {
  const value = process.env[name];
  if (!value) {
    throw new ConfigurationError(`environment variable ${name} is not set; the handsoff stack sets it on every function`);
  }
  return value;
};
