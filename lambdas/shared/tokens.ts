/**
 * Completing `.waitForTaskToken` tasks. A late event (the task already timed out, failed or
 * was completed by another event) is normal in an event-driven system: logged and ignored.
 * So is a token Step Functions rejects as invalid: no retry could ever deliver to it.
 */
import { SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { clients } from './clients.ts';
import type { StepError, StepFailureCause } from '../../core/contracts.ts';
import { hasName } from '../../core/errors.ts';
import { logger } from './logger.ts';

/** Answers meaning the task no longer waits for this token (or never could): a result sent there counts as delivered. */
const LATE = ['TaskDoesNotExist', 'TaskTimedOut', 'InvalidToken'];

/** SendTaskFailure limits: error 256 characters, cause 32,768. */
const truncate = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 3)}...`);

/**
 * Sends one call about a waiting task. @returns false when the task no longer waits for the
 * token (late or duplicate completion, an invalid token): logged with `what`; anything else
 * (throttling) propagates.
 */
const toWaitingTask = async (send: () => Promise<unknown>, what: string, fields: Record<string, unknown> = {}): Promise<boolean> => {
  try {
    await send();
    return true;
  } catch (err) {
    if (hasName(err, ...LATE)) {
      logger.warn(`task no longer waits; ${what}`, { error: (err as Error).name, ...fields });
      return false;
    }
    throw err;
  }
};

/** @returns false when the task no longer waits (late or duplicate completion). */
export const sendTaskSuccess = (taskToken: string, output: unknown): Promise<boolean> =>
  toWaitingTask(() => clients().sfn().send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output ?? {}) })), 'success ignored');

/** @returns false when the task no longer waits (late or duplicate completion). */
export const sendTaskFailure = (taskToken: string, error: StepError | string, cause: StepFailureCause): Promise<boolean> =>
  toWaitingTask(
    () => clients().sfn().send(new SendTaskFailureCommand({ taskToken, error: truncate(error, 256), cause: truncate(JSON.stringify(cause), 32_768) })),
    'failure ignored',
    { stepError: error },
  );

/**
 * Tells Step Functions the task still waits (no history event): a long wait learns that its
 * task ended (the execution stopped, the task timed out) instead of waiting on for nothing.
 * @returns false when the task no longer waits.
 */
export const sendTaskHeartbeat = (taskToken: string): Promise<boolean> =>
  toWaitingTask(() => clients().sfn().send(new SendTaskHeartbeatCommand({ taskToken })), 'heartbeat refused');
