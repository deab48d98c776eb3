/**
 * Handler `start-change`: the target of a pipeline's "push to main" rule (CodeCommit), or the
 * invoke action of its source pipeline (GitHub: lambdas/start-change/github-job.ts, one change
 * per commit). One push event is one change, and one change runs once:
 * - the change id is the pushed commit, or `<commit>-2`, `<commit>-3`... when that commit was
 *   pushed before (main reset and pushed again: a new change, not a replay of the old one);
 * - the id is claimed by a conditional "change started" record carrying the push event's id,
 *   so a duplicated delivery of the same event (EventBridge delivers at least once, and retries
 *   a failed invocation) finds its own record and the same change;
 * - the pipeline execution is started under the change's name with an input built from the
 *   record alone: a repeated start of the open execution is the same execution, and one that
 *   already ended (ExecutionAlreadyExists) is adopted, never run again.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { StartChangeInput, type ChangeExecutionInput, type StartChangeOutput } from '../../core/contracts.ts';
import { hasName, InvalidInputError } from '../../core/errors.ts';
import { principalName } from '../../core/review.ts';
import { changeIdFor, MAX_PUSHES_PER_COMMIT } from '../../core/naming.ts';
import { clients } from '../shared/clients.ts';
import { conflictingItem, isConditionalCheckFailed } from '../shared/dynamo.ts';
import { nowIso } from '../shared/duration.ts';
import { logger } from '../shared/logger.ts';
import { changeKey, table, type ChangeStartedItem } from '../shared/tables.ts';
import { CodePipelineJobEvent } from '../../core/source.ts';
import { lambdaHandler } from '../runtime/handler.ts';
import { isCodePipelineJob, startChangeFromJob, type JobOutcome } from './github-job.ts';


/**
 * One push to main, whatever delivered it: a CodeCommit event through EventBridge, or a GitHub
 * push through the pipeline's source pipeline (lambdas/start-change/github-job.ts).
 */
export interface Push {
  pipeline: string;
  stateMachineArn: string;
  /** The delivery's own id (EventBridge event id, CodePipeline execution): a duplicate carries the same. */
  delivery: string;
  commit: string;
  repository: string;
  /** Who pushed, when the source says (an IAM identity); else `unknown`. */
  pusher?: string;
  /** When the commit reached main: the base of the change's lead time. */
  time: string;
  /**
   * Whether another delivery's change of the same commit is this push's too (GitHub: one
   * change per commit, core/source.ts). @default - only the same delivery's change
   */
  reuses?: (existing: ChangeStartedItem) => boolean;
}

const pushOfEvent = ({ pipeline, stateMachineArn, event }: StartChangeInput): Push => ({
  pipeline,
  stateMachineArn,
  delivery: event.id,
  commit: event.detail.commitId,
  repository: event.detail.repositoryName,
  pusher: event.detail.callerUserArn,
  time: event.time,
});

/** The change this push is: its own record, claimed now or by an earlier delivery. */
const claimChange = async (input: Push): Promise<{ item: ChangeStartedItem; claimed: boolean }> => {
  const { pipeline, commit: commitId, repository: repositoryName } = input;
  for (let push = 1; push <= MAX_PUSHES_PER_COMMIT; push++) {
    const change = changeIdFor(commitId, push);
    const item: ChangeStartedItem = {
      ...changeKey(pipeline, change),
      pipeline,
      change,
      commit: commitId,
      repository: repositoryName,
      pushEvent: input.delivery,
      author: input.pusher ? principalName(input.pusher) : 'unknown',
      mergedAt: input.time,
      executionName: change,
      startedAt: nowIso(),
    };
    try {
      await clients()
        .dynamo()
        .send(
          new PutCommand({
            TableName: table.changes(),
            Item: item,
            ConditionExpression: 'attribute_not_exists(pk)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
      return { item, claimed: true };
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      const existing = await conflictingItem<ChangeStartedItem>(err, table.changes(), changeKey(pipeline, change));
      // This very push, delivered again (or retried after a crash): the same change.
      if (existing?.pushEvent === input.delivery) return { item: existing, claimed: false };
      if (existing && input.reuses?.(existing)) return { item: existing, claimed: false };
      // Another push of the same commit holds this id: this push is a new change.
    }
  }
  throw new InvalidInputError(`commit ${commitId} was pushed to main of ${repositoryName} more than ${MAX_PUSHES_PER_COMMIT} times; not starting another change`);
};

const executionInput = (item: ChangeStartedItem): ChangeExecutionInput => ({
  pipeline: item.pipeline,
  change: item.change,
  revision: item.commit,
  author: item.author,
  mergedAt: item.mergedAt,
  repository: item.repository,
  commit: item.commit,
});

/** The input is parsed with StartChangeInput (core/contracts.ts) by the wrapper, before this runs. */
export const startChange = async (input: StartChangeInput): Promise<StartChangeOutput> => startPush(pushOfEvent(input));

/** One push, one change, one execution (see the top of this file). */
export const startPush = async (input: Push): Promise<StartChangeOutput> => {
  const { item, claimed } = await claimChange(input);
  const executionArn = `${input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${item.executionName}`;
  try {
    const started = await clients()
      .sfn()
      .send(
        new StartExecutionCommand({
          stateMachineArn: input.stateMachineArn,
          name: item.executionName,
          input: JSON.stringify(executionInput(item)),
        }),
      );
    return { change: item.change, executionArn: started.executionArn ?? executionArn, started: claimed };
  } catch (err) {
    // The change's execution already ran (or runs): adopt it, never start it twice.
    if (hasName(err, 'ExecutionAlreadyExists')) {
      logger.info('the change is already started; adopted', { change: item.change, executionArn });
      return { change: item.change, executionArn, started: false };
    }
    throw err;
  }
};

const fromEvent = lambdaHandler('start-change', StartChangeInput, startChange);
const fromJob = lambdaHandler('start-change', CodePipelineJobEvent, (job) => startChangeFromJob(job, startPush));

/** A CodeCommit push event from its rule, or a GitHub push from its source pipeline's invoke action. */
export const handler = (event: unknown, context: Context): Promise<JobOutcome> =>
  isCodePipelineJob(event) ? fromJob(event, context) : fromEvent(event, context);
