/**
 * Handler `notify`: publishes one event of the vocabulary for a state machine step
 * (stage.started, change.completed, ...). For `change.completed` it turns the merge time
 * into the change's lead time, the number a team watches.
 */
import { EventType } from '../../core/events.ts';
import { NotifyInput } from '../../core/contracts.ts';
import { isoDuration } from '../shared/duration.ts';
import { InvalidInputError } from '../../core/errors.ts';
import { logger } from '../shared/logger.ts';
import { publish } from '../shared/publish.ts';
import { firstFailedRegion, reasonFromCause, regionFromCause, unrestoredEarlier } from '../shared/failure.ts';
import { markFinalPublished, settleChange } from '../shared/emergency-hold.ts';
import { testsFailureReason } from '../shared/test-failure.ts';
import { lambdaHandler } from '../runtime/handler.ts';

export interface NotifyOutput {
  published: true;
}

/** Field names the merge time may come in (`leadTimeFrom` is the older name). */
const MERGE_FIELDS = ['mergedAt', 'leadTimeFrom'] as const;

export const notify = async (input: NotifyInput): Promise<NotifyOutput> => {
  const { type, pipeline, change, stage, region, unit, target, fields = {} } = input;
  const extra: Record<string, unknown> = { ...fields };
  if (type === EventType.CHANGE_COMPLETED) {
    const mergedAt = MERGE_FIELDS.map((f) => fields[f]).find((v) => v !== undefined);
    if (mergedAt !== undefined) {
      const merged = Date.parse(String(mergedAt));
      if (Number.isNaN(merged)) throw new InvalidInputError(`mergedAt '${String(mergedAt)}' is not an ISO 8601 time`);
      for (const f of MERGE_FIELDS) delete extra[f];
      extra.leadTime = isoDuration(Date.now() - merged);
    }
  }
  let where = region;
  if (type === EventType.CHANGE_FAILED) {
    // The state machine hands over the raw failure; the event carries a readable reason.
    const fromRegions = firstFailedRegion(fields.outcomes);
    if (fromRegions) {
      where ??= fromRegions.region;
      extra.reason ??= fromRegions.reason;
    } else if ('cause' in fields) {
      extra.reason ??= reasonFromCause(fields.cause);
      // A wave bake has no region of its own: the alarm that failed it names one.
      where ??= regionFromCause(fields.cause);
    }
    delete extra.outcomes;
    delete extra.cause;
    extra.reason ??= 'unknown failure (no cause recorded)';
    // The earlier stages were rolled back first: the reason says what could not be restored.
    const unrestored = unrestoredEarlier(fields.rollbacks);
    if (unrestored) extra.reason = `${String(extra.reason)}; ${unrestored}`;
    delete extra.rollbacks;
  }
  if (type === EventType.TESTS_FAILED) {
    // The state machine hands over what the runner said; the event carries why the suite failed.
    extra.reason ??= testsFailureReason(fields.failure);
    delete extra.failure;
  }
  // A change that is over: its outcome is recorded, and an emergency it was holds no one any
  // more, before the event is published (EventBridge down must not keep the hold; a retry
  // settles again). Its final event is published once: recorded after PutEvents, so only a
  // death between the two publishes it twice.
  const settled = await settleChange(type, pipeline, change);
  // A retry of an attempt that published the final event and died before answering: once is enough.
  if (settled.published) {
    logger.info('final event published already; not again', { type, pipeline, change });
    return { published: true };
  }
  await publish([{ type, pipeline, change, stage, region: where, unit, target, ...extra }]);
  await markFinalPublished(type, pipeline, change);
  return { published: true };
};

export const handler = lambdaHandler('notify', NotifyInput, notify);
