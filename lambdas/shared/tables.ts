/**
 * The handlers' view of the tables: layouts and keys live in core/tables.ts (one place, read
 * by infra and the simulator too); the table names come from the environment the stack sets.
 */
import { env, TABLE_ENV } from './config.ts';

export * from '../../core/tables.ts';

export const table = {
  deployments: (): string => env(TABLE_ENV.deployments),
  waiters: (): string => env(TABLE_ENV.waiters),
  windows: (): string => env(TABLE_ENV.windows),
  holidays: (): string => env(TABLE_ENV.holidays),
  lanes: (): string => env(TABLE_ENV.lanes),
  changes: (): string => env(TABLE_ENV.changes),
  operators: (): string => env(TABLE_ENV.operators),
  audit: (): string => env(TABLE_ENV.audit),
};
