/**
 * handsoff's named errors. A Lambda error's `name` becomes the Step Functions error name,
 * so the ASL maps these by name: `Retry` on the retryable ones (and on SDK throttling,
 * which handlers let through untouched), `Catch` on the rest.
 */
import { HandlerError, StepError } from './contracts.ts';

export class HandsoffError extends Error {
  override readonly name: string = 'HandsoffError';
  /** Whether the ASL should retry the task with backoff. */
  readonly retryable: boolean = false;
  constructor(
    message: string,
    readonly context: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The deployment window or holiday calendar cannot be read or never opens: fail closed. */
export class WindowUnavailableError extends HandsoffError {
  override readonly name = StepError.WINDOW_UNAVAILABLE;
}

/**
 * The blockers (team aggregate alarm, company event alarm) cannot be read: fail closed, never
 * start a step unguarded.
 */
export class BlockerUnavailableError extends HandsoffError {
  override readonly name = HandlerError.BLOCKER_UNAVAILABLE;
}

/** The change's artifact cannot be pinned (missing, unversioned, no SHA-256): it fails in build. */
export class ArtifactUnavailableError extends HandsoffError {
  override readonly name = HandlerError.ARTIFACT_UNAVAILABLE;
}

/** DynamoDB kept leaving items of a BatchWriteItem unprocessed (throttling). Retryable. */
export class BatchWriteIncompleteError extends HandsoffError {
  override readonly name = HandlerError.BATCH_WRITE_INCOMPLETE;
  override readonly retryable = true;
}

/**
 * Another deployment runs in the CodeDeploy deployment group (one per group at a time).
 * Retryable: handsoff never starts a second one next to it.
 */
export class DeploymentGroupBusyError extends HandsoffError {
  override readonly name = HandlerError.DEPLOYMENT_GROUP_BUSY;
  override readonly retryable = true;
}

/** Another rollback of the change still restores a group of the scope: wait for it (rollback). */
export class RollbackElsewhereError extends HandsoffError {
  override readonly name = HandlerError.ROLLBACK_ELSEWHERE;
  override readonly retryable = true;
}

/** A rollback could not be started (no previous revision, CodeDeploy refused, ...). */
export class RollbackFailedError extends HandsoffError {
  override readonly name = StepError.ROLLBACK_FAILED;
}

/** The payload does not have the contract's shape (a state machine / handler mismatch). */
export class InvalidInputError extends HandsoffError {
  override readonly name = HandlerError.INVALID_INPUT;
}

/** CodeCommit throttled the review gate's reads. Retryable: the state machine backs off and asks again. */
export class ReviewThrottledError extends HandsoffError {
  override readonly name = HandlerError.REVIEW_THROTTLED;
  override readonly retryable = true;
}

/** EventBridge rejected some of the events handsoff published. Retryable. */
export class PublishFailedError extends HandsoffError {
  override readonly name = HandlerError.PUBLISH_FAILED;
  override readonly retryable = true;
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottledException',
  'LimitExceededException',
]);

/** SDK throttling: handlers let it propagate, the ASL retries it with backoff. */
export const isThrottling = (err: unknown): boolean => {
  if (!(err instanceof Error)) return false;
  const retryable = (err as { $retryable?: { throttling?: boolean } }).$retryable;
  return THROTTLING.has(err.name) || retryable?.throttling === true;
};

export const errorName = (err: unknown): string | undefined => (err instanceof Error ? err.name : undefined);

export const hasName = (err: unknown, ...names: string[]): boolean => {
  const name = errorName(err);
  return name !== undefined && names.includes(name);
};
