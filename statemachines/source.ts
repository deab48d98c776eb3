/**
 * The source stage, first in every pipeline execution: the change is announced, then the
 * review gate (handler `review-gate`, which asks CodeCommit) decides whether it may deploy.
 * A rejected change is announced with `change.rejected` and the reason, and the execution
 * ends there (`ChangeRejected`): nothing of it deploys. When the gate itself cannot answer
 * (its retries exhausted), that is a rejection too: fail closed.
 */
import { EventType } from '../core/events.ts';
import { HandlerName } from './resources.ts';
import { invoke, notify, type State, type States } from './asl.ts';

/** The Fail state's error of a rejected change (the simulator reports such a change `rejected`). */
export const CHANGE_REJECTED_ERROR = 'ChangeRejected';

/**
 * Adds the source stage's states: `add` for those on the main line (ending with
 * `Source.Completed`, whose Next is the main line's 'NEXT'), `states` for the rejection branch.
 */
export const sourceStage = (add: (id: string, state: State) => void, states: States): void => {
  const rejected = 'Source.Rejected';
  const gateFailed = 'Source.ReviewFailed';
  const unreadable = 'Source.ReviewUnreadable';
  const end = 'Source.Rejected.End';
  add('Change.Received', notify(EventType.CHANGE_RECEIVED, {}, 'NEXT', { 'author.$': '$.author' }));
  add('Source.Started', notify(EventType.STAGE_STARTED, { stage: 'source' }, 'NEXT'));
  // The payload is checked against the review-gate contract (ReviewGateInput) as it is built.
  // Throttling of CodeCommit (and a crashed invocation) is retried here (TRANSIENT_RETRY); the
  // handler turns any other CodeCommit error into a rejection.
  add(
    'Source.Review',
    invoke(HandlerName.REVIEW_GATE, { 'pipeline.$': '$.pipeline', 'change.$': '$.change', 'repository.$': '$.repository', 'commit.$': '$.commit' }, 'NEXT', {
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: gateFailed }],
      ResultSelector: { 'value.$': '$.Payload' },
      ResultPath: '$.review',
    }),
  );
  add('Source.Reviewed', {
    Type: 'Choice',
    // Only an explicit `approved: true` goes on; anything else is a rejection.
    // An answer without `approved`, or a rejection without its reason, is the gate failing.
    Choices: [
      { Not: { Variable: '$.review.value.approved', IsPresent: true }, Next: unreadable },
      { Variable: '$.review.value.approved', BooleanEquals: true, Next: 'Source.Completed' },
      { Not: { Variable: '$.review.value.reason', IsPresent: true }, Next: unreadable },
    ],
    Default: rejected,
  });
  add('Source.Completed', notify(EventType.STAGE_COMPLETED, { stage: 'source' }, 'NEXT'));

  states[unreadable] = {
    Type: 'Pass',
    Parameters: { Error: 'ReviewUnreadable', Cause: 'the review gate answered without approved, or rejected without a reason' },
    ResultPath: '$.error',
    Next: gateFailed,
  };
  states[gateFailed] = {
    Type: 'Pass',
    Parameters: {
      approved: false,
      'reason.$': "States.Format('review-unknown: the review gate could not decide ({}); nothing deploys without a known review', $.error.Cause)",
    },
    ResultPath: '$.review.value',
    Next: rejected,
  };
  states[rejected] = notify(EventType.CHANGE_REJECTED, { stage: 'source' }, end, { 'reason.$': '$.review.value.reason' });
  // Not being able to report the rejection does not make the change deployable.
  (states[rejected] as State).Catch = [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: end }];
  states[end] = { Type: 'Fail', Error: CHANGE_REJECTED_ERROR, Cause: 'the review gate rejected the change' };
};
