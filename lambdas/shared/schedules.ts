/**
 * One-time EventBridge Scheduler schedules in the handsoff group: bake ends, override
 * expiries and woken sweeps (core/sweeps.ts). Each runs once at its time, invokes one
 * function as the scheduler role, and deletes itself. The caller names it, so a retry or a
 * second caller creates nothing twice: 'exists' when it was created already.
 */
import { ConflictException, CreateScheduleCommand } from '@aws-sdk/client-scheduler';
import { clients } from './clients.ts';
import { env, ENV } from './config.ts';

/** `at(yyyy-mm-ddThh:mm:ss)` in UTC, rounded up to the second so it never fires early. */
export const atExpression = (millis: number): string =>
  `at(${new Date(Math.ceil(millis / 1000) * 1000).toISOString().slice(0, 19)})`;

export interface OneTimeSchedule {
  /** [0-9a-zA-Z-_.], at most 64 characters. */
  name: string;
  /** Epoch millis (rounded up to the second). */
  at: number;
  description: string;
  functionArn: string;
  input: unknown;
}

export const createOneTimeSchedule = async (s: OneTimeSchedule): Promise<'created' | 'exists'> => {
  // Read before the call: a missing setting is a deployment error, whatever the caller does with a failed call.
  const target = { Arn: s.functionArn, RoleArn: env(ENV.SCHEDULER_ROLE_ARN), Input: JSON.stringify(s.input) };
  const group = env(ENV.SCHEDULE_GROUP);
  try {
    await clients()
      .scheduler()
      .send(
        new CreateScheduleCommand({
          Name: s.name,
          GroupName: group,
          ScheduleExpression: atExpression(s.at),
          ScheduleExpressionTimezone: 'UTC',
          FlexibleTimeWindow: { Mode: 'OFF' },
          ActionAfterCompletion: 'DELETE',
          Description: s.description.slice(0, 512),
          Target: target,
        }),
      );
    return 'created';
  } catch (err) {
    if (err instanceof ConflictException || (err as Error).name === 'ConflictException') return 'exists';
    throw err;
  }
};
